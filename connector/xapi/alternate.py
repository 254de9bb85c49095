"""xAPI 1.0.3 "alternate request syntax": ``POST ?method=PUT`` (or GET, POST, DELETE) with
an ``application/x-www-form-urlencoded`` body carrying the headers, the parameters and
``content``. This ASGI middleware rewrites such a request into the ordinary one before
routing. Under xAPI 2.0 (which dropped the syntax), or when malformed, it answers 400.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from connector.errors import BadRequest, ConnectorError, PayloadTooLarge
from connector.xapi.errors import problem
from connector.xapi.http import App, Message, Receive, Scope, Send

FORM = "application/x-www-form-urlencoded"
VERSION = b"x-experience-api-version"
METHODS = {"GET", "HEAD", "PUT", "POST", "DELETE"}
HEADERS = {
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
}


def _pairs(raw: str, where: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw))
    except ValueError:
        raise BadRequest(f"{where}: malformed form encoding") from None
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in out:
            raise BadRequest(f"{name}: given more than once")
        out[name] = value
    return out


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


def rewrite(scope: Scope, body: bytes) -> tuple[Scope, bytes]:
    """The ordinary request equivalent to an alternate-syntax request."""
    query = _pairs(scope["query_string"].decode("latin-1"), "query")
    if set(query) != {"method"}:
        raise BadRequest("method: no other query parameter is allowed with it")
    method = query["method"].upper()
    if method not in METHODS:
        raise BadRequest(f"method: {query['method']!r} is not GET, PUT, POST or DELETE")
    original = list(scope["headers"])
    if _header(original, b"content-type").split(";")[0].strip().lower() != FORM:
        raise BadRequest(f"Content-Type: the alternate request syntax needs {FORM}")
    form = _pairs(body.decode("utf-8", "replace"), "body")
    moved = {k.lower(): v for k, v in form.items() if k.lower() in HEADERS}
    version = moved.get("x-experience-api-version") or _header(
        original, b"x-experience-api-version"
    )
    if version.startswith("2."):
        raise BadRequest("method: the alternate request syntax is not part of xAPI 2.0")
    content = form.get("content", "").encode()
    moved.setdefault("content-type", "application/json")
    moved["content-length"] = str(len(content))
    headers = [(k, v) for k, v in original if k.decode("latin-1").lower() not in moved]
    headers += [(k.encode(), v.encode("latin-1")) for k, v in moved.items()]
    params = {k: v for k, v in form.items() if k.lower() not in HEADERS and k != "content"}
    new_scope = {
        **scope,
        "method": method,
        "query_string": urlencode(params).encode(),
        "headers": headers,
    }
    return new_scope, content


class AlternateSyntaxMiddleware:
    """Routes alternate-syntax requests as their ordinary equivalent (see module)."""

    def __init__(self, app: App, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(f"body: larger than {self.max_body_bytes} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        alternate = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and b"method=" in scope.get("query_string", b"")
        )
        if not alternate:
            await self.app(scope, receive, send)
            return
        try:
            scope, content = rewrite(scope, await self._body(receive))
        except ConnectorError as exc:
            response = problem(exc.status, exc.slug, exc.title, exc.detail, scope["path"])
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            return {"type": "http.request", "body": content, "more_body": False}

        await self.app(scope, replay, send)
