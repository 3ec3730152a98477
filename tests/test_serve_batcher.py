"""The micro-batcher on its own: a fake model that records its calls, no HTTP, no torch."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from anyner.errors import InputError
from anyner.options import DecodeOptions
from anyner.serve import ServeSettings
from anyner.serve.batcher import MicroBatcher, Predict, Unavailable

DEFAULT = DecodeOptions(0.5, True, False)


class FakeModel:
    """Entities that echo the text, label list and options, so a mixed-up result shows."""

    def __init__(self, delay: float = 0.0, bad: str | None = None):
        self.calls: list[tuple[list[str], object, float, bool, bool]] = []
        self.delay, self.bad = delay, bad
        self.threads: set[int] = set()

    def __call__(self, texts, labels, options, stop, adapters=None):
        threshold = options.threshold
        self.threads.add(threading.get_ident())
        self.calls.append((list(texts), labels, threshold, options.flat_ner, options.multi_label))
        if self.bad is not None and self.bad in texts:
            raise InputError(f"bad text {self.bad!r}")
        time.sleep(self.delay)
        per_text = isinstance(labels, list) and labels and not isinstance(labels[0], str)
        return [
            [{"text": t, "labels": labels[i] if per_text else labels, "threshold": threshold}]
            for i, t in enumerate(texts)
        ]


def run(model: Predict, requests: list[tuple[list[str], object, DecodeOptions]], max_batch=32, window_ms=50):
    """Submit all requests at once; the results (or exceptions) in order, and the batcher."""

    async def main():
        batcher = MicroBatcher(model, max_batch, window_ms)
        await batcher.start()
        try:
            results = await asyncio.gather(
                *(batcher.submit(t, lab, o) for t, lab, o in requests), return_exceptions=True
            )
        finally:
            await batcher.stop()
        return results, batcher

    return asyncio.run(main())


def check(results, requests) -> None:
    for (texts, labels, options), result in zip(requests, results, strict=True):
        assert [r[0]["text"] for r in result] == texts
        assert all(r[0]["labels"] == labels and r[0]["threshold"] == options.threshold for r in result)


def test_concurrent_requests_share_one_call():
    model = FakeModel()
    requests = [([f"t{i}", f"u{i}"], ["person"], DEFAULT) for i in range(5)]
    results, batcher = run(model, requests)
    check(results, requests)
    assert len(model.calls) == 1 and model.calls[0][1] == ["person"]  # one shared label list
    assert (batcher.stats.model_calls, batcher.stats.texts, batcher.stats.requests) == (1, 10, 5)


def test_different_labels_go_per_text_and_options_split_calls():
    model = FakeModel()
    other = DecodeOptions(0.3, False, True)
    requests = [
        (["a"], ["person"], DEFAULT),
        (["b", "c"], {"city": "a city"}, DEFAULT),
        (["d"], ["person"], other),
        (["e"], ["date"], DEFAULT),
    ]
    results, _ = run(model, requests)
    check(results, requests)
    assert len(model.calls) == 2
    texts, labels, threshold, _, _ = model.calls[0]
    assert texts == ["a", "b", "c", "e"] and threshold == 0.5
    assert labels == [["person"], {"city": "a city"}, {"city": "a city"}, ["date"]]
    assert model.calls[1][0] == ["d"] and model.calls[1][2:] == (0.3, False, True)


def test_max_batch_is_never_exceeded_and_requests_are_never_split():
    model = FakeModel()
    requests = [([f"t{i}"] * n, ["x"], DEFAULT) for i, n in enumerate([3, 3, 3, 7, 1])]
    results, _ = run(model, requests, max_batch=6)
    check(results, requests)
    # in arrival order: 3+3 fill a batch; the 7 does not fit after the third 3 and, larger than
    # max_batch on its own, runs alone; the 1 comes last
    assert [c[0] for c in model.calls] == [
        ["t0"] * 3 + ["t1"] * 3,
        ["t2"] * 3,
        ["t3"] * 7,
        ["t4"],
    ]


@pytest.mark.parametrize(("max_batch", "window_ms"), [(1, 50), (32, 0)])
def test_batching_off(max_batch, window_ms):
    model = FakeModel()
    requests = [([f"t{i}"], ["x"], DEFAULT) for i in range(4)]
    results, batcher = run(model, requests, max_batch=max_batch, window_ms=window_ms)
    check(results, requests)
    assert not batcher.batching
    assert len(model.calls) == 4


def test_a_bad_request_fails_alone():
    model = FakeModel(bad="boom")
    requests = [(["a"], ["x"], DEFAULT), (["boom"], ["x"], DEFAULT), (["c"], ["x"], DEFAULT)]
    results, _ = run(model, requests)
    assert isinstance(results[1], InputError)
    check([results[0], results[2]], [requests[0], requests[2]])


def test_a_server_failure_fails_its_call_only():
    model = FakeModel()
    calls = 0

    def predict(texts, labels, *options):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("out of memory")
        return model(texts, labels, *options)

    requests = [
        (["a"], ["x"], DEFAULT),
        (["b"], ["x"], DEFAULT),
        (["c"], ["x"], DecodeOptions(0.3, True, False)),
    ]
    results, _ = run(predict, requests)
    assert all(isinstance(r, RuntimeError) for r in results[:2])  # the same call: not retried
    check([results[2]], [requests[2]])


def test_the_model_runs_on_one_thread_off_the_loop():
    model = FakeModel(delay=0.01)
    requests = [([f"t{i}"], ["x"], DEFAULT) for i in range(6)]
    results, _ = run(model, requests, max_batch=1)
    check(results, requests)
    assert len(model.threads) == 1 and threading.get_ident() not in model.threads


def test_a_cancelled_request_is_not_computed():
    async def main():
        model = FakeModel()
        batcher = MicroBatcher(model, 32, 50)
        await batcher.start()
        gone = asyncio.ensure_future(batcher.submit(["gone"], ["x"], DEFAULT))
        kept = asyncio.ensure_future(batcher.submit(["kept"], ["x"], DEFAULT))
        await asyncio.sleep(0)  # both queued, the batch window still open
        gone.cancel()
        assert (await kept)[0][0]["text"] == "kept"
        await batcher.stop()
        assert [c[0] for c in model.calls] == [["kept"]]

    asyncio.run(main())


def test_stop_drains_the_queue_then_refuses_work():
    async def main():
        model = FakeModel(delay=0.05)
        batcher = MicroBatcher(model, 1, 0)
        await batcher.start()
        pending = [asyncio.ensure_future(batcher.submit([f"t{i}"], ["x"], DEFAULT)) for i in range(3)]
        await asyncio.sleep(0)  # submitted, not yet run
        await batcher.stop()
        assert all(p.done() for p in pending)
        assert [p.result()[0][0]["text"] for p in pending] == ["t0", "t1", "t2"]
        with pytest.raises(Unavailable):
            await batcher.submit(["late"], ["x"], DEFAULT)

    asyncio.run(main())


@pytest.mark.parametrize(
    "bad",
    [
        {"max_batch": 0},
        {"max_texts": -1},
        {"max_labels": 1.5},
        {"max_text_bytes": True},
        {"batch_window_ms": -1},
        {"batch_window_ms": float("nan")},
    ],
)
def test_settings_are_validated(bad):
    with pytest.raises(InputError, match=next(iter(bad))):
        ServeSettings(**bad)
