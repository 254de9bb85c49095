"""Audit a refused ingest request in its own transaction (the request itself fails)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.context import HubContext
from hub.errors import HubError
from hub.ingest.gate import connector_actor
from hub.registry.public import ConnectorRecord
from hub.trail.writer import Decision, EventDraft, Resource, Why, record_now


@contextmanager
def audited_refusal(
    ctx: HubContext, connector: ConnectorRecord, action: str, resource: Resource, why: Why
) -> Iterator[None]:
    """Re-raise any ``HubError`` of the block after recording it as a DENY event."""
    try:
        yield
    except HubError as exc:
        reasons = [str(r) for r in exc.extra.get("reasons", [exc.detail])]
        draft = EventDraft(
            connector_actor(connector), action, resource, Decision.DENY, reasons, why
        )
        record_now(ctx.engine, draft)
        raise
