"""Run the provider's reactions after an answer is sent; a failure is logged, never raised
(the consumer already has its answer; the process keeps its last durable state)."""

from __future__ import annotations

import logging

from hub.dataspace.node import Node

log = logging.getLogger("hub.dataspace")


def react_negotiation(node: Node, pid: str, trigger: str, count: int) -> None:
    try:
        node.reactions.negotiation(node, pid, trigger, count)
    except Exception:
        log.exception("reaction to %s on negotiation %s failed", trigger, pid)


def react_transfer(node: Node, pid: str, trigger: str) -> None:
    try:
        node.reactions.transfer(node, pid, trigger)
    except Exception:
        log.exception("reaction to %s on transfer %s failed", trigger, pid)
