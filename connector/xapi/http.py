"""HTTP plumbing shared by the xAPI routes: Basic auth, the version header, bodies.

- Every resource but ``/about`` needs ``X-Experience-API-Version`` (1.0.x or 2.0.x);
  absent or unsupported → 400. Responses carry the resolved version (``1.0.3``/``2.0.0``),
  or the ``xapi.unversioned_answer`` setting when the request named none.
- HTTP Basic credentials must equal the configured key/secret → else 401.
- Bodies larger than the configured limit → 413; JSON that does not parse → 400.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi import APIRouter, Request

from connector.config import XapiSettings
from connector.errors import BadRequest, PayloadTooLarge, Unauthorized
from connector.spool.clock import now_iso

VERSION_HEADER = "X-Experience-API-Version"
LATEST = "2.0.0"
_VERSIONS = {"1.0": "1.0.3", "2.0": "2.0.0"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Endpoint = Callable[..., Any]


def add_get_and_head(router: APIRouter, path: str, endpoint: Endpoint, summary: str) -> None:
    """Route ``GET`` (documented) and ``HEAD`` (same handler, body dropped) to ``endpoint``."""
    router.add_api_route(path, endpoint, methods=["GET"], summary=summary)
    router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)


def resolve_version(value: str | None) -> str:
    """The xAPI version a request asks for; ``BadRequest`` when absent or unsupported."""
    if not value:
        raise BadRequest(f"{VERSION_HEADER}: header required (1.0.3 or 2.0.0)")
    parts = value.strip().split(".")
    head = ".".join(parts[:2])
    patch_ok = len(parts) == 2 or (len(parts) == 3 and parts[2].isdigit())
    if head not in _VERSIONS or not patch_ok:
        raise BadRequest(f"{VERSION_HEADER}: unsupported version {value!r} (1.0.x or 2.0.x)")
    return _VERSIONS[head]


def check_basic_auth(authorization: str | None, settings: XapiSettings) -> None:
    """Raise ``Unauthorized`` unless the header carries the configured key and secret."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("HTTP Basic credentials required")
    try:
        key, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("malformed HTTP Basic credentials") from None
    expected = f"{settings.key}:{settings.secret.get_secret_value()}".encode()
    if not sep or not hmac.compare_digest(f"{key}:{secret}".encode(), expected):
        raise Unauthorized("wrong key or secret")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body: larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body: larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes, field: str = "body") -> Any:
    """Parse JSON or raise ``BadRequest`` naming ``field``."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{field}: not valid JSON ({exc})") from None


def _answered_version(scope: Scope, unversioned: str) -> str:
    """The version a response states: the resolved one, else the one the request named
    (errors raised before resolution, e.g. 401 or 405), else ``unversioned``."""
    state = scope.get("state") or {}
    if "xapi_version" in state:
        return str(state["xapi_version"])
    named = next((v for k, v in scope["headers"] if k.lower() == b"x-experience-api-version"), b"")
    try:
        return resolve_version(named.decode("latin-1"))
    except BadRequest:
        return unversioned


class VersionHeaderMiddleware:
    """Adds ``X-Experience-API-Version`` to every response (the resolved version) and
    ``X-Experience-API-Consistent-Through`` to every statement resource response (every
    statement is durable before its 200, so the spool is consistent up to now). A request
    naming no valid version is answered with ``unversioned``."""

    def __init__(self, app: App, unversioned: str = LATEST) -> None:
        self.app = app
        self.unversioned = unversioned

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                version = _answered_version(scope, self.unversioned).encode()
                headers = [*message.get("headers", []), (b"x-experience-api-version", version)]
                if scope["path"].endswith("/statements"):
                    headers.append((b"x-experience-api-consistent-through", now_iso().encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_version)
