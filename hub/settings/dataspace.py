"""Settings of the data-space node (``EDH_DATASPACE__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class DataspaceSettings(BaseModel):
    """The hub's identity in the data space and the TCK test mode."""

    participant_id: str | None = Field(
        default=None,
        description="The hub's participant id in the data space (catalog participantId, "
        "ODRL assigner); default: its did:web, from EDH_PUBLIC_URL.",
    )
    callback_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of a message sent to a participant."
    )
    delivery_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Attempts to deliver one of the hub's messages to a participant that "
        "is briefly down (unreachable, busy or failing), with a doubling backoff; the "
        "messages are stored with the hub's moves and survive a restart.",
    )
    delivery_backoff_seconds: float = Field(
        default=0.5, gt=0, le=60, description="Wait before the second delivery attempt."
    )
    delivery_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How often a serving hub looks for messages due to participants, "
        "including those another hub of the cluster (or a stopped one) left.",
    )
    pull_token_ttl_seconds: int = Field(
        default=3600, ge=60, le=86400, description="Lifetime of a transfer's pull access token."
    )
    tck_mode: bool = Field(
        default=False,
        description="Eclipse DSP TCK mode (dev mode only): seed what the properties name, "
        "script the provider's reactions, accept the TCK as a trusted participant.",
    )
    tck_properties: Path | None = Field(
        default=None,
        description="TCK properties file of TCK mode (default: the shipped "
        "infra/dsp-tck/tck.properties).",
    )
