"""Settings of the event bus (``EDH_BUS__*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BusSettings(BaseModel):
    """In-process bus by default; ``kind=kafka`` for a Kafka-protocol cluster."""

    kind: Literal["memory", "kafka"] = Field(default="memory", description="Event bus adapter.")
    bootstrap_servers: str = Field(default="", description="Kafka bootstrap servers host:port,...")
    session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="Kafka consumer group session timeout."
    )
    connect_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How long one attempt to reach the broker waits. The hub starts after "
        "one failed attempt at most and keeps connecting in the background (bounded backoff).",
    )
    publish_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long publish waits for the broker's ack."
    )
    outbox_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the outbox relay retries events not yet published.",
    )
    outbox_retention_days: int = Field(
        default=7,
        ge=1,
        description="How long published outbox events are kept before the scheduled "
        "purge deletes them (pending events are never purged).",
    )
