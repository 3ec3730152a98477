"""The HTTP server: a FastAPI app over one model fixed at start-up, with a micro-batcher that
gathers concurrent requests into one model call. Needs the ``serve`` extra (fastapi, uvicorn)."""

from __future__ import annotations

from .settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str):
    # create_app pulls in fastapi; `from anyner.serve import ServeSettings` stays light.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'anyner.serve' has no attribute {name!r}")
