"""The server under hostile or careless clients: a cost budget, a deadline, work that stops when
nobody waits for it, a cap on entities, clients served in turn, timeouts on slow connections, and
JSON answers for requests still running when the server shuts down."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from web import running

from anyner.errors import InputError
from anyner.serve import ServeSettings, create_app
from anyner.serve.batcher import FairQueue
from anyner.serve.interrupt import Abandoned, Interrupter


class _Config:
    variant = "uni-span"
    backbone = "tiny"


class _Runner:
    @contextmanager
    def session(self):
        yield lambda batch: None


class _Predictor:
    def __init__(self):
        self.runner = _Runner()


class EndlessModel:
    """Forward passes for ever, until the server abandons the call (its runner raises)."""

    config = _Config()

    def __init__(self):
        self.pipeline = _Predictor()
        self.started = threading.Event()
        self.abandoned = threading.Event()

    def batch_predict_entities(self, texts, labels, **options):
        if texts == ["quick"]:
            return [[]]
        self.started.set()
        with self.pipeline.runner.session() as score:
            try:
                while True:
                    score(None)
                    time.sleep(0.01)
            except Abandoned:
                self.abandoned.set()
                raise


def wait_for(event: threading.Event) -> None:
    assert event.wait(30), "it did not happen"


def error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_request_over_the_cost_budget_gets_413(span_model):
    app = create_app(span_model, ServeSettings(max_cost=10))
    with running(app) as (url, _):
        ok = httpx.post(f"{url}/v1/extract", json={"text": "a b c d e", "labels": ["x", "y"]})
        assert ok.status_code == 200, ok.text
        err = error(httpx.post(f"{url}/v1/extract", json={"text": "a b c d e f", "labels": ["x", "y"]}), 413)
        assert (err["limit"], err["value"], err["maximum"]) == ("max_cost", 12, 10)
        nested = {"text": "a b c d e", "labels": ["x", "y"], "flat_ner": False}
        assert error(httpx.post(f"{url}/v1/extract", json=nested), 413)["value"] == 20


def test_a_request_past_its_deadline_gets_504_and_its_work_stops():
    model = EndlessModel()
    app = create_app(model, ServeSettings(deadline_s=0.5))
    with running(app) as (url, _):
        err = error(
            httpx.post(f"{url}/v1/extract", json={"text": "forever", "labels": ["x"]}, timeout=30), 504
        )
        assert err["code"] == "deadline_exceeded" and "0.5 s" in err["message"]
        wait_for(model.abandoned)


def test_work_stops_when_the_client_leaves():
    model = EndlessModel()
    app = create_app(model, ServeSettings())
    with running(app) as (url, _):
        body = b'{"text": "forever", "labels": ["x"]}'
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            head = (
                "POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body)
            wait_for(model.started)
        wait_for(model.abandoned)


def test_a_small_request_is_answered_while_a_large_one_runs():
    model = EndlessModel()
    app = create_app(model, ServeSettings(small_cost=2, deadline_s=60, shutdown_grace_s=1))
    with running(app, ServeSettings(shutdown_grace_s=1)) as (url, server), ThreadPoolExecutor(1) as pool:
        large = pool.submit(
            httpx.post, f"{url}/v1/extract", json={"text": "a b c", "labels": ["x"]}, timeout=60
        )
        wait_for(model.started)
        quick = httpx.post(f"{url}/v1/extract", json={"text": "quick", "labels": ["x"]}, timeout=30)
        assert quick.status_code == 200, quick.text
        assert not large.done()
        server.should_exit = True  # the large one gets its 503 now
        assert error(large.result(), 503)["code"] == "unavailable"


def test_requests_in_flight_at_shutdown_get_a_json_503_within_the_grace_period():
    model = EndlessModel()
    app = create_app(model, ServeSettings(shutdown_grace_s=2))
    settings = ServeSettings(shutdown_grace_s=2)
    with running(app, settings) as (url, server), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            httpx.post, f"{url}/v1/extract", json={"text": "x", "labels": ["x"]}, timeout=30
        )
        wait_for(model.started)
        server.should_exit = True
        err = error(pending.result(), 503)
    assert err["code"] == "unavailable" and "grace period" in err["message"]
    wait_for(model.abandoned)


def test_entities_per_text_are_capped_and_the_response_says_so(span_model):
    app = create_app(span_model, ServeSettings(max_entities=2))
    text = "bill gates founded microsoft in albuquerque"
    with running(app) as (url, _):
        body = httpx.post(
            f"{url}/v1/extract",
            json={"text": text, "labels": ["x", "y"], "threshold": 0.0, "multi_label": True},
        ).json()
    (result,) = body["results"]
    assert body["max_entities"] == 2 and result["truncated"] is True and len(result["entities"]) == 2
    every = span_model.predict_entities(text, ["x", "y"], threshold=0.0, multi_label=True)
    best = sorted(e["score"] for e in every)[-2:]
    assert sorted(e["score"] for e in result["entities"]) == pytest.approx(best)


def test_clients_are_served_in_turn():
    async def order() -> list[str]:
        queue = FairQueue()
        for item in ("a1", "a2", "a3"):
            queue.put_nowait(item, "A")
        queue.put_nowait("b1", "B")
        queue.put_nowait("c1", "C")
        return [await queue.get() for _ in range(5)]

    assert asyncio.run(order()) == ["a1", "b1", "c1", "a2", "a3"]


def test_the_interrupter_stops_a_real_model_between_forward_passes(tiny_backbone):
    from anyner import AnyNER

    model = AnyNER.from_backbone(tiny_backbone)
    interrupter = Interrupter(model)
    stop = threading.Event()
    with interrupter.watching(stop):
        assert model.batch_predict_entities(["bill gates"], ["person"], threshold=0.0)
        stop.set()
        with pytest.raises(Abandoned):
            model.batch_predict_entities(["bill gates"], ["person"])


def test_slow_clients_are_cut_off():
    app = create_app(EndlessModel(), ServeSettings())
    settings = ServeSettings(header_timeout_s=0.3, body_timeout_s=0.3)
    with running(app, settings) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /v1/extract HTTP/1.1\r\nHost: x\r\n")  # and never the rest of the head
            assert sock.recv(1024) == b""  # closed by the server
    app = create_app(EndlessModel(), ServeSettings(body_timeout_s=0.3))
    with running(app, settings) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b'POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"text"')
            answer = _read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 408") and b'"code":"body_timeout"' in answer


def _read_answer(sock: socket.socket) -> bytes:
    """The whole response: head and body may come in separate packets."""
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_a_loopback_server_answers_only_its_own_host_names(span_model):
    from anyner.cli.serve import _allowed_hosts

    assert _allowed_hosts("127.0.0.1") == _allowed_hosts("::1") == _allowed_hosts("localhost")
    assert _allowed_hosts("0.0.0.0") == ("*",)
    app = create_app(span_model, ServeSettings(allowed_hosts=_allowed_hosts("127.0.0.1")))
    with running(app) as (url, _):
        assert httpx.get(f"{url}/health").status_code == 200  # Host: 127.0.0.1:port
        rebound = httpx.get(f"{url}/health", headers={"Host": "evil.example:80"})
        assert rebound.status_code == 400
    with pytest.raises(InputError, match="allowed_hosts"):
        ServeSettings(allowed_hosts=())
