"""ASGI middleware: request body size limit and access logs."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import PayloadTooLarge, problem

log = logging.getLogger("hub.access")


class _TooLarge(BaseException):
    """Raised from ``receive``; a BaseException so body parsers cannot swallow it as a 400."""


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 problem+json, by header or while streaming.

    ``overrides`` gives other limits to path prefixes (e.g. presigned object uploads).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: tuple[tuple[str, int], ...] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides

    def _limit(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        return next((n for prefix, n in self.overrides if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            PayloadTooLarge.slug,
            PayloadTooLarge.title,
            f"request body exceeds {self._limit(scope)} bytes",
            scope.get("path", ""),
        )
        await response(scope, receive, send)


DOCS_PATHS = ("/docs", "/redoc")
"""FastAPI's interactive API docs: their pages use inline script from FastAPI itself."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeadersMiddleware:
    """Security headers on every response: a CSP without inline script and
    ``frame-ancestors 'none'`` (FastAPI's docs pages keep only the latter), ``nosniff``,
    ``same-origin`` referrers, no framing; HSTS when the hub is served over https."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.https = https

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        csp = "frame-ancestors 'none'" if path.startswith(DOCS_PATHS) else CSP
        headers = [*SECURITY_HEADERS, (b"content-security-policy", csp.encode())]
        if self.https:
            headers.append((b"strict-transport-security", b"max-age=31536000"))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers(str(scope.get("path", "")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLogMiddleware:
    """One JSON log line per request: method, path, status, duration, request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = str(uuid.uuid4())
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                },
            )
