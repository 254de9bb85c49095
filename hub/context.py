"""The running hub's shared objects (settings, database, identity, adapters)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.engine import Engine

from hub.auth import (
    AUTH_FAILED,
    UNAUTHENTICATED,
    Principal,
    Role,
    TokenIssuer,
    TokenVerifier,
    claimed_subject,
)
from hub.bus.port import EventBus
from hub.config import Settings
from hub.db import ping
from hub.policy.port import PolicyEngine
from hub.storage.port import ObjectStore
from hub.trail.writer import Actor, Decision, EventDraft, Resource, record_now

HealthCheck = Callable[[], None]
"""A health check raises (any exception) when its component is unhealthy."""


@dataclass
class HubContext:
    """What every request handler may need; stored as ``app.state.hub``."""

    settings: Settings
    engine: Engine
    issuer: TokenIssuer
    verifier: TokenVerifier
    policy: PolicyEngine | None = None
    bus: EventBus | None = None
    store: ObjectStore | None = None
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.health_checks.setdefault("database", lambda: ping(self.engine))

    def audit_denial(
        self, principal: Principal, required: tuple[Role, ...], request: Request
    ) -> None:
        """Record a role refusal in its own transaction (the request itself fails)."""
        draft = EventDraft(
            actor=Actor(principal.sub, principal.acting_role(required), principal.org),
            action="access.denied",
            resource=Resource("endpoint", f"{request.method} {request.url.path}"),
            decision=Decision.DENY,
            reasons=[f"role required: one of {', '.join(required)}"],
        )
        record_now(self.engine, draft)

    def audit_auth_failure(self, request: Request, token: str | None, reason: str) -> None:
        """Record a failed authentication (a 401): the subject the token claims (unverified,
        ``unknown`` when none), the source address as the resource, the endpoint and
        the reason; the ``auth-failure-burst`` alert rule counts them per source and
        per subject."""
        draft = EventDraft(
            actor=Actor(claimed_subject(token), UNAUTHENTICATED),
            action=AUTH_FAILED,
            resource=Resource("source", request.client.host if request.client else "unknown"),
            decision=Decision.DENY,
            reasons=[reason[:200]],
            details={"endpoint": f"{request.method} {request.url.path}"[:300]},
        )
        record_now(self.engine, draft)
