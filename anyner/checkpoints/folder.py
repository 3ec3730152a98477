"""Writing a folder as a whole: into a temporary folder beside the target, flushed to disk, then
swapped in, so a crash or a power cut mid-write never leaves a half-written folder under the
target name. Model folders, ONNX exports and training checkpoints are all written this way."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(folder: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; when the block ends without error, it replaces ``folder``."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        # mkdtemp creates an owner-only folder; a model folder is for everyone to read
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
            _fsync(path)  # the data is on disk before the name points at it
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, old / folder.name)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
        _fsync(folder.parent)  # and the rename itself
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fsync(path: Path) -> None:
    """Flush a file or a folder's entries to disk (where the platform can open folders)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)
