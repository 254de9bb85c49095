"""Audit settings (``EDH_AUDIT__...``): retention, checkpoint key and alert thresholds."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class AuditSettings(BaseModel):
    """How long events are kept, where the checkpoint key lives, when alerts fire."""

    retention_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="Access events older than this are purged by whole months (CNIL: 6-12 months).",
    )
    key_file: Path | None = Field(
        default=None,
        description="PEM Ed25519 key signing checkpoints; generated under data_dir in dev mode.",
    )
    refused_burst_count: int = Field(
        default=5, ge=2, description="Refusals by one researcher that raise an alert..."
    )
    refused_burst_minutes: int = Field(default=10, ge=1, description="...within this window.")
