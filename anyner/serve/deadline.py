"""Every request is answered in bounded time: its result, a 504 once its deadline passes, a 503
once the server's shutdown grace runs out, and nothing once its client has left. In the last
three cases the work is cancelled (see :mod:`anyner.serve.interrupt`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

from .batcher import Unavailable

T = TypeVar("T")
_MARGIN_S = 1.0  # the 503s of a shutdown go out this long before the grace period ends


class DeadlineExceeded(RuntimeError):
    """The request was not answered within the server's deadline (504)."""


class ClientGone(RuntimeError):
    """The client closed the connection before its answer was ready."""


class Deadlines:
    def __init__(self, deadline_s: float, shutdown_grace_s: float):
        self.deadline_s = deadline_s
        self.grace_s = shutdown_grace_s
        self._shutdown_at: float | None = None
        self._draining: asyncio.Event | None = None

    def begin_shutdown(self) -> None:
        """From now on, requests in flight have until the grace period (less a margin) ends."""
        self._shutdown_at = time.monotonic() + max(0.0, self.grace_s - _MARGIN_S)
        self._event().set()

    def _event(self) -> asyncio.Event:
        if self._draining is None:
            self._draining = asyncio.Event()
        return self._draining

    async def answer(self, work: Awaitable[T], request: Request) -> T:
        task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(_disconnected(request))
        draining = asyncio.ensure_future(self._event().wait())
        end = time.monotonic() + self.deadline_s
        try:
            while True:
                until = end if self._shutdown_at is None else min(end, self._shutdown_at)
                waiting = {task, gone} if draining.done() else {task, gone, draining}
                done, _ = await asyncio.wait(
                    waiting, timeout=max(0.0, until - time.monotonic()), return_when=asyncio.FIRST_COMPLETED
                )
                if task in done:
                    return task.result()
                if gone in done:
                    raise ClientGone("the client closed the connection")
                if done:  # the shutdown began: loop with the earlier end
                    continue
                if self._shutdown_at is not None and time.monotonic() >= self._shutdown_at:
                    raise Unavailable(
                        "the server is shutting down and this request did not finish within its grace "
                        "period; retry on another instance"
                    )
                raise DeadlineExceeded(
                    f"the request was not answered within {self.deadline_s:g} s, this server's deadline: "
                    "send fewer or shorter texts, or fewer labels, or retry when it is less busy"
                )
        finally:
            for pending in (task, gone, draining):
                pending.cancel()


async def _disconnected(request: Request) -> None:
    """Returns once the client has closed the connection (the body is already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
