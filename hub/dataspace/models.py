"""Durable state of the protocol: negotiations (with their agreement), transfers, and
the messages the hub owes its counterparties (``dsp_delivery``).

Each row is one process as this hub sees it, in its ``role``; ``id`` is this hub's
process id (the ``providerPid`` when the hub is the provider, else the ``consumerPid``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from hub.columns import timestamp_column, utcnow


class DspNegotiation(SQLModel, table=True):
    """A contract negotiation; once FINALIZED its ``agreement`` is the signed contract
    (``contract_id``, when the hub's contract area holds it)."""

    __tablename__ = "dsp_negotiation"
    id: str = Field(primary_key=True, max_length=200)
    role: str = Field(max_length=16)
    provider_pid: str = Field(max_length=200, index=True)
    consumer_pid: str = Field(max_length=200, index=True)
    counterparty: str = Field(max_length=300, description="The other participant's id.")
    state: str = Field(max_length=16)
    dataset_id: str = Field(max_length=200)
    offer: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    callback_address: str = Field(max_length=2000)
    requests: int = Field(default=0, description="Contract requests received so far.")
    agreement_id: str | None = Field(default=None, max_length=200, index=True, unique=True)
    agreement: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    contract_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class DspTransfer(SQLModel, table=True):
    """A transfer process under an agreement."""

    __tablename__ = "dsp_transfer"
    id: str = Field(primary_key=True, max_length=200)
    role: str = Field(max_length=16)
    provider_pid: str = Field(max_length=200, index=True)
    consumer_pid: str = Field(max_length=200, index=True)
    counterparty: str = Field(max_length=300)
    state: str = Field(max_length=16)
    agreement_id: str = Field(max_length=200, index=True)
    format: str = Field(max_length=200)
    callback_address: str = Field(max_length=2000)
    data_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    researcher: str | None = Field(
        default=None,
        max_length=255,
        description="The person the consumer asked for (the pull token's subject).",
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class DspParticipant(SQLModel, table=True):
    """A participant the operator trusts: its ``did:web``, the keys read from its DID
    document when it was added, and the lab it acts for (if the operator named one)."""

    __tablename__ = "dsp_participant"
    did: str = Field(primary_key=True, max_length=300)
    keys: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    organisation_id: str | None = Field(
        default=None, max_length=36, description="The lab of the registry it acts for."
    )
    added_by: str = Field(max_length=255)
    added_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class DspDelivery(SQLModel, table=True):
    """A message of one of the hub's moves, owed to a counterparty: stored with the move
    (same transaction), sent by whichever hub of the cluster claims it first
    (``hub.dataspace.courier``). ``outcome`` is set once it is settled: ``delivered``
    (the peer took it), ``refused`` (the peer answered 4xx) or ``abandoned`` (every
    attempt failed); pending until then, attempted again from ``due_at``."""

    __tablename__ = "dsp_delivery"
    seq: int | None = Field(default=None, primary_key=True)
    process_id: str = Field(max_length=200, index=True, description="The hub's process id.")
    url: str = Field(max_length=2000)
    kind: str = Field(max_length=64, description="The message type (schema).")
    audience: str = Field(max_length=300, description="The counterparty's participant id.")
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    attempts: int = Field(default=0)
    due_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    lease_until: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    outcome: str | None = Field(default=None, max_length=16, index=True)
    settled_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
