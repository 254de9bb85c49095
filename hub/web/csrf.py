"""Cross-site request forgery defence for the web pages (double-submit token + origin).

Every form a page renders carries ``csrf_token`` (a hidden field filled by the template
context processor :func:`csrf_context`); the same random value lives in the
``edh_csrf`` cookie (HttpOnly, SameSite=Strict, Secure when the hub's public URL is
https), issued by :class:`CsrfCookieMiddleware` the first time a page needs it. A form
post (:func:`csrf_protect`, a router dependency of every page router) is refused with
403, audited as ``web.csrf.refused``, unless the field equals the cookie and the
``Origin`` (else ``Referer``) header, when sent, is the hub's own origin.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import Forbidden
from hub.trail.writer import Actor, Decision, EventDraft, Resource, record_now

CSRF_COOKIE = "edh_csrf"
CSRF_FIELD = "csrf_token"
_ISSUE = "csrf_issue"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = (
    "Requête refusée : le formulaire ne provient pas de cette page du hub ou son jeton de "
    "sécurité a expiré. Rechargez la page puis recommencez."
)


def is_https(url: str) -> bool:
    """True when ``url`` (the hub's public URL) is https: cookies are then ``Secure``."""
    return urlsplit(url).scheme == "https"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def csrf_token(request: Request) -> str:
    """The browser's CSRF token: its cookie's, or a new one issued with this response."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if len(current) == 43:
        return current
    issued: str | None = getattr(request.state, _ISSUE, None)
    if issued is None:
        issued = secrets.token_urlsafe(32)
        setattr(request.state, _ISSUE, issued)
    return issued


def csrf_context(request: Request) -> dict[str, Any]:
    """Template context processor: ``csrf_token`` for every form."""
    return {CSRF_FIELD: csrf_token(request)}


def _allowed_origins(request: Request) -> set[str]:
    own = _origin(str(request.base_url))
    return {own, _origin(request.app.state.hub.settings.public_url)}


def _origin_problem(request: Request) -> str | None:
    origin = request.headers.get("origin")
    referer = request.headers.get("referer")
    sent = origin if origin is not None else (referer and _origin(referer))
    if sent is not None and sent.lower() not in _allowed_origins(request):
        return "the form was posted from another site"
    return None


async def csrf_protect(request: Request) -> None:
    """Router dependency: refuse (403, audited) a form post from another site or without
    the browser's CSRF token; safe methods pass."""
    if request.method in SAFE_METHODS:
        return
    reason = _origin_problem(request)
    if reason is None:
        form = await request.form()
        sent = form.get(CSRF_FIELD)
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not (isinstance(sent, str) and cookie and hmac.compare_digest(sent, cookie)):
            reason = "the form's security token is missing or does not match"
    if reason is not None:
        _audit_refusal(request, reason)
        raise Forbidden(REFUSED)


def _audit_refusal(request: Request, reason: str) -> None:
    draft = EventDraft(
        actor=Actor("unknown", "unauthenticated"),
        action="web.csrf.refused",
        resource=Resource("endpoint", f"{request.method} {request.url.path}"[:255]),
        decision=Decision.DENY,
        reasons=[reason],
        details={"source": request.client.host if request.client else "unknown"},
    )
    record_now(request.app.state.hub.engine, draft)


class CsrfCookieMiddleware:
    """Sets the ``edh_csrf`` cookie on a response whose page issued a new token."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.attributes = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            issued = scope.get("state", {}).get(_ISSUE)
            if message["type"] == "http.response.start" and issued:
                cookie = f"{CSRF_COOKIE}={issued}{self.attributes}"
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
