"""Every error of the xAPI endpoint as RFC 9457 problem+json (400, never FastAPI's 422)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from connector.errors import ConnectorError
from contracts.problems import problem_response

log = logging.getLogger("connector.xapi")


def problem(status: int, slug: str, title: str, detail: str, instance: str) -> JSONResponse:
    """The connector's RFC 9457 problem+json response (a Basic challenge on 401)."""
    headers = {"WWW-Authenticate": 'Basic realm="xapi"'} if status == 401 else None
    return problem_response(status, slug, title, detail, instance, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map the connector's errors, request validation and HTTP errors to problem+json."""

    @app.exception_handler(ConnectorError)
    async def _connector(request: Request, exc: ConnectorError) -> Response:
        return problem(exc.status, exc.slug, exc.title, exc.detail, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()
        )
        return problem(400, "bad-request", "Malformed request", detail, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem(
            exc.status_code, "http-error", "HTTP error", str(exc.detail), request.url.path
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500, "internal-error", "Internal error", "Unexpected error.", request.url.path
        )
