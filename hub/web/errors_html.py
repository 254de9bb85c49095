"""HTML rendering of hub errors for browser pages (the API keeps problem+json)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hub.errors import HubError, NoRoute
from hub.web.navigation import SECTIONS
from hub.web.templating import templates

UI_PREFIXES = ("/login", "/logout", "/accessibilite", *(section.path for section in SECTIONS))
API_PREFIX = "/api/"
NO_ROUTE_DETAILS = {
    404: "Aucune page ne se trouve à cette adresse : vérifiez-la, ou repartez de l'accueil.",
    405: "Cette adresse ne s'ouvre pas de cette façon : repartez de l'accueil.",
}
NO_ROUTE_DEFAULT = "Cette adresse ne peut pas être ouverte : repartez de l'accueil."


def wants_html(request: Request, exc: HubError) -> bool:
    """A browser page request: its client accepts HTML, and the path is a UI page (or the
    home page), or no route answers it outside the API."""
    if "text/html" not in request.headers.get("accept", ""):
        return False
    path = request.url.path
    if path == "/" or path.startswith(UI_PREFIXES):
        return True
    return isinstance(exc, NoRoute) and not path.startswith(API_PREFIX)


def html_error(request: Request, exc: HubError) -> Response:
    """Redirect to the login page when a session is needed, else an error page in French."""
    if exc.slug == "login-required":
        return RedirectResponse(exc.detail, status_code=303)
    detail = exc.detail
    if isinstance(exc, NoRoute):  # the router's words are English and say nothing more
        detail = NO_ROUTE_DETAILS.get(exc.status, NO_ROUTE_DEFAULT)
    context = {"status": exc.status, "detail": detail, "principal": None}
    return templates.TemplateResponse(request, "error.html", context, status_code=exc.status)


def error_page(request: Request, exc: HubError) -> Response | None:
    """The page answering ``exc`` for a browser page request; None for an API request
    (registered with ``hub.errors.install_error_handlers`` by ``hub.app``)."""
    return html_error(request, exc) if wants_html(request, exc) else None
