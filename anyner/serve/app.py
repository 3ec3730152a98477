"""The FastAPI app: one model fixed at start-up (no request can name another, nor a file), the
limits of :class:`ServeSettings`, the micro-batcher, and the web page at ``/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from .. import __version__
from .batcher import MicroBatcher, Options
from .errors import EXTRACT_ERRORS, add_error_handlers
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
    ``batch_predict_entities`` and ``config``). ``model_path`` is only reported by /v1/models."""
    settings = settings or ServeSettings()
    path = str(model_path) if model_path is not None else "default"
    info = ModelInfo(
        name=Path(path).name or path,
        path=path,
        architecture=str(getattr(model.config.architecture, "value", model.config.architecture)),
        backbone=str(model.config.backbone),
    )

    def predict(texts, labels, threshold, flat_ner, multi_label):
        return model.batch_predict_entities(
            texts,
            labels,
            threshold=threshold,
            flat_ner=flat_ner,
            multi_label=multi_label,
            batch_size=settings.encoder_batch_size,
        )

    batcher = MicroBatcher(predict, settings.max_batch, settings.batch_window_ms)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        try:
            yield
        finally:  # uvicorn has let in-flight requests finish; anything still queued runs here
            await batcher.stop()

    app = FastAPI(
        title="anyner",
        summary="Find entities of any type, named in plain words at request time.",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their code from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.stats = batcher.stats  # requests, texts, model calls: for tests and probes
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    add_error_handlers(app)
    add_page(app)

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health()

    @app.get("/v1/models", response_model=ModelList)
    async def models() -> ModelList:
        return ModelList(models=[info])

    @app.post("/v1/extract", response_model=ExtractResponse, responses=EXTRACT_ERRORS)
    async def extract(body: ExtractRequest) -> ExtractResponse:
        """Entities in ``text`` or in each of ``texts``, with character offsets (end exclusive)."""
        texts = body.all_texts()
        check_request(texts, body.labels, settings)
        options = Options(body.threshold, body.flat_ner, body.multi_label)
        found = await batcher.submit(texts, body.labels, options)
        return ExtractResponse(
            model=info.name,
            results=[ExtractResult(entities=[Entity(**e) for e in ents]) for ents in found],
        )

    return app
