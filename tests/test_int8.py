"""8-bit storage of shipped weights: values within half a step of the original, the right
tensors quantized, damaged files refused, and models that load them predict as before."""

from __future__ import annotations

import pytest
import torch
from helpers import routed_model
from safetensors.torch import load_file, save_file

from anyner import load
from anyner.checkpoints.int8 import SCALES, VALUES, dequantize, quantize, quantize_file
from anyner.checkpoints.weights import read_state_dict
from anyner.errors import CheckpointError


def test_round_trip_is_within_half_a_step_and_scales_run_along_the_short_axis():
    torch.manual_seed(0)
    state = {
        "head": torch.randn(96, 64) * torch.linspace(0.01, 3, 64),  # columns of very different range
        "lora_A": torch.randn(4, 2048),
        "lora_B": torch.randn(2048, 4) * 1e-3,
        "bias": torch.randn(2048),
        "ids": torch.arange(5000).reshape(50, 100),
    }
    packed = quantize(state)
    assert packed["lora_A" + SCALES].shape == (4, 1) and packed["lora_B" + SCALES].shape == (1, 4)
    assert packed["head" + SCALES].shape == (1, 64)
    assert {"bias", "ids"} <= set(packed) and "head" not in packed
    assert packed["head" + VALUES].dtype == torch.int8
    back = dequantize(packed)
    assert set(back) == set(state)
    for name in ("head", "lora_A", "lora_B"):
        step = packed[name + SCALES].float()
        assert ((back[name] - state[name]).abs() <= step / 2 + 1e-6 * step).all()
    assert torch.equal(back["ids"], state["ids"])


def test_damaged_8_bit_weights_are_refused(tmp_path):
    packed = quantize({"w": torch.randn(64, 128)})
    with pytest.raises(CheckpointError, match="'w' has no valid scale"):
        dequantize({"w" + VALUES: packed["w" + VALUES]}, "f")
    with pytest.raises(CheckpointError, match="scales without 8-bit weights"):
        dequantize({"w" + SCALES: packed["w" + SCALES]}, "f")
    with pytest.raises(CheckpointError, match="does not fit its scale"):
        dequantize({"w" + VALUES: packed["w" + VALUES], "w" + SCALES: torch.ones(3, 1).half()}, "f")
    save_file(packed, str(tmp_path / "w.safetensors"))
    assert read_state_dict(tmp_path / "w.safetensors")["w"].dtype == torch.float32


def test_a_model_and_an_adapter_stored_in_8_bits_predict_as_before(tiny_backbone, tmp_path):
    model = routed_model(tiny_backbone)
    text, labels = "bill gates founded microsoft in new york city", ["person", "location", "organization"]
    model.save(tmp_path / "m")
    model.save_adapter("en", tmp_path / "en")
    before = model.predict_entities(text, labels, threshold=0.0, adapter="en")
    base_before = model.predict_entities(text, labels, threshold=0.0, adapter=None)
    quantize_file(tmp_path / "en" / "adapter_model.safetensors")
    assert any(k.endswith(VALUES) for k in load_file(str(tmp_path / "en" / "adapter_model.safetensors")))
    quantize_file(tmp_path / "m" / "model.safetensors")
    again = load(tmp_path / "m", precision="fp32", runtime="torch")
    base_after = again.predict_entities(text, labels, threshold=0.0, adapter=None)
    assert [(e["start"], e["end"], e["label"]) for e in base_after][:5] == [
        (e["start"], e["end"], e["label"]) for e in base_before
    ][:5]
    # the 8-bit base has other weights: the adapter's stamp no longer matches it, as it should
    with pytest.raises(CheckpointError, match="made for another base model"):
        again.load_adapter(tmp_path / "en")
    model.load_adapter(tmp_path / "en", name="en8")
    after = model.predict_entities(text, labels, threshold=0.0, adapter="en8")
    assert len(after) == len(before) > 0
    for a, b in zip(after, before, strict=True):
        assert (a["start"], a["end"], a["label"]) == (b["start"], b["end"], b["label"])
        assert abs(a["score"] - b["score"]) < 0.02
