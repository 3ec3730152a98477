"""gliner's own virtual environment and the checkpoint it saves, both made on first use and
reused after: gliner 0.2.29 pins transformers < 5.17, so it cannot share anyner's venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GLINER_VERSION = "0.2.29"
CACHE = Path.home() / ".cache" / "anyner-bench"
RUNNER = Path(__file__).with_name("gliner_runner.py")


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _installed(venv: Path) -> tuple[str, str] | None:
    """(gliner version, torch version) in the venv, or None."""
    if not _python(venv).is_file():
        return None
    code = "import gliner, torch; print(gliner.__version__, torch.__version__)"
    probe = subprocess.run([_python(venv), "-c", code], capture_output=True, text=True)
    return tuple(probe.stdout.split()) if probe.returncode == 0 else None


def _run(cmd: list, what: str) -> None:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n{tail}")


def ensure_venv(venv: Path, log=print) -> Path:
    """The venv's python, with gliner installed on the same torch build as this process.

    torch goes in first, pinned to this process's exact version (a CPU build here), and stays
    pinned by a constraints file while gliner installs: pip never resolves a torch of its own
    (a bare ``torch`` would pull the CUDA build)."""
    import torch

    wanted = (GLINER_VERSION, torch.__version__)
    if _installed(venv) == wanted:
        return _python(venv)
    if venv.exists() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").is_file():
        raise SystemExit(f"{venv} is a folder but not a virtual environment: give another --gliner-venv")
    log(f"creating gliner's virtual environment in {venv} (once; a few minutes)")
    _run([sys.executable, "-m", "venv", "--clear", venv], "creating the venv")
    pip = [_python(venv), "-m", "pip", "install", "-q"]
    pin = f"torch=={torch.__version__}"
    constraints = venv / "constraints.txt"
    constraints.write_text(pin + "\n", encoding="utf-8")
    _run([*pip, pin], f"pip install {pin}")
    _run([*pip, "-c", constraints, f"gliner=={GLINER_VERSION}", "transformers<5.17"], "pip install gliner")
    got = _installed(venv)
    if got != wanted:
        raise SystemExit(f"{venv}: expected gliner and torch {wanted}, got {got}")
    return _python(venv)


def ensure_checkpoint(python: Path, folder: Path, backbone: Path, seed: int, env: dict) -> Path:
    """A gliner span model (markerV0, max_width 12) on ``backbone``, built and saved by gliner."""
    if (folder / "gliner_config.json").is_file():
        return folder
    tmp = folder.with_name(folder.name + ".partial")
    cmd = [python, RUNNER, "checkpoint", "--backbone", backbone, "--out", tmp, "--seed", seed]
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"gliner could not build the checkpoint (exit {done.returncode}):\n{tail}")
    tmp.rename(folder)
    return folder
