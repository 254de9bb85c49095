"""The DPO's audit API under ``/api/v1/audit`` (roles: dpo, operator read-only).

Every call is decided by the policy (``edh/audit/read``) and audited. Filters: ``since``,
``until`` (ISO 8601), ``actor``, ``role``, ``organisation``, ``action``, ``contract``,
``project``, ``dataset``, ``decision``, ``resource_type``, ``resource_id``; unknown
parameters or bad values answer 400 problem+json.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.alerts import alert_event
from hub.audit import alerts, proofs, service
from hub.audit.access import READERS, authorize_read, describe, refuse_change
from hub.audit.export import stream_export
from hub.audit.pupil import PURPOSE, pupil_report
from hub.audit.search import one_event, parse_filter, search_page
from hub.auth import ALL_ROLES, Principal, Role, require
from hub.deps import SessionDep, hub_context
from hub.errors import NotFound, ValidationFailed
from hub.params import EventSeq, TreeSize
from hub.trail.checkpoints import checkpoint_document, list_checkpoints, load_signer
from hub.trail.merkle import ProofUnavailable
from hub.trail.writer import Actor

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(require(*READERS))]
Dpo = Annotated[Principal, Depends(require(Role.DPO))]
Anyone = Annotated[Principal, Depends(require(*ALL_ROLES))]
PAGE_PARAMS = ("limit", "before")
MAX_LIMIT = 500


def _int(params: dict[str, str], name: str, default: int | None, lo: int, hi: int) -> int | None:
    text = params.pop(name, None)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ValidationFailed(f"{name} must be an integer between {lo} and {hi}")
    return value


@router.get("/events", summary="Search events, newest first (keyset pages)")
def search_events(request: Request, session: SessionDep, who: Reader) -> dict[str, Any]:
    """``before`` is the cursor returned as ``next_before``; ``limit`` at most 500."""
    params = dict(request.query_params)
    limit = _int(params, "limit", 50, 1, MAX_LIMIT) or 50
    before = _int(params, "before", None, 1, 2**62)
    flt = parse_filter(params)
    authorize_read(hub_context(request), session, who, describe("events", request.query_params))
    items, next_before = search_page(session, flt, limit=limit, before=before)
    return {"items": items, "next_before": next_before}


@router.get("/events/{seq}", summary="One event with its policy reasons")
def get_event(seq: EventSeq, request: Request, session: SessionDep, who: Reader) -> dict[str, Any]:
    authorize_read(hub_context(request), session, who, f"events/{seq}")
    event = one_event(session, seq)
    if event is None:
        raise NotFound(f"audit event {seq} does not exist (or was purged)")
    return event


@router.get("/events/{seq}/proof", summary="Inclusion proof of one event (RFC 6962)")
def event_proof(
    seq: EventSeq,
    request: Request,
    session: SessionDep,
    who: Reader,
    tree_size: TreeSize | None = None,
) -> dict[str, Any]:
    authorize_read(hub_context(request), session, who, f"events/{seq}/proof")
    try:
        return proofs.inclusion_proof(session, seq, tree_size)
    except ProofUnavailable as exc:
        raise ValidationFailed(str(exc)) from exc


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/x-ndjson": {}, "text/csv": {}}, "description": "Events"}
}


@router.get(
    "/export",
    summary="Export matching events as CSV or JSON Lines (streamed)",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES,
)
def export(request: Request, who: Reader) -> StreamingResponse:
    """``format`` is ``csv`` or ``jsonl`` (default); the other parameters are filters."""
    return stream_export(request, who)


@router.get("/verify", summary="Re-verify the chain, checkpoints and signatures")
def verify(request: Request, session: SessionDep, who: Reader) -> dict[str, Any]:
    ctx = hub_context(request)
    authorize_read(ctx, session, who, "verify")
    session.commit()
    return service.verify_log(ctx.engine, ctx.settings, ctx.bus).as_dict()


@router.get("/checkpoints", summary="Signed checkpoints, oldest first")
def get_checkpoints(request: Request, session: SessionDep, who: Reader) -> list[dict[str, Any]]:
    authorize_read(hub_context(request), session, who, "checkpoints")
    return [checkpoint_document(cp) for cp in list_checkpoints(session)]


@router.post("/checkpoints", status_code=201, summary="Sign a checkpoint now (DPO)")
def post_checkpoint(request: Request, session: SessionDep, who: Dpo) -> dict[str, Any]:
    ctx = hub_context(request)
    authorize_read(ctx, session, who, "checkpoints/new")
    session.commit()
    return checkpoint_document(service.checkpoint_now(ctx.engine, ctx.settings))


@router.get("/checkpoints/export", summary="Checkpoints, audit key and consistency proofs")
def export_checkpoints(request: Request, session: SessionDep, who: Reader) -> dict[str, Any]:
    ctx = hub_context(request)
    authorize_read(ctx, session, who, "checkpoints/export")
    return proofs.export_checkpoints(session, load_signer(ctx.settings))


@router.get("/consistency", summary="Consistency proof between two tree sizes")
def consistency(
    first: TreeSize, second: TreeSize, request: Request, session: SessionDep, who: Reader
) -> dict[str, Any]:
    authorize_read(hub_context(request), session, who, f"consistency/{first}/{second}")
    try:
        return proofs.consistency_proof(session, first, second)
    except ProofUnavailable as exc:
        raise ValidationFailed(str(exc)) from exc


@router.get("/alerts", summary="Alert rules and raised alerts")
def get_alerts(request: Request, session: SessionDep, who: Reader) -> dict[str, Any]:
    ctx = hub_context(request)
    authorize_read(ctx, session, who, "alerts")
    return {
        "rules": [r.__dict__ for r in alerts.rules(ctx.settings.audit)],
        "alerts": [alert_event(a) for a in alerts.list_alerts(session)],
    }


@router.post("/alerts/run", summary="Evaluate the alert rules now (DPO)")
def run_alerts(
    request: Request,
    session: SessionDep,
    who: Dpo,
    hours: Annotated[int, Query(ge=1, le=8784, description="Look back this many hours.")] = 24,
) -> list[dict[str, Any]]:
    ctx = hub_context(request)
    authorize_read(ctx, session, who, "alerts/run")
    session.commit()
    raised = service.run_alert_rules(ctx.engine, ctx.settings, ctx.bus, hours=hours)
    return [alert_event(a) for a in raised]


class PupilQuery(BaseModel):
    """The pupil's canonical xAPI identifier (never stored nor logged)."""

    model_config = ConfigDict(extra="forbid")
    identifier: str = Field(min_length=3, max_length=2000)
    purpose: str = Field(default=PURPOSE, min_length=3, max_length=500)


@router.post("/pupil-report", summary="Which projects used one pupil's data, and when (DPO)")
def post_pupil_report(
    body: PupilQuery, request: Request, session: SessionDep, who: Dpo
) -> list[dict[str, Any]]:
    ctx = hub_context(request)
    authorize_read(ctx, session, who, "pupil-report")
    actor = Actor(who.sub, str(Role.DPO), who.org)
    uses = pupil_report(ctx, session, body.identifier, actor, body.purpose)
    return [use.__dict__ for use in uses]


@router.api_route(
    "/events",
    methods=["POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
@router.api_route(
    "/events/{seq}",
    methods=["POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
def change_refused(request: Request, session: SessionDep, who: Anyone) -> None:
    """No API edits or deletes events: refused (405) and audited, whoever asks (any role)."""
    refuse_change(session, who, request.method, request.url.path)
