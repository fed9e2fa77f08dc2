"""One error shape for every failure: ``{"detail": [{"field": ..., "message": ...}]}``.

Validation errors name the field at fault (``reason``, ``limit``, ``state`` ...) and where it was
(``in``: body, query, path, header); hub errors map to a status by their type.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hub.errors import (
    AuthError,
    BrokerError,
    Conflict,
    Forbidden,
    HubError,
    InputError,
    NotFound,
    StorageError,
)

log = logging.getLogger(__name__)

STATUS: list[tuple[type[HubError], int]] = [
    (InputError, 422), (AuthError, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409),
    (StorageError, 503), (BrokerError, 503),
]


def error_body(field: str | None, message: str, where: str | None = None) -> dict[str, Any]:
    """One item of the error list."""
    item: dict[str, Any] = {"field": field, "message": message}
    if where:
        item["in"] = where
    return item


def validation_items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI validation errors as named fields."""
    items = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        where = loc[0] if loc and loc[0] in {"body", "query", "path", "header"} else None
        parts = loc[1:] if where else loc
        if err.get("type") == "json_invalid":
            parts = []
        field = ".".join(parts) or where or None
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        items.append(error_body(field, message, where))
    return items


def status_of(err: HubError) -> int:
    """HTTP status of a hub error (500 for one we did not map)."""
    for kind, status in STATUS:
        if isinstance(err, kind):
            return status
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_items(exc.errors())}, status_code=422)

    @app.exception_handler(HubError)
    async def _hub(_request: Request, exc: HubError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.error("request failed: %s", exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": [error_body(exc.field, exc.message)]},
                            status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error answering a request", exc_info=exc)
        return JSONResponse({"detail": [error_body(None, "internal error; see the hub's log")]},
                            status_code=500)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": [error_body(None, str(exc.detail))]},
                            status_code=exc.status_code, headers=exc.headers)
