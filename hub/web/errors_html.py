"""HTML rendering of hub errors for browser pages (the API keeps problem+json)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hub.errors import HubError
from hub.web.templating import templates

UI_PREFIXES = ("/review", "/audit", "/research", "/login", "/accessibilite")


def wants_html(request: Request) -> bool:
    """A browser page request: a UI path (or the home page) whose client accepts HTML."""
    path = request.url.path
    page = path == "/" or path.startswith(UI_PREFIXES)
    return page and "text/html" in request.headers.get("accept", "")


def html_error(request: Request, exc: HubError) -> Response:
    """Redirect to the login page when a session is needed, else an error page in French."""
    if exc.slug == "login-required":
        return RedirectResponse(exc.detail, status_code=303)
    context = {"status": exc.status, "detail": exc.detail, "principal": None}
    return templates.TemplateResponse(request, "error.html", context, status_code=exc.status)


def error_page(request: Request, exc: HubError) -> Response | None:
    """The page answering ``exc`` for a browser page request; None for an API request
    (registered with ``hub.errors.install_error_handlers`` by ``hub.app``)."""
    return html_error(request, exc) if wants_html(request) else None
