"""System endpoints: health and the built-in issuer's JWKS (no authentication)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hub.deps import hub_context

router = APIRouter(tags=["system"])


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """Status of the database and of every configured adapter; 503 if any fails (public)."""
    checks: dict[str, Any] = {}
    for name, check in hub_context(request).health_checks.items():
        try:
            check()
            checks[name] = {"status": "ok"}
        except Exception as exc:  # a health check reports any failure
            checks[name] = {"status": "error", "detail": str(exc)[:300]}
    healthy = all(c["status"] == "ok" for c in checks.values())
    body = {"status": "ok" if healthy else "error", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    """Public keys of the built-in token issuer (public)."""
    return hub_context(request).issuer.jwks()
