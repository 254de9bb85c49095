"""Attach the data-space node to the app: ``app.state.dataspace``."""

from __future__ import annotations

from hub.context import HubContext
from hub.dataspace import tck
from hub.dataspace.node import Node
from hub.errors import ServiceUnavailable
from hub.keys import load_or_create_key


def build_node(ctx: HubContext) -> Node:
    """The hub's node; in TCK mode (dev mode only) seeded and scripted for the TCK."""
    settings = ctx.settings
    key = load_or_create_key(settings.signing_key_path(), allow_create=settings.dev_mode)
    node = Node(ctx, key=key)
    if settings.dataspace.tck_mode:
        if not settings.dev_mode:
            raise ServiceUnavailable("EDH_DATASPACE__TCK_MODE needs EDH_DEV_MODE=true")
        tck.install(node, settings.dataspace.tck_properties)
    return node
