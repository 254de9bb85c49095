"""The home page ``/`` (what the signed-in roles can do), the accessibility statement
``/accessibilite`` (public, as RGAA requires) and the API documentation ``/docs``
(public; Swagger UI served from ``/static/swagger-ui``, no CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from hub.auth import ALL_ROLES, public_endpoint
from hub.web.navigation import sections_for
from hub.web.session import page_roles, session_principal, ui_principal
from hub.web.templating import templates

router = APIRouter(include_in_schema=False)
PUBLIC = [Depends(public_endpoint)]
SWAGGER = "/static/swagger-ui"


@router.get("/", response_class=HTMLResponse, dependencies=[Depends(page_roles(*ALL_ROLES))])
def home(request: Request) -> Response:
    principal = ui_principal(request, *ALL_ROLES)
    context = {"principal": principal, "sections": sections_for(principal.roles)}
    return templates.TemplateResponse(request, "home.html", context)


@router.get("/accessibilite", response_class=HTMLResponse, dependencies=PUBLIC)
def accessibility(request: Request) -> Response:
    context = {"principal": session_principal(request)}
    return templates.TemplateResponse(request, "accessibilite.html", context)


@router.get("/docs", response_class=HTMLResponse, dependencies=PUBLIC)
def api_docs(request: Request) -> Response:
    return get_swagger_ui_html(
        openapi_url=str(request.app.openapi_url),
        title="Plateforme des données scolaires — API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no call to the public validator
    )
