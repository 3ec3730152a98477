"""uvicorn, with what a server facing unknown clients needs: a time limit on a request's head
(from a connection's opening, or from its last answer, to a complete request line and headers)
and a shutdown that tells the app to answer what is in flight within the grace period."""

from __future__ import annotations

import asyncio
import signal
import socket
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import ServeSettings


def header_timeout_protocol(timeout_s: float) -> type[H11Protocol]:
    """h11 connections closed when a request head is not complete ``timeout_s`` after the
    connection opened or its last response went out (uvicorn's keep-alive timer stops at the
    first byte, so a client sending a byte a minute would hold the connection for ever)."""

    class HeadTimeout(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            cycle = self.cycle  # a new request replaces it once its head is read
            self.loop.call_later(timeout_s, self._head_late, cycle)

        def _head_late(self, cycle: Any) -> None:
            idle = cycle is None or cycle.response_complete  # not a request still being answered
            if self.cycle is cycle and idle and not self.transport.is_closing():
                self.transport.close()

    return HeadTimeout


class Server(uvicorn.Server):
    """Calls ``app.state.deadlines.begin_shutdown()`` as soon as a shutdown starts, and exits 0
    after a SIGTERM (uvicorn raises the signal again once it has stopped, so the process would
    end as killed by it)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        captured = getattr(self, "_captured_signals", None)
        if sig == signal.SIGTERM and captured and captured[-1] == sig:
            captured.pop()  # a stop asked for and carried out is a clean exit

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        deadlines = getattr(getattr(app, "state", None), "deadlines", None)
        if deadlines is not None:
            deadlines.begin_shutdown()
        await super().shutdown(sockets)


def server_config(app: Any, settings: ServeSettings, **options: Any) -> uvicorn.Config:
    """uvicorn's config with the timeouts of ``settings``; ``options`` go to uvicorn.Config."""
    return uvicorn.Config(
        app,
        http=header_timeout_protocol(settings.header_timeout_s),
        timeout_keep_alive=max(1, round(settings.idle_timeout_s)),
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
        **options,
    )
