"""Turn what ``remote.py`` returned into anyner model folders here.

    python benchmarks/gpu/unpack.py PARTS_DIR runs/gpu

For each trained run in the bundle: the dequantised start weights (the same ones the remote
run began from) plus the returned fp16 change give the trained backbone weights; the word
embeddings are the exact backbone rows (they were frozen) plus the trained marker rows; the
heads come as they are. The folder is written in full (fp32) and also relative to the pip
backbone (fp16 deltas, what ships): ``runs/gpu/<run>/model`` and ``.../model-delta``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
from pathlib import Path

import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
from pack import EMBEDDINGS, dequantise

import anyner
from anyner.backbones import resolve_backbone

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "encoder.model."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("parts", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    tar_path = args.dest / "bundle.tar"
    with tar_path.open("wb") as f:
        for part in sorted(args.parts.glob("bundle.tar.part*")):
            f.write(part.read_bytes())
    with tarfile.open(tar_path) as tar:
        tar.extractall(args.dest, filter="data")
    bundle = args.dest / "bundle"
    start = dequantise(load_file(str(ROOT / ".gpu" / "backbone" / "model.int8.safetensors")))
    exact = load_file(str(Path(resolve_backbone("all-MiniLM-L6-v2")) / "model.safetensors"))
    for run in sorted(p for p in bundle.iterdir() if (p / "weights.safetensors").exists()):
        rebuild(run, start, exact, args.dest / run.name)
    print(json.dumps(json.loads((bundle / "summary.json").read_text()), indent=1))


def rebuild(run: Path, start: dict, exact: dict, dest: Path) -> None:
    ner = _blank_model(run)
    files = load_file(str(run / "weights.safetensors"))
    state = {}
    for key, like in ner.model.state_dict().items():
        inner = key.removeprefix(PREFIX)
        if key in files:
            state[key] = files[key].to(like.dtype)
        elif key + "@delta" in files:
            state[key] = start[inner] + files[key + "@delta"].float()
        elif key + "@new_rows" in files:  # frozen pretrained rows: exactly the backbone's
            assert inner == EMBEDDINGS
            state[key] = torch.cat([exact[inner], files[key + "@new_rows"].float()])
        else:
            raise KeyError(f"{run.name}: no value for {key}")
        assert state[key].shape == like.shape, key
    ner.model.load_state_dict(state, strict=True)
    shutil.rmtree(dest / "model", ignore_errors=True)
    ner.save(dest / "model")
    ner.save(dest / "model-delta", base="all-MiniLM-L6-v2")
    print(f"{run.name}: {dest / 'model'}, {dest / 'model-delta'}")


def _blank_model(run: Path) -> anyner.AnyNER:
    """The run's model config on the exact backbone (weights are replaced next)."""
    config = (
        json.loads((run / "anyner_config.json").read_text()) if (run / "anyner_config.json").exists() else {}
    )
    if not config:  # a run stopped before its end: its config is in its log
        log = run.parent / f"{run.name}.train_log.jsonl"
        first = json.loads(log.read_text().splitlines()[0])["config"]
        config = {
            "architecture": first["architecture"],
            "max_width": first["max_width"],
            "dropout": first["dropout"],
        }
    keep = {k: config[k] for k in ("architecture", "max_width", "dropout") if k in config}
    return anyner.AnyNER.from_backbone("all-MiniLM-L6-v2", **keep)


if __name__ == "__main__":
    main()
