"""One exception tree for the hub, mapped in one place to RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from contracts.problems import Problem, problem_response

RETRY_AFTER_SECONDS = "5"
CLIENT_CLOSED = 499
"""Status logged for a request whose client disconnected (nginx's convention; never sent)."""
log = logging.getLogger("hub.errors")


class HubError(Problem):
    """Base of every error the hub reports to a client (see :class:`contracts.problems.Problem`)."""


class BadRequest(HubError):
    status, slug, title = 400, "bad-request", "Malformed request"


class ValidationFailed(HubError):
    status, slug, title = 400, "validation-failed", "Invalid input"


class Unauthorized(HubError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(HubError):
    status, slug, title = 403, "forbidden", "Access denied"


class NotFound(HubError):
    status, slug, title = 404, "not-found", "Not found"


class NoRoute(HubError):
    """The router's own refusal: no route at this path (404) or not for this method (405)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug, self.title = _STATUS_SLUGS.get(status, ("http-error", "HTTP error"))


class Conflict(HubError):
    status, slug, title = 409, "conflict", "Conflict"


class InvalidTransition(HubError):
    status, slug, title = 409, "invalid-transition", "Transition not allowed"


class PayloadTooLarge(HubError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(HubError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class TooManyRequests(HubError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(HubError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database could not be reached or dropped the session: nothing was changed."""

    slug, title = "database-unavailable", "Database unavailable"


class StorageUnavailable(ServiceUnavailable):
    """The object store could not be reached."""

    slug, title = "storage-unavailable", "Object storage unavailable"


class PolicyUnavailable(ServiceUnavailable):
    """The policy engine or its data could not answer: nothing was decided (retry later)."""

    slug, title = "policy-unavailable", "Policy engine unavailable"


_STATUS_SLUGS = {
    400: (BadRequest.slug, BadRequest.title),
    401: (Unauthorized.slug, Unauthorized.title),
    403: (Forbidden.slug, Forbidden.title),
    404: (NotFound.slug, NotFound.title),
    405: ("method-not-allowed", "Method not allowed"),
    409: (Conflict.slug, Conflict.title),
    413: (PayloadTooLarge.slug, PayloadTooLarge.title),
    415: (UnsupportedMediaType.slug, UnsupportedMediaType.title),
}


def problem(
    status: int, slug: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    """The hub's RFC 9457 problem+json response (a Bearer challenge on 401, ``Retry-After``
    on 503)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    return problem_response(status, slug, title, detail, instance, headers, **extra)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        out.append({"field": loc or "body", "message": str(err.get("msg", "invalid"))})
    return out


def answer_as(app: FastAPI, raised: type[Exception], answer: HubError) -> None:
    """Answer every ``raised`` exception (a dependency that is down) with ``answer``, as
    the app answers hub errors (call after :func:`install_error_handlers`); the
    exception's type is logged, never its message (it may hold data)."""

    async def handler(request: Request, exc: Exception) -> Response:
        log.warning(
            "dependency unavailable",
            extra={"path": request.url.path, "error": type(exc).__name__, "answer": answer.slug},
        )
        answer_hub_error = app.exception_handlers[HubError]
        return await answer_hub_error(request, answer)  # type: ignore[misc,no-any-return]

    app.add_exception_handler(raised, handler)


PageRenderer = Callable[[Request, HubError], Response | None]
"""Renders a hub error as a browser page, or None when the request is not for a page.
The delivery layer registers one (``hub.web.errors_html.error_page``); the kernel never
imports the web UI."""


def install_error_handlers(app: FastAPI, render_page: PageRenderer | None = None) -> None:
    """Map every exception the app can raise to problem+json (never FastAPI's 422);
    ``render_page`` may answer a hub error with an HTML page instead."""

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> Response:
        page = render_page(request, exc) if render_page is not None else None
        if page is not None:
            return page
        return problem(exc.status, exc.slug, exc.title, exc.detail, request.url.path, **exc.extra)

    answer_as(app, OperationalError, DatabaseUnavailable("the database cannot be reached"))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(
            400,
            ValidationFailed.slug,
            ValidationFailed.title,
            detail,
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """Raised only by the router and the static files: answered as a hub error."""
        return await _hub_error(request, NoRoute(exc.status_code, str(exc.detail)))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        """The client went away mid-request (e.g. during an upload): nothing to answer,
        nothing was stored; logged as such, not as a server error."""
        log.info(
            "client disconnected before the request body was complete",
            extra={"path": request.url.path, "method": request.method},
        )
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(
            500, HubError.slug, HubError.title, "An unexpected error occurred.", request.url.path
        )
