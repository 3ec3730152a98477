"""The "anyner" spaCy component, on a blank English pipeline and a tiny random model."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import warnings

import pytest

spacy = pytest.importorskip("spacy")

from anyner.errors import CheckpointError  # noqa: E402
from anyner.integrations.spacy import AnyNERComponent  # noqa: E402

LABELS = ["person", "organization", "location"]
TEXT = "Bill Gates founded Microsoft in Albuquerque on April 4, 1975."
TEXTS = [
    TEXT,
    "New York City is big.",
    "Gates founded it on April 4.",
    "",
    "the city of New York",
    "Microsoft is in Albuquerque",
    "Bill and Gates of Microsoft in April",
    "a big organization and a person",
    "Albuquerque on April 4 1975",
    "the person Bill Gates is in New York",
]


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spacy") / "model"
    span_model.save(folder)
    return str(folder)


@pytest.fixture
def make_nlp(model_dir):
    def make(**config):
        nlp = spacy.blank("en")
        component = nlp.add_pipe("anyner", config={"labels": LABELS, "model": model_dir, **config})
        return nlp, component

    return make


def _fake_predictions(monkeypatch, component, entities):
    """Make the model return ``entities`` for every text, whatever it is."""
    monkeypatch.setattr(
        component.model, "batch_predict_entities", lambda texts, *a, **k: [list(entities) for _ in texts]
    )


def test_add_pipe_takes_the_config(make_nlp, model_dir):
    nlp, component = make_nlp(threshold=0.25, batch_size=3, spans_key="found")
    assert isinstance(component, AnyNERComponent)
    assert nlp.pipe_names == ["anyner"]
    saved = nlp.config["components"]["anyner"]
    assert saved["labels"] == LABELS and saved["threshold"] == 0.25 and saved["model"] == model_dir
    assert (component.threshold, component.batch_size, component.spans_key) == (0.25, 3, "found")
    assert component.flat_ner and not component.multi_label and not component.overwrite_ents


def test_entities_are_aligned_scored_and_all_in_doc_spans(make_nlp):
    nlp, component = make_nlp(threshold=0.0)
    expected = component.model.predict_entities(TEXT, LABELS, threshold=0.0)
    assert expected, "the tiny model should find entities at threshold 0"
    doc = nlp(TEXT)
    group = doc.spans["anyner"]
    assert len(group) == len(expected)
    assert group.attrs["scores"] == pytest.approx([e["score"] for e in expected])
    assert group.attrs["unaligned"] == []
    for span, entity in zip(group, expected, strict=True):
        assert span.label_ == entity["label"]
        assert span.start_char <= entity["start"] and span.end_char >= entity["end"]
        assert entity["text"] in doc.text[span.start_char : span.end_char]
        assert span._.anyner_score == pytest.approx(entity["score"])
    assert len(doc.ents) > 0
    in_group = {(s.start_char, s.end_char, s.label_) for s in group}
    for ent in doc.ents:
        assert (ent.start_char, ent.end_char, ent.label_) in in_group
        assert 0.0 <= ent._.anyner_score <= 1.0


def test_nested_results_go_to_doc_spans_only(make_nlp):
    nlp, _ = make_nlp(threshold=0.0, flat_ner=False)
    doc = nlp(TEXT)
    assert list(doc.ents) == []
    spans = list(doc.spans["anyner"])
    assert any(a.start < b.end and b.start < a.end for i, a in enumerate(spans) for b in spans[i + 1 :]), (
        "nested decoding at threshold 0 should give overlapping spans"
    )


def test_multi_label_keeps_one_score_per_label(make_nlp):
    nlp, _ = make_nlp(threshold=0.0, multi_label=True)
    doc = nlp(TEXT)
    assert list(doc.ents) == []
    group = doc.spans["anyner"]
    by_place: dict[tuple[int, int], set[str]] = {}
    for span in group:
        by_place.setdefault((span.start, span.end), set()).add(span.label_)
    assert any(len(labels) > 1 for labels in by_place.values())
    assert [s._.anyner_score for s in group] == pytest.approx(group.attrs["scores"])


def test_pipe_batches_and_matches_one_doc_at_a_time(make_nlp, monkeypatch):
    nlp, component = make_nlp(threshold=0.3)
    calls = []
    predict = component.model.batch_predict_entities

    def counting(texts, *args, **kwargs):
        calls.append(len(texts))
        return predict(texts, *args, **kwargs)

    monkeypatch.setattr(component.model, "batch_predict_entities", counting)

    def found(doc):
        return [(s.start_char, s.end_char, s.label_) for s in doc.spans["anyner"]], [
            (e.start_char, e.end_char, e.label_) for e in doc.ents
        ]

    one_by_one = [found(nlp(text)) for text in TEXTS]
    assert len(calls) == len(TEXTS)
    calls.clear()
    batched = [found(doc) for doc in nlp.pipe(TEXTS, batch_size=4)]
    assert calls == [4, 4, 2]
    assert batched == one_by_one
    assert any(spans for spans, _ in batched)


def test_an_entity_inside_a_token_is_widened_not_dropped(make_nlp, monkeypatch):
    nlp, component = make_nlp()
    text = "I love New-York and NewYorkers."
    assert [t.text for t in nlp.make_doc(text)][2:5] == ["New", "-", "York"]
    start = text.index("ew-Yo")
    inner = text.index("York", text.index("NewYorkers"))
    _fake_predictions(
        monkeypatch,
        component,
        [
            {"start": start, "end": start + 5, "text": "ew-Yo", "label": "location", "score": 0.9},
            {"start": inner, "end": inner + 4, "text": "York", "label": "location", "score": 0.8},
        ],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = nlp(text)
    assert [(e.text, e.label_) for e in doc.ents] == [("New-York", "location"), ("NewYorkers", "location")]
    assert [e._.anyner_score for e in doc.ents] == pytest.approx([0.9, 0.8])


def test_entities_widened_onto_one_token_keep_the_best_in_ents(make_nlp, monkeypatch):
    nlp, component = make_nlp()
    _fake_predictions(
        monkeypatch,
        component,
        [
            {"start": 0, "end": 3, "text": "New", "label": "location", "score": 0.6},
            {"start": 3, "end": 7, "text": "York", "label": "person", "score": 0.7},
        ],
    )
    doc = nlp("NewYorkers are here")
    assert [(e.text, e.label_) for e in doc.ents] == [("NewYorkers", "person")]
    assert len(doc.spans["anyner"]) == 2


def test_an_entity_outside_every_token_is_reported(make_nlp, monkeypatch):
    nlp, component = make_nlp()
    lost = {"start": 40, "end": 45, "text": "ghost", "label": "person", "score": 0.7}
    _fake_predictions(monkeypatch, component, [lost])
    with pytest.warns(UserWarning, match=r"'ghost' \(person\) at \[40, 45\)"):
        doc = nlp("short text")
    assert list(doc.ents) == [] and len(doc.spans["anyner"]) == 0
    assert doc.spans["anyner"].attrs["unaligned"] == [lost]


@pytest.mark.parametrize("overwrite", [False, True])
def test_existing_entities_and_overwrite_ents(model_dir, monkeypatch, overwrite):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": "New York"}])
    component = nlp.add_pipe(
        "anyner", config={"labels": LABELS, "model": model_dir, "overwrite_ents": overwrite}
    )
    text = "Bill lives in New York"
    _fake_predictions(
        monkeypatch,
        component,
        [
            {"start": 0, "end": 4, "text": "Bill", "label": "person", "score": 0.9},
            {"start": 14, "end": 17, "text": "New", "label": "location", "score": 0.8},
        ],
    )
    doc = nlp(text)
    york = ("New", "location") if overwrite else ("New York", "GPE")
    assert [(e.text, e.label_) for e in doc.ents] == [("Bill", "person"), york]
    assert len(doc.spans["anyner"]) == 2


def test_labels_with_descriptions(make_nlp):
    labels = {"person": "a human being", "organization": "a company"}
    nlp, component = make_nlp(labels=labels, threshold=0.0)
    doc = nlp(TEXT)
    assert component.labels == labels
    assert {s.label_ for s in doc.spans["anyner"]} <= set(labels)
    assert len(doc.spans["anyner"]) > 0


@pytest.mark.parametrize(
    "config,match",
    [
        ({"labels": None}, "needs labels"),
        ({"labels": []}, "empty"),
        ({"labels": "person"}, "person"),
        ({"labels": ["a", "a"]}, "duplicate"),
        ({"labels": [1]}, "str"),
        ({"labels": {"person": ""}}, "description"),
        ({"threshold": 1.5}, "threshold"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_settings_fail_at_add_pipe(model_dir, config, match):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=match):
        nlp.add_pipe("anyner", config={"labels": LABELS, "model": model_dir, **config})
    assert nlp.pipe_names == []


def test_a_missing_model_folder_names_the_setting(tmp_path):
    nlp = spacy.blank("en")
    with pytest.raises(CheckpointError, match=r"components\.anyner\.model"):
        nlp.add_pipe("anyner", config={"labels": LABELS, "model": str(tmp_path / "nowhere")})


def test_save_and_load_keep_the_settings_not_the_weights(make_nlp, tmp_path):
    nlp, _ = make_nlp(threshold=0.2, spans_key="found")
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "anyner" / "settings.json").is_file()
    assert not list((tmp_path / "pipeline").rglob("*.safetensors"))
    loaded = spacy.load(tmp_path / "pipeline")
    component = loaded.get_pipe("anyner")
    assert (component.threshold, component.spans_key, component.labels) == (0.2, "found", LABELS)
    assert [(e.start_char, e.label_) for e in loaded(TEXT).ents] == [
        (e.start_char, e.label_) for e in nlp(TEXT).ents
    ]


def test_empty_doc(make_nlp):
    nlp, _ = make_nlp(threshold=0.0)
    doc = nlp("")
    assert list(doc.ents) == [] and len(doc.spans["anyner"]) == 0


def test_spacy_finds_the_factory_through_its_entry_point(model_dir):
    points = importlib.metadata.entry_points(group="spacy_factories")
    assert [p.value for p in points if p.name == "anyner"] == ["anyner.integrations.spacy:make_anyner"], (
        "reinstall anyner (pip install -e .) to register its spaCy entry point"
    )
    # a fresh interpreter where the user never imports anyner: spaCy finds the factory itself
    code = (
        "import spacy; nlp = spacy.blank('en'); "
        f"nlp.add_pipe('anyner', config={{'labels': ['person'], 'model': {model_dir!r}, 'threshold': 0.0}}); "
        "print(len(nlp('Bill Gates').ents))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= 1
