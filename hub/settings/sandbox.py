"""Sandbox settings: ``Settings.sandbox`` of the hub's settings tree (``hub.config``), read
from the environment as ``EDH_SANDBOX__<NAME>``."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field, model_validator


class SandboxSettings(BaseModel):
    """Where the lake is, where contracts come from, the limits of every query, and the
    parameters of the release under differential privacy that are not contract terms."""

    lake_dir: Path | None = Field(
        default=None, description="Lake root; default the local object store's lake/."
    )
    contracts_file: Path | None = Field(
        default=None,
        description="JSON file of contract documents (interface 3 shape) to use instead of "
        "the contracts service (trial hubs only).",
    )
    memory_limit: str = Field(default="1GB", description="DuckDB memory limit per query.")
    threads: int = Field(default=2, ge=1, le=64, description="DuckDB threads per query.")
    max_temp_directory_size: str = Field(default="2GB", description="Spill space per query.")
    deadline_s: float = Field(default=30.0, gt=0, le=3600, description="Wall-clock limit.")
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000, description="Result row limit.")
    concurrency: int = Field(default=2, ge=1, le=32, description="Queries run at once.")
    max_sql_chars: int = Field(default=20_000, ge=100, description="Longest SQL text accepted.")
    dp_delta: float = Field(
        default=1e-6,
        gt=0,
        le=1e-3,
        description="Differential privacy: the probability, per query, that a cell held by "
        "few pupils passes the noisy threshold (δ).",
    )
    dp_max_cells_per_pupil: int = Field(
        default=12,
        ge=1,
        le=100,
        description="Differential privacy: the most cells one pupil adds to in one query "
        "(noise grows with it; 1 when the query reads one row per pupil).",
    )
    release_tick_s: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="A job's end is visible to its researcher only on this grid of seconds "
        "after its start; reported times are rounded up to it (hides how long a run took).",
    )
    release_min_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="A job's end is visible to its researcher no earlier than this many "
        "seconds after its start, whatever its run took.",
    )
    heartbeat_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="How often a hub renews the lease of its jobs and looks for orphaned "
        "ones (seconds).",
    )
    lease_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A job whose hub has not renewed its lease for this long is taken over "
        "by another hub (seconds; the same on every hub, at least twice heartbeat_s).",
    )

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> Self:
        if self.lease_s < 2 * self.heartbeat_s:
            raise ValueError("lease_s must be at least twice heartbeat_s")
        return self
