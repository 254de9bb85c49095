"""FastAPI dependencies that put a policy decision in front of an endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from hub.auth import Principal, Role, require
from hub.deps import SessionDep, actor_of, hub_context
from hub.enforcement.enforce import check
from hub.trail.writer import Resource, Why

ADMIN_REGISTRY = "edh/admin/registry"


def operator_action(decision: str = ADMIN_REGISTRY) -> Callable[..., Principal]:
    """A dependency for operator endpoints: the caller must hold the operator role (401/403
    from ``require``) and ``decision`` must allow the action (403 with the policy's
    reasons otherwise). The decision is audited either way; returns the principal."""

    def dependency(
        request: Request,
        session: SessionDep,
        who: Annotated[Principal, Depends(require(Role.OPERATOR))],
    ) -> Principal:
        route = request.scope.get("route")
        action = f"{request.method} {getattr(route, 'path', request.url.path)}"
        check(
            hub_context(request),
            session,
            decision,
            {"action": action},
            actor_of(who, Role.OPERATOR),
            Resource("endpoint", action),
            Why(),
        )
        return who

    return dependency
