"""Audit settings (``EDH_AUDIT__...``): retention, checkpoint key, alert thresholds and the
periods of the tasks the hub runs itself."""

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
    scheduler_enabled: bool = Field(
        default=True,
        description="Run the periodic audit tasks (checkpoint, alert rules, verification, "
        "purge) in the hub process, each once per period across the hubs sharing the database.",
    )
    checkpoint_every_minutes: int = Field(
        default=10, ge=0, le=525_600, description="Sign a checkpoint this often (0 disables)."
    )
    alerts_every_minutes: int = Field(
        default=5, ge=0, le=525_600, description="Evaluate the alert rules this often (0 disables)."
    )
    verify_every_minutes: int = Field(
        default=60, ge=0, le=525_600, description="Verify the whole log this often (0 disables)."
    )
    purge_every_minutes: int = Field(
        default=1440,
        ge=0,
        le=525_600,
        description="Apply the retention period this often (0 disables).",
    )
    lake_purge_every_minutes: int = Field(
        default=1440,
        ge=0,
        le=525_600,
        description="Purge the lake and quarantine past each contract's retention, and "
        "quarantine uploads never completed, this often (0 disables).",
    )
