"""RFC 9457 problem details, shared by the hub and the connector.

Each side keeps its own exception tree (``hub.errors.HubError``,
``connector.errors.ConnectorError``), both rooted here, and answers every error with
:func:`problem_response`: one body shape (``type`` ``urn:edh:problem:<slug>``, ``title``,
``status``, ``detail``, ``instance`` and extension members), one media type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a response is made: the connector's batch commands
    from fastapi.responses import JSONResponse  # never load the web framework

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:edh:problem:"


class Problem(Exception):
    """An error a client can act on: subclasses fix ``status``, ``slug`` and ``title``;
    ``detail`` says what went wrong (never the data it was about); ``extra`` adds RFC 9457
    extension members (e.g. ``allowed``)."""

    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem+json response."""
    from fastapi.responses import JSONResponse

    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
