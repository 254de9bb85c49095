"""The hub's node of the data space: its identity, its offers and how it reacts.

``Reactions`` is the port of the provider's own moves after a consumer's message (offer,
agree, finalize, start a transfer, ...). They run after the answer is sent (the protocol
lets the provider take its time). Adapters: ``HubReactions`` (the hub's own rules,
with the ethics committee's gate before an agreement) and the TCK mode's scripts
(``hub.dataspace.tck``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from contracts.dsp.vocab import Message
from hub.context import HubContext
from hub.dataspace.courier import REFUSED, Courier, enqueue
from hub.dataspace.did import did_for, sign_token
from hub.dataspace.outbox import DeliveryFailed, join

DSP_PATH = "/dsp"
SERVICE_ID = "urn:edh:dsp-service"


class Reactions(Protocol):
    """The provider's reactions; each call must not raise (failures are logged)."""

    def negotiation(self, node: Node, pid: str, trigger: str, count: int) -> None:
        """After a consumer's step ``trigger`` (``requested``, ``accepted``, ``verified``)
        on negotiation ``pid``; ``count`` numbers the contract requests received."""

    def transfer(self, node: Node, pid: str, trigger: str) -> None:
        """After a consumer's ``requested`` on transfer ``pid``."""


class HubReactions:
    """The hub outside TCK mode. As provider it waits for the ethics committee between the
    consumer's request (or acceptance) and its agreement (``agree`` by an ethics
    reviewer), finalizes a verified agreement and starts a granted transfer; as consumer it
    verifies the agreement it receives."""

    def negotiation(self, node: Node, pid: str, trigger: str, count: int) -> None:
        from hub.dataspace import negotiation

        with Session(node.ctx.engine) as session:
            if trigger == "verified":
                negotiation.finalize(node, session, pid)
            elif trigger == "agreed":
                negotiation.verify(node, session, pid)

    def transfer(self, node: Node, pid: str, trigger: str) -> None:
        from hub.dataspace import transfer

        if trigger == "requested":
            with Session(node.ctx.engine) as session:
                transfer.start(node, session, pid)


@dataclass
class Node:
    """What the DSP endpoints need: the hub context, offer ids, the reactions."""

    ctx: HubContext
    key: Ed25519PrivateKey | None = None
    reactions: Reactions = field(default_factory=HubReactions)
    offer_ids: dict[str, str] = field(default_factory=dict)
    pause_seconds: float = 0.5

    @property
    def participant_id(self) -> str:
        return self.ctx.settings.dataspace.participant_id or self.did

    @property
    def dsp_url(self) -> str:
        """The base URL of the hub's DSP endpoints (and its callback address)."""
        return self.ctx.settings.public_url.rstrip("/") + DSP_PATH

    @property
    def timeout(self) -> float:
        return self.ctx.settings.dataspace.callback_timeout_seconds

    @property
    def did(self) -> str:
        """The hub's ``did:web`` (from its public URL)."""
        return did_for(self.ctx.settings.public_url)

    def authorization(self, audience: str, actor: str | None = None) -> str | None:
        """The ``Authorization`` header of a message to ``audience``: a token signed by
        the hub's key (none without a key), on behalf of the person ``actor`` if named."""
        if self.key is None:
            return None
        return f"Bearer {sign_token(self.key, self.did, audience, actor)}"

    @cached_property
    def courier(self) -> Courier:
        """The durable delivery of the hub's messages (``hub.dataspace.courier``)."""
        return Courier(self.ctx.engine, self.ctx.settings.dataspace, self.authorization)

    def deliver(
        self,
        session: Session,
        process_id: str,
        address: tuple[str, str],
        kind: Message,
        body: dict[str, Any],
        audience: str,
    ) -> None:
        """Commit the caller's move on ``process_id`` with its message to the participant
        ``audience`` at ``address`` (base, path), then send it once now; a peer briefly
        down gets it later from the courier (of this hub or another). Raises
        ``DeliveryFailed`` when the peer refused it (a 4xx answer)."""
        row = enqueue(session, process_id, join(*address), kind, body, audience)
        session.flush()
        seq, url = row.seq, row.url  # read before the commit: after it, a read of the
        session.commit()  # session would open a (SQLite: write-locking) transaction
        assert seq is not None
        if self.courier.attempt(seq) == REFUSED:
            raise DeliveryFailed(f"{kind} to {url}: refused by the peer")

    def offer_id(self, dataset_id: str) -> str:
        """The id of the offer the hub makes for ``dataset_id``."""
        return self.offer_ids.get(dataset_id, f"urn:edh:offer:{dataset_id}")
