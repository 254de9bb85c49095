"""Attach the data-plane adapters (object store, event bus) to a hub context."""

from __future__ import annotations

from hub.bus.factory import make_bus
from hub.context import HubContext
from hub.storage.factory import make_store


def attach_data_plane(ctx: HubContext) -> HubContext:
    """Set ``ctx.store`` and ``ctx.bus`` from the settings (keeping any already set) and
    register their health checks."""
    if ctx.store is None:
        ctx.store = make_store(ctx.settings)
    if ctx.bus is None:
        ctx.bus = make_bus(ctx.settings.bus)
    ctx.health_checks.setdefault("object_store", ctx.store.health)
    ctx.health_checks.setdefault("event_bus", ctx.bus.health)
    return ctx
