"""Audit settings (``EDH_AUDIT__...``): retention, checkpoint key, alert thresholds and the
periods of the tasks the hub runs itself."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class WitnessEndpoint(BaseModel):
    """An external witness (C2SP ``tlog-witness``) asked to cosign each checkpoint."""

    url: str = Field(description="Submission prefix; the hub POSTs to <url>/add-checkpoint.")
    vkey: str = Field(description="The witness's cosigner verifier key (C2SP vkey).")


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
    auth_failure_burst_count: int = Field(
        default=20,
        ge=2,
        le=1_000_000,
        description="Failed authentications (401) from one source address, or claiming one "
        "subject, that raise an alert...",
    )
    auth_failure_burst_minutes: int = Field(
        default=5, ge=1, le=1440, description="...within this window."
    )
    scheduler_enabled: bool = Field(
        default=True,
        description="Run the periodic audit tasks (checkpoint, alert rules, verification, "
        "purge) in the hub process, each once per period across the hubs sharing the database.",
    )
    checkpoint_every_minutes: int = Field(
        default=1, ge=0, le=525_600, description="Sign a checkpoint this often (0 disables)."
    )
    checkpoint_every_events: int = Field(
        default=1000,
        ge=0,
        le=10_000_000,
        description="Also sign one as soon as this many events follow the last (0 disables).",
    )
    log_origin: str = Field(
        default="edh.local/audit",
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",
        description="Origin line of the published checkpoints (C2SP tlog-checkpoint) and "
        "name of the hub's note key.",
    )
    publish_to: Literal["directory", "object-store"] = Field(
        default="directory",
        description="Witness store for signed checkpoints: a write-once directory, or the "
        "object store's write-once (object-lock) prefix.",
    )
    witness_dir: Path | None = Field(
        default=None,
        description="Write-once directory of published checkpoints; default "
        "data_dir/audit-witness (put it on storage the hub's database users cannot write).",
    )
    witness_bucket: str = Field(
        default="edh-audit",
        pattern=r"^[a-z0-9][a-z0-9.-]{2,62}$",
        description="Bucket of published checkpoints (publish_to=object-store; object lock "
        "in compliance mode, no delete for the hub: infra/minio).",
    )
    witness_prefix: str = Field(
        default="audit-witness",
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Object prefix of published checkpoints (publish_to=object-store).",
    )
    witnesses: list[WitnessEndpoint] = Field(
        default_factory=list,
        description="External witnesses cosigning each checkpoint (JSON list of {url, vkey}).",
    )
    alerts_every_minutes: int = Field(
        default=5, ge=0, le=525_600, description="Evaluate the alert rules this often (0 disables)."
    )
    verify_every_minutes: int = Field(
        default=60, ge=0, le=525_600, description="Verify the whole log this often (0 disables)."
    )
    verify_jobs: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Processes verifying the log at once on PostgreSQL (ranges of a large "
        "log, 100,000 events each at least, checked side by side); 0: one per CPU core. "
        "1 verifies in the hub process alone (also for a connection pooler that cannot "
        "share a snapshot between connections).",
    )
    purge_every_minutes: int = Field(
        default=1440,
        ge=0,
        le=525_600,
        description="Apply the retention period this often (0 disables).",
    )
    pupil_use_retention_days: int = Field(
        default=1825,
        ge=1,
        le=36_500,
        description="Days the record of use (which released query used which pupil's data, "
        "as keyed digests) is kept after the release; purged by the lake purge task. Keep it "
        "longer than the contracts' retention: it answers pupils after their data are gone.",
    )
    lake_purge_every_minutes: int = Field(
        default=1440,
        ge=0,
        le=525_600,
        description="Purge the lake, quarantine and sandbox results past each contract's "
        "retention (catalog counts follow), and quarantine uploads never completed, this "
        "often (0 disables).",
    )
