"""List an app's HTTP routes with their full paths, methods and dependants.

FastAPI ≥ 0.16x keeps included routers as ``_IncludedRouter`` objects instead of
flattening them; this walks both shapes so tests can inspect every endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    dependant: Any
    response_class: Any = None


def _info(route: Any) -> RouteInfo:
    response_class = getattr(route, "response_class", None)
    response_class = getattr(response_class, "value", response_class)  # FastAPI's default
    return RouteInfo(route.path, frozenset(route.methods or ()), route.dependant, response_class)


def iter_routes(routes: list[Any]) -> Iterator[RouteInfo]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            yield from (_info(ctx) for ctx in route.effective_route_contexts())
        elif hasattr(route, "dependant"):
            yield _info(route)


def api_routes(app: Any, prefix: str = "/api/") -> list[RouteInfo]:
    """Every route under ``prefix``."""
    return [r for r in iter_routes(app.routes) if r.path.startswith(prefix)]


def page_routes(app: Any) -> list[RouteInfo]:
    """Every web page: the ``GET`` routes answering HTML."""
    routes = iter_routes(app.routes)
    return [r for r in routes if "GET" in r.methods and r.response_class is HTMLResponse]


def declared_roles(dependant: Any) -> tuple[str, ...] | None:
    """The roles of the ``require(...)`` dependency of an endpoint, searched recursively."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(str(r) for r in roles)
        nested = declared_roles(dep)
        if nested is not None:
            return nested
    return None


def has_dependency(dependant: Any, call: Any) -> bool:
    """True when ``call`` is among the dependencies of an endpoint, searched recursively."""
    return any(dep.call is call or has_dependency(dep, call) for dep in dependant.dependencies)
