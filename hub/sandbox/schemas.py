"""The API's view of a query job (the sandbox's API and the dataspace's pull answer it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from hub.sandbox.records import JobRecord


class JobOut(BaseModel):
    """A query job's status, timings and resources."""

    id: str
    project_id: str
    status: str
    reasons: list[str]
    sql_hash: str
    tables: list[str]
    columns: list[str]
    contract_ids: list[str]
    epsilon: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    resources: dict[str, Any]
    links: dict[str, str]


def job_out(job: JobRecord) -> JobOut:
    """``job`` as the API answers it, with its links."""
    base = f"/api/v1/queries/{job.id}"
    fields = set(JobOut.model_fields) - {"resources", "links"}
    return JobOut(
        **{name: getattr(job, name) for name in fields},
        resources=job.stats,
        links={"self": base, "result": f"{base}/result", "report": f"{base}/report"},
    )
