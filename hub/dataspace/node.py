"""The hub's node of the data space: its identity, its offers and how it reacts.

``Reactions`` is the port of the provider's own moves after a consumer's message (offer,
agree, finalize, start a transfer, ...). They run after the answer is sent (the protocol
lets the provider take its time). Adapters: ``ManualReactions`` (the hub waits: its
operators and the ethics committee move the process) and the TCK mode's scripts
(``hub.dataspace.tck``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from hub.context import HubContext

DSP_PATH = "/dsp"
SERVICE_ID = "urn:edh:dsp-service"


class Reactions(Protocol):
    """The provider's reactions; each call must not raise (failures are logged)."""

    def negotiation(self, node: Node, pid: str, trigger: str, count: int) -> None:
        """After a consumer's step ``trigger`` (``requested``, ``accepted``, ``verified``)
        on negotiation ``pid``; ``count`` numbers the contract requests received."""

    def transfer(self, node: Node, pid: str, trigger: str) -> None:
        """After a consumer's ``requested`` on transfer ``pid``."""


class ManualReactions:
    """No automatic move: the process waits for the hub's people."""

    def negotiation(self, node: Node, pid: str, trigger: str, count: int) -> None:
        return None

    def transfer(self, node: Node, pid: str, trigger: str) -> None:
        return None


@dataclass
class Node:
    """What the DSP endpoints need: the hub context, offer ids, the reactions."""

    ctx: HubContext
    reactions: Reactions = field(default_factory=ManualReactions)
    offer_ids: dict[str, str] = field(default_factory=dict)
    pause_seconds: float = 0.5

    @property
    def participant_id(self) -> str:
        return self.ctx.settings.dataspace.participant_id

    @property
    def dsp_url(self) -> str:
        """The base URL of the hub's DSP endpoints (and its callback address)."""
        return self.ctx.settings.public_url.rstrip("/") + DSP_PATH

    @property
    def timeout(self) -> float:
        return self.ctx.settings.dataspace.callback_timeout_seconds

    def offer_id(self, dataset_id: str) -> str:
        """The id of the offer the hub makes for ``dataset_id``."""
        return self.offer_ids.get(dataset_id, f"urn:edh:offer:{dataset_id}")
