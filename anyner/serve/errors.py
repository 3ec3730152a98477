"""Every error the server answers is JSON, ``{"error": {"code", "message", ...}}``: 413 over a
limit, 422 for a request that cannot be read or is invalid, 404/405 for a wrong route, 503 while
shutting down. Only a failure of the server itself is a 500, and its details go to the log."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import InputError
from .batcher import Unavailable
from .deadline import ClientGone, DeadlineExceeded
from .schemas import ErrorResponse, ExtractRequest

log = logging.getLogger("anyner.serve")

# the error responses of POST /v1/extract, as published in the OpenAPI schema
EXTRACT_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "Over a limit: too many texts or labels, or too long."},
    422: {"model": ErrorResponse, "description": "Not readable JSON, wrong types, or bad labels or options."},
    503: {"model": ErrorResponse, "description": "The server is shutting down."},
    504: {
        "model": ErrorResponse,
        "description": "Not answered within the server's deadline; the work stopped.",
    },
}

_FIELDS = list(ExtractRequest.model_fields)
_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "body_timeout"}


class BodyTimeout(HTTPException):
    """The next piece of a request's body did not come in time (408)."""

    def __init__(self, timeout_s: float):
        super().__init__(
            408, f"the request body stopped arriving for {timeout_s:g} s, this server's body timeout"
        )


class LimitExceeded(HTTPException):
    """A request over one of the configured limits (413)."""

    def __init__(self, limit: str, value: int, maximum: int, message: str):
        super().__init__(413, message)
        self.limit, self.value, self.maximum = limit, value, maximum


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body = ErrorResponse.model_validate({"error": {"code": code, "message": message, **extra}})
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def limit_response(exc: LimitExceeded) -> JSONResponse:
    return error_response(
        413, "limit_exceeded", exc.detail, limit=exc.limit, value=exc.value, maximum=exc.maximum
    )


def _invalid(problem: str, details: list[dict] | None = None) -> JSONResponse:
    details = details if details is not None else [{"field": "body", "problem": problem}]
    return error_response(422, "invalid_request", problem, details=details)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_detail(err, request) for err in exc.errors()]
        message = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
        if len(details) > 5:
            message += f"; and {len(details) - 5} more"
        return _invalid(message, details=details)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc, LimitExceeded):
            return limit_response(exc)
        if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI failed to read the body
            return _invalid("the request body is not JSON that can be read: " + _read_failure(exc.__cause__))
        return error_response(exc.status_code, _CODES.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(InputError)  # the model's own checks, should any pass the schema
    async def input_error(request: Request, exc: InputError) -> JSONResponse:
        return _invalid(str(exc))

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return error_response(503, "unavailable", str(exc))

    @app.exception_handler(DeadlineExceeded)
    async def deadline(request: Request, exc: DeadlineExceeded) -> JSONResponse:
        return error_response(504, "deadline_exceeded", str(exc))

    @app.exception_handler(ClientGone)  # nobody reads this answer
    async def gone(request: Request, exc: ClientGone) -> JSONResponse:
        return error_response(499, "client_closed_request", str(exc))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", "the server failed on this request; its log has details")


def _read_failure(cause: BaseException) -> str:
    if isinstance(cause, UnicodeError):
        return "it is not UTF-8"
    if isinstance(cause, RecursionError):
        return "it is nested too deeply"
    return type(cause).__name__


def _detail(err: Any, request: Request) -> dict[str, str]:
    """One pydantic error as {"field", "problem"}, without echoing the input back."""
    loc = [str(part) for part in err.get("loc", ())]
    kind = err.get("type", "")
    problem = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        problem = (
            f"unknown field; a request has {', '.join(_FIELDS)} (the model is fixed when the server starts)"
        )
    elif kind == "json_invalid":
        pos = f" at character {loc[1]}" if len(loc) > 1 else ""
        problem = f"not valid JSON{pos}: {err.get('ctx', {}).get('error', 'decode error')}"
        loc = loc[:1]
    elif loc == ["body"] and kind == "missing":
        problem = 'the request body is empty: send a JSON object with "text" or "texts" and "labels"'
    elif loc == ["body"] and kind in ("model_attributes_type", "dict_type", "model_type"):
        content_type = request.headers.get("content-type", "")
        problem = "the request body must be a JSON object"
        if "json" not in content_type:
            got = f"got {content_type!r}" if content_type else "none was given"
            problem += f" sent with Content-Type: application/json ({got})"
    return {"field": ".".join(loc) or "body", "problem": problem}
