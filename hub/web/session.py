"""Web sessions: an HttpOnly cookie holding a verified access token.

A page router declares its roles with ``dependencies=[Depends(page_roles(Role.X, ...))]``
and each handler calls ``ui_principal(request, Role.X, ...)``: without a valid session it
raises ``LoginRequired`` (answered with a redirect to ``/login``); with a session lacking
the roles it raises ``Forbidden`` after auditing the refusal, like the API does.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request

from hub.auth import Principal, Role
from hub.errors import Forbidden, HubError
from hub.web import labels

COOKIE = "edh_session"


class LoginRequired(HubError):
    status, slug, title = 401, "login-required", "Connexion requise"


def session_principal(request: Request) -> Principal | None:
    """The principal of the session cookie, or None when absent, expired or forged (then
    the failed authentication is audited, once per request)."""
    if hasattr(request.state, "session_principal"):
        return request.state.session_principal  # type: ignore[no-any-return]
    principal = None
    token = request.cookies.get(COOKIE)
    if token:
        try:
            principal = request.app.state.hub.verifier.verify(token)
        except HubError as exc:
            request.app.state.hub.audit_auth_failure(request, token, exc.detail)
    request.state.session_principal = principal
    return principal


def ui_principal(request: Request, *roles: Role) -> Principal:
    """The session's principal if it holds one of ``roles``; else LoginRequired / Forbidden."""
    principal = session_principal(request)
    if principal is None:
        raise LoginRequired(login_url(request))
    if not principal.roles.intersection(str(r) for r in roles):
        request.app.state.hub.audit_denial(principal, roles, request)
        names = ", ".join(labels.role(str(r)) for r in roles)
        raise Forbidden(f"cette page est réservée aux rôles : {names}")
    return principal


def page_roles(*roles: Role) -> Callable[[Request], Principal]:
    """A router dependency declaring that its pages need one of ``roles`` (checked with
    :func:`ui_principal` before the handler runs); ``roles`` is readable by route walkers."""

    def dependency(request: Request) -> Principal:
        return ui_principal(request, *roles)

    dependency.roles = tuple(roles)  # type: ignore[attr-defined]
    return dependency


def login_url(request: Request) -> str:
    """``/login?next=<this page>``."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"
