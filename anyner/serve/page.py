"""The web page at ``/``: plain HTML, CSS and JavaScript shipped in ``static/`` (no CDN, so it
works without internet). The page calls POST /v1/extract like any client and highlights what
comes back; it puts the user's text into the page as text, never as HTML."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")

# the page loads only its own files and talks only to this server
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def add_page(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=_HEADERS)
