"""The per-request limits of :class:`ServeSettings`: counted on the parsed request, and on the raw
body while it is read, so an oversized body is refused before it is all in memory. Every breach
is a :class:`LimitExceeded` (413) that names the limit, the request's value and the maximum."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..text.words import count_words
from .errors import BodyTimeout, LimitExceeded, limit_response
from .settings import ServeSettings


def request_cost(texts: list[str], labels: Any, flat_ner: bool, multi_label: bool) -> int:
    """The work a request asks for, before it runs: words × labels over its texts (what the
    encoder reads and what decoding weighs), doubled for nested or multi-label decoding, which
    keep more candidates."""
    cost = sum(count_words(text) for text in texts) * len(labels)
    return cost if flat_ner and not multi_label else 2 * cost


def check_request(
    texts: list[str], labels: Any, flat_ner: bool, multi_label: bool, settings: ServeSettings
) -> int:
    """The request's cost; raise :class:`LimitExceeded` for too many texts, a text too long, too
    many labels, or a cost over the budget."""
    if len(texts) > settings.max_texts:
        raise LimitExceeded(
            "max_texts",
            len(texts),
            settings.max_texts,
            f"{len(texts)} texts; this server takes at most {settings.max_texts} per request",
        )
    most = settings.max_text_bytes
    for i, text in enumerate(texts):
        # a character is at most 4 UTF-8 bytes: most texts need no encoding to pass
        if len(text) * 4 > most and (size := len(text.encode("utf-8"))) > most:
            raise LimitExceeded(
                "max_text_bytes",
                size,
                most,
                f"text {i} is {size} UTF-8 bytes; this server takes at most {most} per text: "
                "split it into several texts",
            )
    if len(labels) > settings.max_labels:
        raise LimitExceeded(
            "max_labels",
            len(labels),
            settings.max_labels,
            f"{len(labels)} labels; this server takes at most {settings.max_labels} per request",
        )
    cost = request_cost(texts, labels, flat_ner, multi_label)
    if cost > settings.max_cost:
        raise LimitExceeded(
            "max_cost",
            cost,
            settings.max_cost,
            f"the request costs {cost} (words × labels over its texts, ×2 for nested or multi-label "
            f"decoding); this server takes at most {settings.max_cost}: send fewer or shorter texts, "
            "or fewer labels, in several requests",
        )
    return cost


class BodyLimit:
    """ASGI middleware: refuse a body larger than ``max_bytes`` by its Content-Length, or, for a
    chunked body, as soon as the bytes read pass the limit; and a body whose next piece takes
    more than ``timeout_s`` to arrive (408)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", ())).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            # outside the app's exception handlers: answer here, in the same JSON shape
            await limit_response(self.too_large(int(length)))(scope, receive, send)
            return
        received, complete = 0, False

        async def receive_limited() -> Message:
            nonlocal received, complete
            if complete:  # the body is read: what follows is the client leaving, whenever it does
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout_s)
            except asyncio.TimeoutError:
                raise BodyTimeout(self.timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:  # raised inside the app: its handler answers 413
                    raise self.too_large(received)
            return message

        await self.app(scope, receive_limited, send)

    def too_large(self, size: int) -> LimitExceeded:
        return LimitExceeded(
            "max_body_bytes",
            size,
            self.max_bytes,
            f"the request body is {size} bytes or more; this server reads at most {self.max_bytes}",
        )
