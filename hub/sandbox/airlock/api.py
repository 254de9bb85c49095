"""Output checkers' API under ``/api/v1/reviews/outputs`` (role: output_checker).

List the results held for review, read one (SQL, exact result, findings per cell,
reviews), approve or reject it with a mandatory comment. The policy
(``edh/sandbox/review``) refuses a checker's own query and a second review by the same
checker (403 problem+json, audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from hub.auth import Principal, Role, require
from hub.deps import SessionDep, hub_context
from hub.sandbox.airlock import service
from hub.sandbox.records import HeldRecord
from hub.sandbox.runtime import runtime_for

router = APIRouter(prefix="/api/v1/reviews/outputs", tags=["sandbox airlock"])
Checker = Annotated[Principal, Depends(require(Role.OUTPUT_CHECKER))]


class ReviewIn(BaseModel):
    """An output checker's decision: the comment (approval) or reason (rejection)."""

    model_config = ConfigDict(extra="forbid")
    comment: str = Field(min_length=1, max_length=4000, pattern=r"\S")


class ReviewOut(BaseModel):
    """One review of a held result."""

    checker: str
    decision: str
    comment: str
    created_at: datetime


class HeldSummary(BaseModel):
    """A held result in the list."""

    job_id: str
    project_id: str
    submitted_by: str
    status: str
    created_at: datetime
    approvals: int


class HeldOut(HeldSummary):
    """A held result in full: the SQL, the exact result, findings, reviews."""

    sql: str
    purpose: str | None
    contract_ids: list[str]
    result: dict[str, Any]
    findings: dict[str, Any]
    reviews: list[ReviewOut]


def _summary(held: HeldRecord) -> dict[str, Any]:
    hold = held.hold
    return {
        "job_id": hold.job_id,
        "project_id": hold.project_id,
        "submitted_by": hold.submitted_by,
        "status": hold.status,
        "created_at": hold.created_at,
        "approvals": sum(1 for r in held.reviews if r.decision == service.Action.APPROVE),
    }


def held_out(held: HeldRecord) -> HeldOut:
    """The API view of a held result."""
    return HeldOut(
        **_summary(held),
        sql=held.job.sql_text,
        purpose=held.job.purpose,
        contract_ids=held.job.contract_ids,
        result=held.hold.result,
        findings=held.findings,
        reviews=[ReviewOut.model_validate(r, from_attributes=True) for r in held.reviews],
    )


@router.get("", response_model=list[HeldSummary])
def list_pending(session: SessionDep, who: Checker) -> list[HeldSummary]:
    """Results awaiting review, oldest first."""
    return [HeldSummary(**_summary(h)) for h in service.pending(session)]


@router.get("/{job_id}", response_model=HeldOut)
def get_held(job_id: str, request: Request, session: SessionDep, who: Checker) -> HeldOut:
    """One held result with its SQL, exact result, findings and reviews (the read is
    decided by the policy and audited; never the checker's own query)."""
    return held_out(service.read(hub_context(request), session, who, job_id))


def _review(
    request: Request,
    session: Session,
    who: Principal,
    job_id: str,
    action: service.Action,
    text: str,
) -> HeldOut:
    ctx = hub_context(request)
    contracts = runtime_for(ctx).source.contracts(session)
    held = service.review(ctx, session, who, job_id, action, text, contracts)
    session.commit()
    return held_out(held)


@router.post("/{job_id}/approve", response_model=HeldOut)
def approve(
    job_id: str, body: ReviewIn, request: Request, session: SessionDep, who: Checker
) -> HeldOut:
    """Approve (comment mandatory); the second approval by another checker releases it."""
    return _review(request, session, who, job_id, service.Action.APPROVE, body.comment)


@router.post("/{job_id}/reject", response_model=HeldOut)
def reject(
    job_id: str, body: ReviewIn, request: Request, session: SessionDep, who: Checker
) -> HeldOut:
    """Reject with a reason (mandatory, shown to the researcher): it ends the review."""
    return _review(request, session, who, job_id, service.Action.REJECT, body.comment)
