"""Settings of the contracts area (``EDH_CONTRACTS__*``) and of the ethics review
(``EDH_REVIEW__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class ContractSettings(BaseModel):
    """Limits applied to every contract, and the hub's own signing key."""

    max_retention_days: int = Field(
        default=365, ge=1, le=36500, description="Longest retention a contract may set."
    )
    hub_key_file: Path | None = Field(
        default=None,
        description="PEM Ed25519 key the hub countersigns contracts with; generated in dev mode.",
    )


class ReviewSettings(BaseModel):
    """The ethics committee's rules."""

    quorum: int = Field(
        default=1, ge=1, le=20, description="Distinct approvals needed before AGREED."
    )
