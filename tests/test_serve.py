"""`anyner serve`: a real uvicorn server on 127.0.0.1 in a thread, spoken to over HTTP with httpx."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from web import running

import anyner
from anyner.serve import ServeSettings, create_app

TEXT = "bill gates founded microsoft in albuquerque on april 4"
TEXTS = [TEXT, "new york city is big", "the person bill gates is in new york"]
LABELS = ["person", "organization", "date", "location"]
LIMITS = ServeSettings(max_text_bytes=1000, max_texts=4, max_labels=5)


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("serve") / "model"
    span_model.save(folder)
    return folder


@pytest.fixture(scope="module")
def model(model_dir):
    return anyner.load(model_dir)


@pytest.fixture(scope="module")
def served(model, model_dir):
    app = create_app(model, LIMITS, model_path=model_dir)
    with running(app) as (url, _):
        yield url, app


@pytest.fixture(scope="module")
def client(served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0], timeout=30) as c:
        yield c


def check_entities(text: str, entities: list[dict], labels) -> None:
    for e in entities:
        assert set(e) == {"start", "end", "text", "label", "score"}
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["label"] in labels
        assert 0.0 <= e["score"] <= 1.0


def same_entities(got: list[dict], want: list[dict]) -> None:
    """Equal spans and labels; scores equal up to float noise from padding in a bigger batch."""
    assert [(e["start"], e["end"], e["text"], e["label"]) for e in got] == [
        (e["start"], e["end"], e["text"], e["label"]) for e in want
    ]
    assert [e["score"] for e in got] == pytest.approx([e["score"] for e in want], abs=1e-4)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


# -- the endpoints ------------------------------------------------------------------------------


def test_extract_one_text_matches_the_model(client, model, model_dir):
    r = client.post("/v1/extract", json={"text": TEXT, "labels": LABELS, "threshold": 0.5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == model_dir.name
    (result,) = body["results"]
    check_entities(TEXT, result["entities"], LABELS)
    assert result["entities"] == model.predict_entities(TEXT, LABELS, threshold=0.5)
    assert result["entities"], "the tiny model finds something at 0.5; the offsets check needs entities"


def test_extract_texts_with_options_and_descriptions(client, model):
    labels = {"person": "a person's name", "city": "a city"}
    r = client.post(
        "/v1/extract",
        json={"texts": TEXTS, "labels": labels, "threshold": 0.3, "flat_ner": False, "multi_label": True},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == len(TEXTS)
    want = model.batch_predict_entities(TEXTS, labels, threshold=0.3, flat_ner=False, multi_label=True)
    for text, result, expected in zip(TEXTS, results, want, strict=True):
        check_entities(text, result["entities"], labels)
        same_entities(result["entities"], expected)


def test_odd_but_valid_texts(client, model):
    texts = ["", "   ", "bill\x00gates 🙂 ĳ café e\u0301 مرحبا", "\r\n" + "x" * 900]
    r = client.post("/v1/extract", json={"texts": texts, "labels": ["person"], "threshold": 0})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [res["entities"] for res in results[:2]] == [[], []]
    for text, result in zip(texts, results, strict=True):
        check_entities(text, result["entities"], ["person"])
    assert client.post("/v1/extract", json={"texts": [], "labels": ["person"]}).json()["results"] == []


def test_health_models_and_openapi(client, model_dir):
    assert client.get("/health").json() == {"status": "ok"}
    (info,) = client.get("/v1/models").json()["models"]
    assert info == {
        "name": model_dir.name,
        "architecture": "uni-span",
        "backbone": info["backbone"],
        "adapters": [],  # none loaded at start
        "routing": False,
        "default_adapter": None,
    }
    assert info["backbone"]
    spec = client.get("/openapi.json").json()
    assert "post" in spec["paths"]["/v1/extract"]
    assert {"413", "422"} <= set(spec["paths"]["/v1/extract"]["post"]["responses"])
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN: not offered


def test_web_page_and_its_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        assert f"/static/{name}" in page.text
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    assert "://" not in page.text  # nothing comes from another site: no CDN
    for escape in ("/static/../app.py", "/static/%2e%2e/app.py", "/static//etc/passwd"):
        assert client.get(escape).status_code == 404


# -- limits and mistakes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "limit", "value"),
    [
        ({"texts": ["a"] * 5, "labels": ["x"]}, "max_texts", 5),
        ({"text": "é" * 501, "labels": ["x"]}, "max_text_bytes", 1002),  # 501 characters, 1002 bytes
        ({"texts": ["a", "b" * 1001], "labels": ["x"]}, "max_text_bytes", 1001),
        ({"text": "a", "labels": [f"l{i}" for i in range(6)]}, "max_labels", 6),
        ({"text": "a", "labels": {f"l{i}": "d" for i in range(6)}}, "max_labels", 6),
    ],
)
def test_limits_give_413_naming_the_limit(client, body, limit, value):
    error = error_of(client.post("/v1/extract", json=body), 413)
    assert error["code"] == "limit_exceeded"
    assert (error["limit"], error["value"], error["maximum"]) == (limit, value, getattr(LIMITS, limit))
    assert str(getattr(LIMITS, limit)) in error["message"]


def test_a_body_too_large_to_read_gives_413(served):
    url, _ = served
    size = LIMITS.max_body_bytes + 1000
    body = json.dumps({"text": "a", "labels": ["x"], "pad": "x" * size}).encode()
    with httpx.Client(base_url=url, timeout=30) as c:
        error = error_of(
            c.post("/v1/extract", content=body, headers={"content-type": "application/json"}), 413
        )
        assert error["limit"] == "max_body_bytes"
        chunked = c.post(
            "/v1/extract",
            content=iter([body[:500_000], body[500_000:]]),
            headers={"content-type": "application/json"},
        )  # no Content-Length: counted while read
        assert error_of(chunked, 413)["limit"] == "max_body_bytes"
        assert c.get("/health").status_code == 200  # the connection or a new one still works


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"labels": ["x"]}, "body", "exactly one of"),
        ({"text": "a", "texts": ["a"], "labels": ["x"]}, "body", "exactly one of"),
        ({"text": 5, "labels": ["x"]}, "body.text", "string"),
        ({"texts": "abc", "labels": ["x"]}, "body.texts", "list"),
        ({"texts": ["a", 2], "labels": ["x"]}, "body.texts.1", "string"),
        ({"text": "a"}, "body.labels", "required"),
        ({"text": "a", "labels": []}, "body.labels", "empty"),
        ({"text": "a", "labels": ["x", "x"]}, "body.labels", "duplicate"),
        ({"text": "a", "labels": ["x", 3]}, "body.labels", "string"),
        ({"text": "a", "labels": "person"}, "body.labels", "list of strings"),
        ({"text": "a", "labels": {"x": ""}}, "body.labels", "description"),
        ({"text": "a", "labels": ["x"], "threshold": 1.5}, "body.threshold", "1"),
        ({"text": "a", "labels": ["x"], "threshold": -0.1}, "body.threshold", "0"),
        ({"text": "a", "labels": ["x"], "threshold": "0.5"}, "body.threshold", "number"),
        ({"text": "a", "labels": ["x"], "flat_ner": "yes"}, "body.flat_ner", "boolean"),
        ({"text": "a", "labels": ["x"], "model": "/etc/passwd"}, "body.model", "unknown field"),
    ],
)
def test_bad_requests_give_422_naming_the_field(client, body, field, fragment):
    error = error_of(client.post("/v1/extract", json=body), 422)
    assert error["code"] == "invalid_request"
    assert any(d["field"] == field and fragment in d["problem"] for d in error["details"]), error


def test_malformed_bodies_never_give_500(client):
    ok = '"labels": ["person"]'
    raw: list[bytes | str] = [
        "",
        "{",
        "not json",
        b"\xff\xfe{}",
        "[]",
        "null",
        "42",
        '"text"',
        "{}",
        "[" * 100_000 + "]" * 100_000,
        '{"text": "\\ud800", ' + ok + "}",  # half a surrogate pair: valid JSON, not valid text
        '{"texts": ["a", "\\udfff"], ' + ok + "}",
        '{"text": "a", "labels": ["per\\ud800"]}',
        '{"text": "a", ' + ok + ', "threshold": NaN}',
        '{"text": "a", ' + ok + ', "threshold": Infinity}',
        '{"text": "a", ' + ok + ', "threshold": 1e400}',
        '{"text": "a", ' + ok + ', "threshold": 100000000000000000000000000000}',
        '{"text": "a", ' + ok + ', "threshold": true}',
        '{"text": "a", ' + ok + ', "threshold": null}',
        '{"text": "a", ' + ok + ', "multi_label": null}',
        '{"text": "a", ' + ok + ', "flat_ner": 1}',
        '{"text": null, ' + ok + "}",
        '{"texts": null, ' + ok + "}",
        '{"texts": [["a"]], ' + ok + "}",
        '{"texts": [{"text": "a"}], ' + ok + "}",
        '{"text": "a", "labels": null}',
        '{"text": "a", "labels": {}}',
        '{"text": "a", "labels": [""]}',
        '{"text": "a", "labels": ["  "]}',
        '{"text": "a", "labels": [["person"]]}',
        '{"text": "a", "labels": {"x": 1}}',
        '{"text": "a", "labels": {"x": null}}',
        '{"text": "a", "labels": ["' + "person " * 400 + '"]}',  # longer than one encoder pass
        '{"text": "a", ' + ok + "} trailing",
        '{"text": "a", "text": "b", ' + ok + "}",  # a repeated key: the last wins, still valid
    ]
    statuses = []
    for content in raw:
        r = client.post("/v1/extract", content=content, headers={"content-type": "application/json"})
        statuses.append(r.status_code)
        assert r.status_code in (200, 413, 422), (content[:80], r.status_code, r.text[:300])
        if r.status_code != 200:
            error_of(r, r.status_code)
    assert statuses.count(200) == 1
    # the same JSON but not sent as JSON: a hint about Content-Type
    r = client.post(
        "/v1/extract", content='{"text": "a", ' + ok + "}", headers={"content-type": "text/plain"}
    )
    assert "application/json" in error_of(r, 422)["message"]
    assert error_of(client.get("/v1/extract"), 405)["code"] == "method_not_allowed"
    assert error_of(client.get("/nowhere"), 404)["code"] == "not_found"


# -- batching and shutdown ----------------------------------------------------------------------


def hammer(url: str, bodies: list[dict]) -> list[httpx.Response]:
    """Send every body at once, one thread each."""
    start = threading.Barrier(len(bodies))

    def send(body: dict) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as c:
            start.wait()
            return c.post("/v1/extract", json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


@pytest.mark.parametrize("batching", [True, False], ids=["batching", "one-call-per-request"])
def test_concurrent_requests(model, batching):
    settings = ServeSettings(max_batch=32, batch_window_ms=200) if batching else ServeSettings(max_batch=1)
    label_sets = [LABELS, ["person"], {"city": "a city", "person": "a name"}]
    bodies = [
        {
            "texts" if i % 2 else "text": TEXTS[: 1 + i % 3] if i % 2 else TEXTS[i % 3],
            "labels": label_sets[i % 3],
            "threshold": (0.5, 0.3)[i % 4 // 2],
        }
        for i in range(16)
    ]
    app = create_app(model, settings)
    with running(app) as (url, _):
        responses = hammer(url, bodies)
    for body, r in zip(bodies, responses, strict=True):
        assert r.status_code == 200, r.text
        texts = body["texts"] if "texts" in body else [body["text"]]
        want = model.batch_predict_entities(texts, body["labels"], threshold=body["threshold"])
        results = r.json()["results"]
        assert len(results) == len(texts)
        for text, result, expected in zip(texts, results, want, strict=True):
            check_entities(text, result["entities"], body["labels"])
            same_entities(result["entities"], expected)
    stats = app.state.stats
    assert stats.requests == len(bodies)
    if batching:
        assert stats.model_calls < len(bodies), stats
        assert stats.largest_call > 3  # texts of several requests in one call
    else:
        assert stats.model_calls == len(bodies), stats


class SlowModel:
    """The model, 0.3 s slower per call: time for a shutdown to start while requests are in flight."""

    def __init__(self, model):
        self.model, self.config = model, model.config

    def batch_predict_entities(self, *args, **kwargs):
        time.sleep(0.3)
        return self.model.batch_predict_entities(*args, **kwargs)


def test_graceful_shutdown_finishes_requests_in_flight(model):
    app = create_app(SlowModel(model), ServeSettings(max_batch=1))  # 3 calls: two wait in the queue
    with running(app) as (url, server), ThreadPoolExecutor(3) as pool:
        futures = [
            pool.submit(httpx.post, f"{url}/v1/extract", json={"text": t, "labels": LABELS}, timeout=30)
            for t in TEXTS
        ]
        deadline = time.monotonic() + 10
        while app.state.stats.requests < 3 or app.state.stats.model_calls == 0:  # one runs, two wait
            assert time.monotonic() < deadline
            time.sleep(0.005)
        server.should_exit = True
        responses = [f.result() for f in futures]
    for text, r in zip(TEXTS, responses, strict=True):
        assert r.status_code == 200, r.text
        check_entities(text, r.json()["results"][0]["entities"], LABELS)
    assert app.state.stats.model_calls == 3
