"""Attach the data-space node to the app: ``app.state.dataspace``."""

from __future__ import annotations

from hub.context import HubContext
from hub.contracts.public import CONTRACT_CHANGED
from hub.dataspace import contract_gate, tck
from hub.dataspace.node import Node
from hub.errors import ServiceUnavailable
from hub.keys import load_or_create_key


def build_node(ctx: HubContext) -> Node:
    """The hub's node, listening to contract changes (a contract's suspension or
    termination withdraws its agreements); in TCK mode (dev mode only) seeded and
    scripted for the TCK."""
    settings = ctx.settings
    key = load_or_create_key(settings.signing_key_path(), allow_create=settings.dev_mode)
    node = Node(ctx, key=key)
    if ctx.bus is not None:
        ctx.bus.subscribe(CONTRACT_CHANGED, "dataspace", contract_gate.on_contract_changed(node))
    if settings.dataspace.tck_mode:
        if not settings.dev_mode:
            raise ServiceUnavailable("EDH_DATASPACE__TCK_MODE needs EDH_DEV_MODE=true")
        tck.install(node, settings.dataspace.tck_properties)
    return node
