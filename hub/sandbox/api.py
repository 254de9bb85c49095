"""Sandbox API under ``/api/v1`` (role: researcher). A job belongs to its submitter."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.model import QueryEpsilon
from hub.auth import Principal, Role, require
from hub.deps import SessionDep, hub_context
from hub.sandbox import jobs, output
from hub.sandbox.errors import ResultNotReady, ResultPurged
from hub.sandbox.retention import PURGED
from hub.sandbox.runtime import runtime_for
from hub.sandbox.schemas import JobOut, job_out

router = APIRouter(prefix="/api/v1", tags=["sandbox"])
Researcher = Annotated[Principal, Depends(require(Role.RESEARCHER))]


class QueryIn(BaseModel):
    """A query to run on the project's views."""

    model_config = ConfigDict(extra="forbid")
    sql: str = Field(min_length=1, max_length=100_000, description="One SELECT statement.")
    purpose: str | None = Field(default=None, max_length=2000, description="Why (audited).")
    epsilon: QueryEpsilon | None = Field(
        default=None,
        description="Differential privacy: the ε this query spends (default: the contract's "
        "epsilon_per_query; at most its epsilon_max_per_query). More ε, less noise.",
    )


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"


@router.post("/projects/{project_id}/queries", status_code=202, response_model=JobOut)
def submit_query(
    project_id: str, body: QueryIn, request: Request, session: SessionDep, who: Researcher
) -> JobOut:
    """Queue a query (202); a refused query answers 400 ``query-refused`` with its reasons."""
    runtime = runtime_for(hub_context(request))
    job = jobs.submit(runtime, session, who, project_id, body.sql, body.purpose, body.epsilon)
    return job_out(job)


@router.post("/projects/{project_id}/queries/preview")
def preview_query(
    project_id: str, body: QueryIn, request: Request, session: SessionDep, who: Researcher
) -> dict[str, Any]:
    """Before submitting: the release path and, under differential privacy, the ε the
    query would spend and the expected noise of each released number (nothing runs,
    nothing is spent); refused like a submission."""
    runtime = runtime_for(hub_context(request))
    query = (body.sql, body.purpose, body.epsilon)
    return jobs.preview(runtime, session, who, project_id, query)


@router.get("/projects/{project_id}/queries", response_model=list[JobOut])
def list_queries(project_id: str, session: SessionDep, who: Researcher) -> list[JobOut]:
    """The caller's jobs on this project, newest first."""
    return [job_out(j) for j in jobs.list_jobs(session, who, project_id)]


class BudgetOut(BaseModel):
    """A project's privacy budget (ε, basic composition over its DP releases)."""

    project_id: str
    epsilon_total: float
    epsilon_spent: float
    epsilon_remaining: float
    delta_spent: float
    releases: int


@router.get("/projects/{project_id}/budget", response_model=BudgetOut)
def get_budget(
    project_id: str, request: Request, session: SessionDep, who: Researcher
) -> BudgetOut:
    """The project's privacy budget: total, spent by its releases, remaining."""
    runtime = runtime_for(hub_context(request))
    spent = jobs.privacy_budget(runtime, session, who, project_id)
    return BudgetOut(project_id=project_id, **spent.as_dict())


@router.get("/queries/{job_id}", response_model=JobOut)
def get_query(job_id: str, session: SessionDep, who: Researcher) -> JobOut:
    """Status (queued, running, succeeded, failed, refused, cancelled), timings, resources."""
    return job_out(jobs.get_job(session, who, job_id))


@router.post("/queries/{job_id}/cancel", response_model=JobOut)
def cancel_query(job_id: str, request: Request, session: SessionDep, who: Researcher) -> JobOut:
    """Cancel a queued or running job; a finished job is returned unchanged."""
    runtime = runtime_for(hub_context(request))
    return job_out(jobs.cancel(runtime, session, who, job_id))


@router.get("/queries/{job_id}/report")
def get_report(job_id: str, session: SessionDep, who: Researcher) -> dict[str, Any]:
    """How the job was released: the noise and budget spent (differential privacy), or
    the airlock's decision and its threshold (exact); the reasons of a failure."""
    job = jobs.get_job(session, who, job_id)
    if job.report is None:
        raise ResultNotReady(f"the job is {job.status}", job_status=job.status)
    return {"job_id": job.id, "status": job.status, **job.report}


@router.get("/queries/{job_id}/result")
def get_result(
    job_id: str,
    session: SessionDep,
    who: Researcher,
    format: Annotated[Format, Query()] = Format.JSON,
) -> Response:
    """The released result as JSON, CSV or Parquet (suppressed cells are null/empty)."""
    job = jobs.get_job(session, who, job_id)
    if job.result is None and (job.report or {}).get(PURGED):
        raise ResultPurged("the result was deleted at the end of its contracts' retention")
    if job.result is None:
        raise ResultNotReady(f"the job is {job.status}", job_status=job.status)
    columns, rows = job.result["columns"], job.result["rows"]
    if format is Format.CSV:
        return Response(output.to_csv(columns, rows), media_type="text/csv")
    if format is Format.PARQUET:
        return Response(
            output.to_parquet(columns, rows), media_type="application/vnd.apache.parquet"
        )
    body = {"job_id": job.id, "columns": columns, "rows": rows}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")
