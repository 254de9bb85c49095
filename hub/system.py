"""System endpoints: health (public summary, operator details) and the built-in issuer's
JWKS (public)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from hub.auth import Principal, Role, public_endpoint, require
from hub.deps import hub_context

router = APIRouter(tags=["system"])
log = logging.getLogger("hub.health")


def _run_checks(request: Request) -> dict[str, str | None]:
    """Each component's failure reason (``None`` when healthy); failures are logged."""
    results: dict[str, str | None] = {}
    for name, check in hub_context(request).health_checks.items():
        try:
            check()
            results[name] = None
        except Exception as exc:  # a health check reports any failure
            log.warning("health check failed", extra={"component": name, "error": str(exc)})
            results[name] = f"{type(exc).__name__}: {exc}"[:300]
    return results


def _answer(results: dict[str, str | None], details: bool) -> JSONResponse:
    checks: dict[str, Any] = {}
    for name, failure in results.items():
        checks[name] = {"status": "ok" if failure is None else "degraded"}
        if details and failure is not None:
            checks[name]["detail"] = failure
    healthy = all(failure is None for failure in results.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/health", dependencies=[Depends(public_endpoint)])
def health(request: Request) -> JSONResponse:
    """``ok`` or ``degraded`` for the database, each key and each configured adapter; 503
    when any is degraded (public: no detail, see ``/api/v1/system/health``)."""
    return _answer(_run_checks(request), details=False)


@router.get("/api/v1/system/health")
def health_details(
    request: Request, _: Annotated[Principal, Depends(require(Role.OPERATOR))]
) -> JSONResponse:
    """Like ``/health`` with each failure's reason (role: operator)."""
    return _answer(_run_checks(request), details=True)


@router.get("/.well-known/jwks.json", dependencies=[Depends(public_endpoint)])
def jwks(request: Request) -> dict[str, Any]:
    """Public keys of the built-in token issuer (public)."""
    return hub_context(request).issuer.jwks()
