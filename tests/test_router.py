"""Routing inputs to adapters by retrieval (RetrieveAll): top-k cosine over a bank of tagged
examples, a dynamic threshold, a vote, and the base when nothing is close."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from anyner import AnyNER, load
from anyner.adapters import AdaptSettings
from anyner.adapters.embedding import sentence_vectors
from anyner.adapters.router import Router, RouterSettings
from anyner.errors import CheckpointError, InputError


def _bank():
    rng = np.random.default_rng(0)
    a = np.eye(8)[0] + 0.05 * rng.standard_normal((20, 8))
    b = np.eye(8)[1] + 0.05 * rng.standard_normal((20, 8))
    return np.vstack([a, b]), ["de"] * 20 + ["en"] * 20


def test_votes_thresholds_and_fallback():
    vectors, tags = _bank()
    router = Router.build(lambda texts: vectors, ["x"] * 40, tags, RouterSettings(k=5, floor=0.5, margin=0.1))
    queries = np.vstack([np.eye(8)[0], np.eye(8)[1] * 3, np.eye(8)[2], np.eye(8)[0] + np.eye(8)[1] * 0.9])
    routes = router.route(queries, empty=[False, False, False, False])
    assert [r.adapter for r in routes[:3]] == ["de", "en", None]  # orthogonal to every example: the base
    assert routes[0].confidence > 0.9 and routes[2].confidence == 0.0
    assert routes[3].adapter == "de"  # closer to the first cluster
    assert router.route(queries[:1], empty=[True])[0].adapter is None
    with pytest.raises(InputError, match=r"\(n, 8\)"):
        router.route(np.zeros((1, 4)))


def test_bank_round_trip_and_damage(tmp_path):
    vectors, tags = _bank()
    router = Router.build(lambda texts: vectors, ["x"] * 40, tags)
    router.save(tmp_path / "r")
    again = Router.load(tmp_path / "r", dim=8)
    assert again.names == ["de", "en"] and np.array_equal(again.vectors, router.vectors)
    with pytest.raises(CheckpointError, match="built for another model"):
        Router.load(tmp_path / "r", dim=16)
    (tmp_path / "r" / "router_bank.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="cannot read the router"):
        Router.load(tmp_path / "r")
    with pytest.raises(CheckpointError, match="tags point past"):
        Router(vectors, np.array([0] * 39 + [5]), ["de", "en"])


SUPPORT = {
    "en": [{"tokenized_text": ["bill", "gates", "founded", "microsoft"], "ner": [[0, 1, "person"]]}],
    "de": [{"tokenized_text": ["april", "in", "new", "york", "city"], "ner": [[2, 4, "location"]]}],
}
FAST = AdaptSettings()
FAST = replace(FAST, lora=replace(FAST.lora, steps=5))


def _routed_model(tiny_backbone) -> AnyNER:
    torch.manual_seed(0)
    model = AnyNER.from_backbone(tiny_backbone, dropout=0.0)
    texts, tags = [], []
    for lang, support in SUPPORT.items():
        model.adapt(support, name=lang, method="lora", settings=FAST, evaluate=False)
        texts += [" ".join(x["tokenized_text"]) for x in support]
        tags += [lang] * len(support)
    model.set_router(
        Router.build(lambda t: sentence_vectors(model, t), texts, tags, RouterSettings(margin=0.0))
    )
    return model


def test_auto_routes_each_text_of_a_mixed_batch(tiny_backbone):
    model = _routed_model(tiny_backbone)
    texts = ["bill gates founded microsoft", "april in new york city", ""]
    routes = model.route(texts)
    assert [r["adapter"] for r in routes] == ["en", "de", None]  # a bank text's nearest is itself
    auto = model.batch_predict_entities(texts, ["person", "location"], threshold=0.0, adapter="auto")
    forced = model.batch_predict_entities(
        texts, ["person", "location"], threshold=0.0, adapter=["en", "de", None]
    )
    assert [[(e["start"], e["end"], e["label"]) for e in r] for r in auto] == [
        [(e["start"], e["end"], e["label"]) for e in r] for r in forced
    ]
    model.delete_adapter("de")  # a route to an adapter that is not loaded goes to the base
    assert [r["adapter"] for r in model.route(texts)] == ["en", None, None]


def test_auto_without_a_router_is_a_clear_error(tiny_backbone):
    torch.manual_seed(0)
    model = AnyNER.from_backbone(tiny_backbone, dropout=0.0)
    with pytest.raises(InputError, match="need a router"):
        model.batch_predict_entities(["bill"], ["person"], adapter="auto")
    with pytest.raises(InputError, match="needs a router"):
        model.set_adapter("auto")
    with pytest.raises(InputError, match="dimensional"):
        model.set_router(Router(np.eye(4), np.zeros(4, dtype=int), ["x"]))


def test_a_model_folder_brings_its_adapters_and_router(tiny_backbone, tmp_path):
    model = _routed_model(tiny_backbone)
    model.save(tmp_path / "m")
    for name in model.adapters:
        model.save_adapter(name, tmp_path / "m" / "adapters" / name)
    model.router.save(tmp_path / "m" / "router")
    again = load(tmp_path / "m", precision="fp32", runtime="torch")
    assert sorted(again.adapters) == ["de", "en"] and again.active_adapter == "auto"
    assert [r["adapter"] for r in again.route(["bill gates founded microsoft"])] == ["en"]


def test_the_multilingual_model_is_named_but_not_shipped_yet():
    with pytest.raises(CheckpointError, match="does not ship the 'multilingual' model yet"):
        load("multilingual")
