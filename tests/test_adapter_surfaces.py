"""Adapters on every surface: `anyner adapt`, `anyner extract --adapter`, the server's named
adapters (a request names one; never a path), and the spaCy component's `adapter` setting."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from helpers import routed_model
from typer.testing import CliRunner
from web import running

import anyner
from anyner.cli import app
from anyner.serve import create_app

TEXT = "bill gates founded microsoft in albuquerque on april"
LABELS = ["person", "organization", "location", "date"]
SUPPORT = [
    {
        "tokenized_text": ["bill", "gates", "founded", "microsoft"],
        "ner": [[0, 1, "person"], [3, 3, "organization"]],
    },
    {
        "tokenized_text": ["april", "is", "big", "in", "new", "york"],
        "ner": [[0, 0, "date"], [4, 5, "location"]],
    },
]


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("surfaces") / "model"
    span_model.save(folder)
    return folder


@pytest.fixture(scope="module")
def adapter_dir(model_dir, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("adapter")
    support = root / "support.jsonl"
    support.write_text("\n".join(json.dumps(x) for x in SUPPORT) + "\n")
    argv = [
        "adapt",
        str(support),
        "--name",
        "legal",
        "--output",
        str(root / "legal"),
        "--model",
        str(model_dir),
    ]
    result = CliRunner().invoke(app, [*argv, "--method", "lora", "--steps", "5", "--no-folds"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["method"] == "lora" and report["name"] == "legal" and report["support_mentions"] == 4
    return root / "legal"


@pytest.fixture(scope="module")
def adapted(model_dir, adapter_dir):
    model = anyner.load(model_dir)
    assert model.load_adapter(adapter_dir) == "legal"
    return model


def test_cli_extract_with_an_adapter_matches_the_api(model_dir, adapter_dir, adapted):
    argv = ["extract", TEXT, "-l", ",".join(LABELS), "--model", str(model_dir), "-t", "0.3"]
    result = CliRunner().invoke(app, [*argv, "--adapter", str(adapter_dir)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["entities"]
    want = adapted.predict_entities(TEXT, LABELS, threshold=0.3, adapter="legal")
    base = adapted.predict_entities(TEXT, LABELS, threshold=0.3, adapter=None)
    assert [(e["start"], e["end"], e["label"]) for e in got] == [
        (e["start"], e["end"], e["label"]) for e in want
    ]
    assert [e["score"] for e in got] == pytest.approx([e["score"] for e in want], abs=1e-5)
    assert [e["score"] for e in want] != [e["score"] for e in base]


def test_cli_adapter_errors_are_one_line(model_dir, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(
        app, ["extract", TEXT, "-l", "person", "--model", str(model_dir), "--adapter", "nope"]
    )
    assert missing.exit_code == 2 and "no such adapter folder" in missing.output
    support = tmp_path / "s.jsonl"
    support.write_text(json.dumps(SUPPORT[0]) + "\n")
    argv = ["adapt", str(support), "--name", "x", "--output", str(tmp_path / "x"), "--model", str(model_dir)]
    bad = runner.invoke(app, [*argv, "--method", "magic"])
    assert bad.exit_code == 2 and "--method must be one of" in bad.output
    empty = tmp_path / "e.jsonl"
    empty.write_text(json.dumps({"tokenized_text": ["a"], "ner": []}) + "\n")
    none = runner.invoke(
        app, ["adapt", str(empty), "--name", "x", "--output", str(tmp_path / "x"), "--model", str(model_dir)]
    )
    assert none.exit_code == 2 and "no labelled mentions" in none.output
    assert not (tmp_path / "x").exists()


def test_server_requests_name_a_loaded_adapter(adapted, model_dir):
    server = create_app(adapted, model_path=model_dir)
    with running(server) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        models = client.get("/v1/models").json()["models"]
        assert models[0]["adapters"] == ["legal"]
        body = {"text": TEXT, "labels": LABELS, "threshold": 0.3}
        r = client.post("/v1/extract", json={**body, "adapter": "legal"})
        assert r.status_code == 200, r.text
        assert r.json()["adapter"] == "legal"
        want = adapted.predict_entities(TEXT, LABELS, threshold=0.3, adapter="legal")
        got = r.json()["results"][0]["entities"]
        assert [(e["start"], e["end"], e["label"]) for e in got] == [
            (e["start"], e["end"], e["label"]) for e in want
        ]
        plain = client.post("/v1/extract", json=body).json()
        assert plain["adapter"] is None
        base = adapted.predict_entities(TEXT, LABELS, threshold=0.3, adapter=None)
        assert [e["score"] for e in plain["results"][0]["entities"]] == pytest.approx(
            [e["score"] for e in base], abs=1e-4
        )
        for name in ("other", "/etc/passwd", "auto"):  # auto: this model has no router
            r = client.post("/v1/extract", json={**body, "adapter": name})
            assert r.status_code == 422 and "unknown adapter" in r.json()["error"]["message"]


def test_a_server_with_a_router_routes_each_text_and_says_where(tiny_backbone):
    model = routed_model(tiny_backbone)
    texts = ["bill gates founded microsoft", "april in new york city"]
    with running(create_app(model)) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        (info,) = client.get("/v1/models").json()["models"]
        assert info["routing"] and info["default_adapter"] == "auto" and info["adapters"] == ["de", "en"]
        body = {"texts": texts, "labels": LABELS, "threshold": 0.0}
        routed = client.post("/v1/extract", json=body).json()  # no adapter named: the model's default
        assert routed["adapter"] == "auto"
        assert [r["adapter"] for r in routed["results"]] == ["en", "de"]
        want = model.batch_predict_entities(texts, LABELS, threshold=0.0, adapter=["en", "de"])
        for result, entities in zip(routed["results"], want, strict=True):
            got = [e["score"] for e in result["entities"]]
            assert got == pytest.approx([e["score"] for e in entities], abs=1e-4)
        base = client.post("/v1/extract", json={**body, "adapter": None}).json()  # null: the base
        assert base["adapter"] is None and [r["adapter"] for r in base["results"]] == [None, None]
        forced = client.post("/v1/extract", json={**body, "adapter": "de"}).json()
        assert [r["adapter"] for r in forced["results"]] == ["de", "de"]


def test_spacy_component_takes_an_adapter(model_dir, adapter_dir, adapted):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "anyner",
        config={"labels": LABELS, "model": str(model_dir), "adapter": str(adapter_dir), "threshold": 0.3},
    )
    doc = nlp(TEXT)
    want = adapted.predict_entities(TEXT, LABELS, threshold=0.3, adapter="legal")
    assert sorted((s.start_char, s.end_char, s.label_) for s in doc.spans["anyner"]) == sorted(
        (e["start"], e["end"], e["label"]) for e in want
    )
    with pytest.raises(anyner.errors.CheckpointError, match="adapter"):
        spacy.blank("en").add_pipe(
            "anyner", config={"labels": LABELS, "model": str(model_dir), "adapter": "/nope"}
        )


def test_spacy_and_the_cli_route_with_a_model_folder_that_has_a_router(tiny_backbone, tmp_path):
    spacy = pytest.importorskip("spacy")
    model = routed_model(tiny_backbone)
    folder = tmp_path / "routed"
    model.save(folder)
    for name in model.adapters:
        model.save_adapter(name, folder / "adapters" / name)
    model.router.save(folder / "router")
    texts = ["bill gates founded microsoft", "april in new york city"]
    want = model.batch_predict_entities(texts, LABELS, threshold=0.0, adapter=["en", "de"])
    nlp = spacy.blank("en")
    nlp.add_pipe("anyner", config={"labels": LABELS, "model": str(folder), "threshold": 0.0})
    base = model.batch_predict_entities(texts, LABELS, threshold=0.0, adapter=None)
    assert [e["score"] for e in base[1]] != pytest.approx([e["score"] for e in want[1]], abs=1e-4)
    for doc, entities in zip(nlp.pipe(texts), want, strict=True):
        got = sorted((s.start_char, s.end_char, s.label_, s._.anyner_score) for s in doc.spans["anyner"])
        expected = sorted((e["start"], e["end"], e["label"], e["score"]) for e in entities)
        assert [g[:3] for g in got] == [e[:3] for e in expected]
        assert [g[3] for g in got] == pytest.approx([e[3] for e in expected], abs=1e-4)
    argv = ["extract", texts[1], "-l", ",".join(LABELS), "--model", str(folder), "--threshold", "0"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    got = json.loads(result.output.strip().splitlines()[-1])["entities"]
    assert [(e["start"], e["end"], e["label"]) for e in got] == [
        (e["start"], e["end"], e["label"]) for e in want[1]
    ]
