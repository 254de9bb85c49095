"""``GET /xapi/about``: the versions this endpoint speaks (no authentication needed)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request

from connector.errors import BadRequest
from connector.xapi.http import VERSION_HEADER, add_get_and_head, resolve_version

router = APIRouter(prefix="/xapi")
VERSIONS = ["1.0.3", "2.0.0"]


def about(request: Request) -> dict[str, object]:
    """Answers in the version the request names, when it names a supported one."""
    with contextlib.suppress(BadRequest):
        request.state.xapi_version = resolve_version(request.headers.get(VERSION_HEADER))
    return {"version": VERSIONS, "extensions": {}}


add_get_and_head(router, "/about", about, "Supported xAPI versions")
