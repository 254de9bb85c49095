"""How the connector reaches the hub (``EDH_CONNECTOR_HUB__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class HubLinkSettings(BaseModel):
    """The hub, this connector's identity there, and what it ships by default."""

    url: str = Field(default="http://127.0.0.1:8000", description="Base URL of the hub.")
    connector_id: str = Field(default="", description="Id the hub gave this connector.")
    key_file: Path | None = Field(
        default=None, description="Ed25519 private key (PEM); default <data_dir>/keys/."
    )
    contract_id: str = Field(default="", description="Contract the data are shared under.")
    dataset_id: str = Field(default="", description="Dataset of the contract to fill.")
    batch_size: int = Field(
        default=50_000, ge=1, le=1_000_000, description="Statements per batch (one sequence)."
    )
