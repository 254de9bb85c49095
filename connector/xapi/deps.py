"""FastAPI dependencies of the xAPI routes: the LRS and the authenticated, versioned call.

Both are coroutines: they never block, and FastAPI would run a plain function in its
thread pool, a thread hop per dependency and request.
"""

from __future__ import annotations

from fastapi import Request

from connector.xapi.http import VERSION_HEADER, check_basic_auth, resolve_version
from connector.xapi.service import Lrs


async def lrs(request: Request) -> Lrs:
    """The :class:`Lrs` of the application."""
    service: Lrs = request.app.state.lrs
    return service


async def xapi_call(request: Request) -> str:
    """Authenticate (HTTP Basic) and resolve the xAPI version; returns the version."""
    service: Lrs = request.app.state.lrs
    check_basic_auth(request.headers.get("authorization"), service.settings)
    version = resolve_version(request.headers.get(VERSION_HEADER))
    request.state.xapi_version = version
    return version
