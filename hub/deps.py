"""FastAPI dependencies shared by the routers: the request's DB session and its actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from hub.audit.trail import Actor
from hub.auth import Principal
from hub.context import HubContext
from hub.db import session_scope


def hub_context(request: Request) -> HubContext:
    ctx: HubContext = request.app.state.hub
    return ctx


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back."""
    with session_scope(hub_context(request).engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def actor_of(principal: Principal, role: str) -> Actor:
    """The audit actor for ``principal`` acting in ``role``."""
    return Actor(sub=principal.sub, role=role, org=principal.org)
