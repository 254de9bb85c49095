"""Web sessions: an HttpOnly cookie holding a verified access token.

A page handler calls ``ui_principal(request, Role.X, ...)``: without a valid session it
raises ``LoginRequired`` (answered with a redirect to ``/login``); with a session lacking
the roles it raises ``Forbidden`` after auditing the refusal, like the API does.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request

from hub.auth import Principal, Role
from hub.errors import Forbidden, HubError

COOKIE = "edh_session"


class LoginRequired(HubError):
    status, slug, title = 401, "login-required", "Connexion requise"


def session_principal(request: Request) -> Principal | None:
    """The principal of the session cookie, or None when absent, expired or forged."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return request.app.state.hub.verifier.verify(token)  # type: ignore[no-any-return]
    except HubError:
        return None


def ui_principal(request: Request, *roles: Role) -> Principal:
    """The session's principal if it holds one of ``roles``; else LoginRequired / Forbidden."""
    principal = session_principal(request)
    if principal is None:
        raise LoginRequired(login_url(request))
    if not principal.roles.intersection(str(r) for r in roles):
        request.app.state.hub.audit_denial(principal, roles, request)
        raise Forbidden(f"cette page est réservée aux rôles : {', '.join(roles)}")
    return principal


def login_url(request: Request) -> str:
    """``/login?next=<this page>``."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"
