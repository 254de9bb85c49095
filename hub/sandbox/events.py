"""Audit events about a query job (shared by the release paths and the airlock)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from hub.sandbox.models import QueryJob
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record


def record_job_event(
    session: Session,
    actor: Actor,
    job: QueryJob,
    action: str,
    decision: Decision,
    reasons: list[str],
    details: dict[str, Any],
) -> None:
    """Record ``action`` on ``job`` in the caller's transaction: the job is the resource,
    its project, purpose and contracts (every one, comma-joined) are the why."""
    why = Why(
        project_id=job.project_id,
        purpose=job.purpose,
        contract_id=",".join(job.contract_ids) or None,
    )
    resource = Resource("query_job", job.id)
    record(session, EventDraft(actor, action, resource, decision, reasons, why, details))
