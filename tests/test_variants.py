"""Model variants: the registry, a toy variant run end to end from this file alone, the config
migration, and bi-encoders built from a backbone, trained, saved and exported."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from helpers import TRAIN_LINES
from safetensors.torch import load_file

import anyner
from anyner.config import CONFIG_VERSION, ModelConfig
from anyner.errors import CheckpointError, InputError
from anyner.train.config import config_from_dict
from anyner.train.trainer import Trainer
from anyner.variants import Variant, get_variant, register_variant, variant_names
from anyner.variants.base import unregister_variant
from anyner.variants.joint import JOINT
from anyner.variants.levels import SpanLevel

TEXT = "Bill Gates founded Microsoft in Albuquerque."
LABELS = ["person", "organization", "location"]


def _train_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"tokenized_text": w, "ner": n}) + "\n" for w, n in TRAIN_LINES))
    return path


def test_the_built_in_variants_are_registered_and_unknown_names_are_clear_errors():
    assert {"uni-span", "uni-token", "bi-span", "bi-token"} <= set(variant_names())
    assert get_variant("bi-token").two_stage and not get_variant("uni-span").two_stage
    with pytest.raises(InputError, match=r"unknown model variant 'tri-span'.*bi-span"):
        get_variant("tri-span")
    with pytest.raises(ValueError, match="registered already"):
        register_variant(Variant("uni-span", SpanLevel(), JOINT))


@dataclass(frozen=True)
class WordLevel(SpanLevel):
    """A toy level: single words only (spans of width 1), whatever max_width says."""

    name: str = "word"

    def build_head(self, config):
        from anyner.model.heads import SpanHead

        return SpanHead(config.hidden_size, 1, config.dropout)

    def targets(self, examples, types, lengths, type_counts, max_width):
        return super().targets(examples, types, lengths, type_counts, 1)


@pytest.fixture
def toy_variant():
    variant = register_variant(Variant("toy-words", WordLevel(), JOINT))
    yield variant
    unregister_variant("toy-words")


def test_a_toy_variant_runs_end_to_end(toy_variant, tiny_backbone, tmp_path):
    cfg = config_from_dict(
        {
            "output_dir": str(tmp_path / "run"),
            "train": [str(_train_file(tmp_path))],
            "backbone": str(tiny_backbone),
            "variant": "toy-words",
            "steps": 3,
            "batch_size": 2,
            "bf16": False,
            "threads": 1,
        }
    )
    folder = Trainer(cfg).run()
    model = anyner.load(folder, runtime="torch")
    assert model.variant == "toy-words"
    found = model.predict_entities(TEXT, LABELS, threshold=0.0)
    assert found and all(" " not in e["text"] for e in found)  # single words only
    exported = anyner.load(model.export_onnx(tmp_path / "onnx"))
    again = exported.predict_entities(TEXT, LABELS, threshold=0.0)
    assert [(e["start"], e["end"], e["label"]) for e in again] == [
        (e["start"], e["end"], e["label"]) for e in found
    ]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(found, again, strict=True)) < 1e-4


def test_version_1_configs_migrate_to_variants():
    for architecture in ("span", "token"):
        config = ModelConfig.from_dict({"architecture": architecture, "version": 1, "hidden_size": 32})
        assert config.variant == f"uni-{architecture}" and config.version == CONFIG_VERSION
    assert ModelConfig.from_dict({"hidden_size": 32}).variant == "uni-span"  # no version: 1
    with pytest.raises(CheckpointError, match="unknown architecture 'tree'"):
        ModelConfig.from_dict({"architecture": "tree", "version": 1})
    with pytest.raises(CheckpointError, match="version 3, and this anyner reads versions up to 2"):
        ModelConfig.from_dict({"variant": "uni-span", "version": 3})
    with pytest.raises(CheckpointError, match="unknown model variant"):
        ModelConfig.from_dict({"variant": "nope", "version": 2})
    # the shipped default model (saved as version 1) loads unchanged
    assert anyner.load(runtime="torch").variant == "uni-span"


@pytest.mark.parametrize("variant", ["bi-span", "bi-token"])
@pytest.mark.parametrize("train_labels_encoder", [False, True])
def test_a_bi_encoder_trains_saves_loads_and_exports(variant, train_labels_encoder, tiny_backbone, tmp_path):
    cfg = config_from_dict(
        {
            "output_dir": str(tmp_path / "run"),
            "train": [str(_train_file(tmp_path))],
            "backbone": str(tiny_backbone),
            "variant": variant,
            "train_labels_encoder": train_labels_encoder,
            "steps": 4,
            "batch_size": 2,
            "bf16": False,
            "threads": 1,
            "lr_encoder": 1e-3,
        }
    )
    trainer = Trainer(cfg)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items() if k.startswith("labels_encoder.")}
    folder = trainer.run()
    after = load_file(str(folder / "model.safetensors"))
    changed = any(not torch.equal(before[k], after[k]) for k in before if "pooler" not in k)
    assert changed == train_labels_encoder
    model = anyner.load(folder, runtime="torch")
    assert model.variant == variant and (folder / "labels_tokenizer" / "tokenizer.json").is_file()
    found = model.predict_entities(TEXT, LABELS, threshold=0.0)
    vectors = model.encode_labels(LABELS)
    assert vectors.vectors.shape == (3, model.config.hidden_size)
    assert model.predict_entities(TEXT, vectors, threshold=0.0) == found
    onnx = anyner.load(model.export_onnx(tmp_path / "onnx"))
    assert (tmp_path / "onnx" / "labels.onnx").is_file()
    again = onnx.predict_entities(TEXT, LABELS, threshold=0.0)
    assert [(e["start"], e["end"], e["label"]) for e in again] == [
        (e["start"], e["end"], e["label"]) for e in found
    ]
    assert np.abs(onnx.encode_labels(LABELS).vectors - vectors.vectors).max() < 1e-4
