"""Login and logout pages. The session token comes from the identity provider (OIDC) or,
on a trial hub, from ``edh token``; it is verified exactly like an API bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.auth import public_endpoint
from hub.errors import HubError
from hub.web.csrf import csrf_protect, is_https
from hub.web.session import COOKIE
from hub.web.templating import templates

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(public_endpoint), Depends(csrf_protect)]
)
EXPIRED = "ce jeton a expiré (un jeton vaut une heure) : demandez-en un nouveau."
INVALID = "ce jeton n'est pas valide pour cette plateforme (signature, émetteur ou format)."


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None}
    )


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(max_length=8192)],
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    try:
        principal = request.app.state.hub.verifier.verify(token.strip())
    except HubError as exc:
        request.app.state.hub.audit_auth_failure(request, token, exc.detail)
        expired = exc.detail == "token expired"
        context = {"next": _safe_next(next), "error": EXPIRED if expired else INVALID}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=is_https(request.app.state.hub.settings.public_url) or request.url.scheme == "https",
        max_age=3600,
    )
    request.state.principal = principal
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response
