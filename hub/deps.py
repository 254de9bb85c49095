"""FastAPI dependencies shared by the routers: the request's DB session and its actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from hub.auth import Principal
from hub.context import HubContext
from hub.db import reader, session_scope
from hub.trail.writer import Actor


def hub_context(request: Request) -> HubContext:
    ctx: HubContext = request.app.state.hub
    return ctx


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back.
    A safe method's transaction begins deferred (``hub.db.reader``): reads do not queue
    behind SQLite's write lock."""
    engine = hub_context(request).engine
    with session_scope(reader(engine) if request.method in SAFE_METHODS else engine) as session:
        yield session


# Committed before the response is sent (scope "function"): a client that got 200 reads
# what it wrote, and a hub killed after answering has kept what it acknowledged.
SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def actor_of(principal: Principal, role: str) -> Actor:
    """The audit actor for ``principal`` acting in ``role``."""
    return Actor(sub=principal.sub, role=role, org=principal.org)
