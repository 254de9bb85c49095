"""FastAPI dependencies of the xAPI routes: the LRS and the authenticated, versioned call."""

from __future__ import annotations

from fastapi import Request

from connector.xapi.http import VERSION_HEADER, check_basic_auth, resolve_version
from connector.xapi.service import Lrs


def lrs(request: Request) -> Lrs:
    """The :class:`Lrs` of the application."""
    service: Lrs = request.app.state.lrs
    return service


def xapi_call(request: Request) -> str:
    """Authenticate (HTTP Basic) and resolve the xAPI version; returns the version."""
    service = lrs(request)
    check_basic_auth(request.headers.get("authorization"), service.settings)
    version = resolve_version(request.headers.get(VERSION_HEADER))
    request.state.xapi_version = version
    return version
