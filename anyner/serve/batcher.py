"""Gather concurrent requests into one model call.

Requests go into a queue per client, taken in turn (:class:`FairQueue`), so one client's many
requests cannot hold up another's. One worker task takes the first, then keeps collecting for
up to ``window`` seconds or until ``max_batch`` texts; a request is never split, so one larger
than ``max_batch`` runs alone. The collected requests are grouped by the options the model
takes per call (threshold, flat_ner, multi_label); within a group, texts whose requests named
different labels go in as one label list per text. Each group is one model call, run in a
single-thread executor so the model computes one batch at a time while the event loop stays free.
A call whose requests have all gone (answered by their deadline, or their client left) is told
to stop through the ``threading.Event`` it is given.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..options import DecodeOptions

# predict(texts, labels: shared or one per text, DecodeDecodeOptions, stop) -> entities
# per text; ``stop`` is set once nobody waits for the answer any more
Predict = Callable[[list[str], Any, float, bool, bool, threading.Event], list[list[dict]]]


class Unavailable(RuntimeError):
    """The server is shutting down and takes no new work."""


@dataclass
class BatchStats:
    """Counters the tests and /health-style probes read; updated on the event loop only."""

    requests: int = 0
    texts: int = 0
    model_calls: int = 0
    largest_call: int = 0  # texts in the largest single model call


@dataclass
class _Item:
    texts: list[str]
    labels: Any  # a list of names or a {name: description} dict, already validated
    options: DecodeOptions
    future: asyncio.Future = field(repr=False)
    adapter: str | None = None  # a named adapter loaded at start, or None: the base model

    @property
    def labels_key(self) -> tuple:
        if isinstance(self.labels, dict):
            return ("dict", *self.labels.items())
        return ("list", *self.labels)


_STOP = object()


class FairQueue:
    """Items queued per client and taken in turn, one from each client with items waiting."""

    def __init__(self) -> None:
        self._queues: dict[Any, deque] = {}  # in turn order: a client served goes to the back
        self._nonempty = asyncio.Event()

    def put_nowait(self, item: Any, client: Any = None) -> None:
        self._queues.setdefault(client, deque()).append(item)
        self._nonempty.set()

    def get_nowait(self) -> Any:
        if not self._queues:
            raise asyncio.QueueEmpty
        client = next(iter(self._queues))
        queue = self._queues.pop(client)
        item = queue.popleft()
        if queue:
            self._queues[client] = queue
        elif not self._queues:
            self._nonempty.clear()
        return item

    async def get(self) -> Any:
        while not self._queues:
            await self._nonempty.wait()
        return self.get_nowait()


class MicroBatcher:
    def __init__(self, predict: Predict, max_batch: int, window_ms: float, stats: BatchStats | None = None):
        self._predict = predict
        self.max_batch = max_batch
        self.window = window_ms / 1000.0
        self.stats = stats if stats is not None else BatchStats()
        self._queue: FairQueue | None = None
        self._worker: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._carry: _Item | None = None  # collected, but did not fit the last batch
        self._accepting = False

    @property
    def batching(self) -> bool:
        return self.max_batch > 1 and self.window > 0

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._queue = FairQueue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anyner-model")
        self._worker = asyncio.create_task(self._run(), name="anyner-batcher")
        self._accepting = True

    async def stop(self) -> None:
        """Refuse new work, finish everything already queued, then stop the worker."""
        if self._worker is None:
            return
        self._accepting = False
        assert self._queue is not None and self._executor is not None
        self._queue.put_nowait(_STOP)
        try:
            await self._worker
        finally:
            self._executor.shutdown(wait=True)
            self._worker = None

    # -- requests -------------------------------------------------------------------------
    async def submit(
        self,
        texts: Sequence[str],
        labels: Any,
        options: DecodeOptions,
        client: Any = None,
        adapter: str | None = None,
    ) -> list[list[dict]]:
        """Entities for each text, once the batch this request joins has run. Requests of
        different ``client`` values are served in turn."""
        if not self._accepting or self._queue is None:
            raise Unavailable("the server is shutting down; retry on another instance")
        texts = list(texts)
        self.stats.requests += 1
        if not texts:
            return []
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(texts, labels, options, future, adapter), client)
        return await future

    # -- the worker -----------------------------------------------------------------------
    async def _run(self) -> None:
        stopping = False
        while not stopping or self._carry is not None:
            batch, stopping = await self._collect(stopping)
            if batch:
                await self._run_batch(batch)

    async def _collect(self, stopping: bool) -> tuple[list[_Item], bool]:
        """The next batch, and whether the stop sentinel has been seen."""
        assert self._queue is not None
        if self._carry is not None:
            first, self._carry = self._carry, None
        elif stopping:
            return [], True
        else:
            got = await self._queue.get()
            if got is _STOP:
                return [], True
            first = got
        batch, size = [first], len(first.texts)
        if not self.batching:
            return batch, stopping
        deadline = time.monotonic() + self.window
        while size < self.max_batch and not stopping:
            remaining = deadline - time.monotonic()
            try:
                got = (
                    self._queue.get_nowait()
                    if remaining <= 0
                    else await asyncio.wait_for(self._queue.get(), remaining)
                )
            except (asyncio.QueueEmpty, asyncio.TimeoutError):
                break
            if got is _STOP:
                stopping = True  # finish this batch (and any carry) first
            elif size + len(got.texts) > self.max_batch:
                self._carry = got
                break
            else:
                batch.append(got)
                size += len(got.texts)
        return batch, stopping

    async def _run_batch(self, batch: list[_Item]) -> None:
        groups: dict[DecodeOptions, list[_Item]] = {}
        for item in batch:
            groups.setdefault(item.options, []).append(item)
        for options, items in groups.items():
            await self._run_group(options, items)

    async def _run_group(self, options: DecodeOptions, items: list[_Item]) -> None:
        items = [i for i in items if not i.future.done()]  # a cancelled request needs no answer
        if not items:
            return
        try:
            results = await self._call(options, items)
        except InputError as exc:
            if len(items) == 1:
                _settle(items[0], exc=exc)
                return
            # one request's input broke the shared call: run each alone so only that one fails
            for item in items:
                await self._run_group(options, [item])
            return
        except Exception as exc:
            for item in items:
                _settle(item, exc=exc)
            return
        start = 0
        for item in items:
            _settle(item, result=results[start : start + len(item.texts)])
            start += len(item.texts)

    async def _call(self, options: DecodeOptions, items: list[_Item]) -> list[list[dict]]:
        texts = [t for item in items for t in item.texts]
        keys = {item.labels_key for item in items}
        labels = items[0].labels if len(keys) == 1 else [item.labels for item in items for _ in item.texts]
        self.stats.model_calls += 1
        self.stats.texts += len(texts)
        self.stats.largest_call = max(self.stats.largest_call, len(texts))
        stop = _stop_when_all_gone([item.future for item in items])
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(
            self._executor,
            self._predict,
            texts,
            labels,
            options,
            stop,
            [item.adapter for item in items for _ in item.texts],
        )
        if len(results) != len(texts):
            raise RuntimeError(f"the model returned {len(results)} results for {len(texts)} texts")
        return results


def _stop_when_all_gone(futures: list[asyncio.Future]) -> threading.Event:
    """An event set once every future is done before the call answers it (cancelled: its
    request was answered by a deadline, or its client left)."""
    stop = threading.Event()

    def gone(_: asyncio.Future) -> None:
        if all(f.done() for f in futures):
            stop.set()

    for future in futures:
        future.add_done_callback(gone)
    return stop


def _settle(item: _Item, result: Any = None, exc: BaseException | None = None) -> None:
    if item.future.done():
        return
    if exc is not None:
        item.future.set_exception(exc)
    else:
        item.future.set_result(result)
