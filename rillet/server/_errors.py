"""Every error as ``{"error": "..."}`` with its status: bad input 400 (422 never
leaves the server), an unknown id 404, a state conflict 409, a store that fails
503. A bug is a 500 with the same body (and a test fails on it)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rillet.errors import (
    AlreadyExists,
    AmbiguousId,
    AuthError,
    Conflict,
    DefinitionError,
    LeaseLost,
    NotFound,
    RilletError,
    StoreError,
)

log = logging.getLogger("rillet.server")


def status_of(exc: BaseException) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, AmbiguousId):
        return 400
    if isinstance(exc, (Conflict, AlreadyExists, LeaseLost)):
        return 409
    if isinstance(exc, AuthError):
        return 403
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, (DefinitionError, ValueError, RilletError)):
        return 400
    return 500


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body",))
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return error(400, "bad request: " + "; ".join(parts))


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def _rillet(request: Request, exc: Exception) -> JSONResponse:
    return error(status_of(exc), str(exc))


def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error(500, f"internal error: {type(exc).__name__}")


def install(app: FastAPI) -> None:
    handlers: dict[Any, Any] = {
        RequestValidationError: _validation, HTTPException: _http, RilletError: _rillet,
        ValueError: _rillet, Exception: _bug,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}}}}
    for code, text in ((400, "Bad request"), (404, "Not found"), (409, "Conflict"))
}
