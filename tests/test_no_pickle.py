"""No code runs from any file anyner reads: a pickle that would create a file when unpickled is
planted wherever a weights file can sit (gliner's pytorch_model.bin, an encoder folder's
pytorch_model.bin, a LoRA adapter's adapter_model.bin, anyner's own folder, an ONNX export), and
loading either fails with an error or ignores it: the file is never created."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import FIXTURES

import anyner
from anyner import AnyNER


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # unpickling creates the marker file


def plant(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"weight": _Evil(marker)}, path)


def load_fails_or_ignores(load, marker: Path) -> None:
    with contextlib.suppress(Exception):  # any refusal will do; running the pickle would not
        load()
    assert not marker.exists(), "unpickling ran code from a planted file"


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "pwned"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"gliner fixtures not found at {FIXTURES}")
def test_a_gliner_checkpoint(tmp_path, marker):
    folder = shutil.copytree(FIXTURES / "span_tiny", tmp_path / "gliner")
    plant(folder / "pytorch_model.bin", marker)
    load_fails_or_ignores(lambda: anyner.load(folder, precision="fp32"), marker)


def test_an_encoder_folder(tiny_backbone, tmp_path, marker):
    folder = shutil.copytree(tiny_backbone, tmp_path / "encoder")
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    plant(folder / "pytorch_model.bin", marker)
    load_fails_or_ignores(lambda: AnyNER.from_backbone(folder), marker)


def test_anyner_folders_and_onnx_exports(span_model, tmp_path, marker):
    native = tmp_path / "native"
    span_model.save(native)
    plant(native / "pytorch_model.bin", marker)  # beside the safetensors, which are what is read
    (native / "model.safetensors").rename(native / "unused.safetensors")
    load_fails_or_ignores(lambda: anyner.load(native, precision="fp32"), marker)
    onnx = span_model.export_onnx(tmp_path / "onnx")
    plant(onnx / "pytorch_model.bin", marker)
    plant(onnx / "model.onnx.pkl", marker)
    load_fails_or_ignores(lambda: anyner.load(onnx, precision="fp32", runtime="onnx"), marker)


def test_a_lora_adapter(tiny_backbone, tmp_path, marker):
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"tokenized_text": ["Bill", "Gates"], "ner": [[0, 1, "person"]]}) + "\n")
    cfg = {
        "output_dir": str(tmp_path / "run"),
        "backbone": str(tiny_backbone),
        "train": [str(data)],
        "steps": 1,
        "batch_size": 1,
        "bf16": False,
        "threads": 1,
        "lora": {"r": 2, "alpha": 4, "target_modules": ["query"]},
    }
    out = Trainer(config_from_dict(cfg)).run()
    (out / "adapter" / "adapter_model.safetensors").unlink()
    plant(out / "adapter" / "adapter_model.bin", marker)
    load_fails_or_ignores(lambda: anyner.load(out, precision="fp32"), marker)
