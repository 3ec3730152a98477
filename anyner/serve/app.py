"""The FastAPI app: one model fixed at start-up (no request can name another, nor a file), the
limits of :class:`ServeSettings`, two micro-batching lanes (small requests never wait behind a
large one; a large request runs text by text, in turn with other clients'), a deadline on every
request, and the web page at ``/``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import __version__
from ..adapters.facade import AUTO
from ..errors import InputError
from ..options import DecodeOptions
from .batcher import BatchStats, MicroBatcher
from .deadline import Deadlines
from .errors import EXTRACT_ERRORS, add_error_handlers
from .interrupt import Interrupter
from .limits import BodyLimit, check_request
from .page import add_page
from .schemas import Entity, ExtractRequest, ExtractResponse, ExtractResult, Health, ModelInfo, ModelList
from .settings import ServeSettings


def create_app(
    model: Any,
    settings: ServeSettings | None = None,
    model_path: str | Path | None = None,
) -> FastAPI:
    """The HTTP app over ``model`` (an :class:`anyner.AnyNER`, or anything with the same
    ``batch_predict_entities`` and ``config``). /v1/models reports the name of ``model_path``."""
    settings = settings or ServeSettings()
    info = ModelInfo(
        name=Path(model_path).name if model_path is not None else "default",
        architecture=model.config.variant,
        backbone=Path(str(model.config.backbone)).name,
        adapters=sorted(getattr(model, "adapters", {})),
        routing=getattr(model, "router", None) is not None,
        default_adapter=getattr(model, "active_adapter", None),
    )
    interrupter = Interrupter(model)

    def predict(texts, labels, options: DecodeOptions, stop: threading.Event, adapters=None):
        """(adapter, entities) per text. ``adapters``: per text, a name loaded at start, "auto"
        or None (the base model); routing runs here, in the model's own thread (its forward
        hooks must not meet another thread's pass)."""
        # any() first: a model without adapters (or a stand-in with only batch_predict_entities)
        # is asked nothing more
        chosen = model.adapters_for(texts, adapters) if adapters and any(adapters) else [None] * len(texts)
        extra = {"adapter": chosen} if any(chosen) else {}
        with interrupter.watching(stop):
            found = model.batch_predict_entities(texts, labels, **options.as_kwargs(), **extra)
        return list(zip(chosen, found, strict=True))

    stats = BatchStats()
    small = MicroBatcher(predict, settings.max_batch, settings.batch_window_ms, stats)
    large = MicroBatcher(predict, 1, 0, stats)
    deadlines = Deadlines(settings.deadline_s, settings.shutdown_grace_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await small.start()
        await large.start()
        try:
            yield
        finally:  # uvicorn has let in-flight requests finish; anything still queued runs here
            await asyncio.gather(small.stop(), large.stop())

    app = FastAPI(
        title="anyner",
        summary="Find entities of any type, named in plain words at request time.",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their code from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.stats = stats  # requests, texts, model calls: for tests and probes
    if "*" not in settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.state.deadlines = deadlines  # anyner.serve.server.Server starts the shutdown clock
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    add_error_handlers(app)
    add_page(app)

    async def run(
        texts: list[str], labels: Any, options: DecodeOptions, cost: int, client: Any, adapter: str | None
    ) -> list[tuple[str | None, list[dict]]]:
        if cost <= settings.small_cost:
            return await small.submit(texts, labels, options, client, adapter)
        parts = await asyncio.gather(
            *(large.submit([text], labels, options, client, adapter) for text in texts)
        )
        return [found for part in parts for found in part]

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health()

    @app.get("/v1/models", response_model=ModelList)
    async def models() -> ModelList:
        return ModelList(models=[info])

    @app.post("/v1/extract", response_model=ExtractResponse, responses=EXTRACT_ERRORS)
    async def extract(body: ExtractRequest, request: Request) -> ExtractResponse:
        """Entities in ``text`` or in each of ``texts``, with character offsets (end exclusive)."""
        texts = body.all_texts()
        adapter = body.adapter if "adapter" in body.model_fields_set else info.default_adapter
        known = [*info.adapters, *([AUTO] if info.routing else [])]
        if adapter is not None and adapter not in known:
            raise InputError(f"unknown adapter {adapter!r}; this server has: {', '.join(known) or 'none'}")
        cost = check_request(texts, body.labels, body.flat_ner, body.multi_label, settings)
        options = DecodeOptions(body.threshold, body.flat_ner, body.multi_label, settings.encoder_batch_size)
        client = request.client.host if request.client else None
        found = await deadlines.answer(run(texts, body.labels, options, cost, client, adapter), request)
        return ExtractResponse(
            model=info.name,
            adapter=adapter,
            results=[_result(entities, ran, settings.max_entities) for ran, entities in found],
            max_entities=settings.max_entities,
        )

    return app


def _result(entities: list[dict], adapter: str | None, most: int) -> ExtractResult:
    """At most ``most`` entities, the best-scoring, in text order; ``adapter``: what ran."""
    truncated = len(entities) > most
    if truncated:
        best = sorted(range(len(entities)), key=lambda i: -entities[i]["score"])[:most]
        entities = [entities[i] for i in sorted(best)]
    return ExtractResult(entities=[Entity(**e) for e in entities], adapter=adapter, truncated=truncated)
