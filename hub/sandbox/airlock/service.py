"""The airlock's service: hold an exact result (or a failed run, which ends rejected),
list and show held results to output checkers, record their approvals and rejections,
release after two approvals.

Every step is audited in the same transaction as the change it makes:
``sandbox.output.hold`` (the job's result is held), ``sandbox.output.approve`` and
``sandbox.output.reject`` (a checker's review, with the comment), and
``sandbox.output.release`` (the second approval released it). Each review is first
decided by the policy (``edh/sandbox/review``, once per contract of the job), and the
release by ``edh/sandbox/release``, so a revoked researcher or a suspended contract
stops a result still in the airlock.

The release records the use of the pupils' data as a release under differential privacy
does (``hub.sandbox.pupil_use.record_use``, in the release's transaction): every pupil in the
scope the query ran on, per contract, so the pupil's rights record lists airlock releases
too. The hold keeps that scope (its contracts and lake objects, never shown to checkers)
until the release.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
from sqlmodel import Session, col, select

from hub.auth import Principal, Role
from hub.context import HubContext
from hub.enforcement.public import check
from hub.errors import NotFound, ValidationFailed
from hub.sandbox import authorize, rewrite, sqlcheck
from hub.sandbox.airlock import findings
from hub.sandbox.airlock.models import PENDING, REJECTED, RELEASED, OutputHold, OutputReview
from hub.sandbox.events import record_job_event
from hub.sandbox.models import QueryJob
from hub.sandbox.pupil_use import record_use
from hub.sandbox.records import HeldRecord
from hub.sandbox.scope import ContractPart, ProjectScope
from hub.trail.writer import Actor, Decision, Resource, Why

REVIEW = "edh/sandbox/review"
APPROVALS_NEEDED = 2
INTERNAL = ("request", "scope", "stats")  # what a hold keeps for its release, never shown
FAILURE = "failure"  # in a failed run's findings: its error class, shown to checkers only


class Action(StrEnum):
    """What an output checker decides."""

    READ = "read"
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class Exact:
    """A finished reviewed job's exact output, and what checking it needs."""

    checked: sqlcheck.CheckedQuery
    plan: rewrite.Rewritten | None
    scope: ProjectScope
    request: authorize.Request
    tables: list[pa.Table]
    resources: dict[str, Any]  # the run's real figures, for the DPO (audit) only


@dataclass(frozen=True)
class Held:
    """A held result with its job, the reviews so far (oldest first), and its findings
    (those of the hold, plus differencing against the project's results as they are)."""

    hold: OutputHold
    job: QueryJob
    reviews: list[OutputReview]
    findings: dict[str, Any]


def hold(session: Session, job: QueryJob, exact: Exact) -> None:
    """Hold ``job``'s exact result for review (``pending_review``): threshold applied,
    dominance findings computed. The job's own ``result`` stays empty; its ``report``
    says only that it awaits review."""
    held = _assess(exact)
    kept = {**held.findings, "stats": job.stats}
    _add_hold(session, job, held, kept, (exact.scope, exact.request))
    summary = held.findings["summary"]
    _audit(session, Actor(job.submitted_by, "researcher"), job, "sandbox.output.hold",
           Decision.INFO, ["exact result held for output checking"], summary=summary,
           resources=exact.resources)  # fmt: skip


def hold_failure(
    session: Session, job: QueryJob, cause: str, scope: ProjectScope, request: authorize.Request
) -> None:
    """Hold ``job``'s failed run for review as a result is held: whether a run fails can
    depend on one pupil's row, so the researcher learns it only from the checkers. The
    checkers see ``cause`` (an error class, never a message); a failed run has nothing
    to release, so it ends rejected, with the checker's comment (``review``)."""
    held = findings.row_level([], [])
    _add_hold(session, job, held, {**held.findings, FAILURE: cause}, (scope, request))
    _audit(session, Actor(job.submitted_by, "researcher"), job, "sandbox.output.hold",
           Decision.INFO, ["failed run held for output checking", cause])  # fmt: skip


def _add_hold(
    session: Session,
    job: QueryJob,
    held: findings.Held,
    shown: dict[str, Any],
    ran: tuple[ProjectScope, authorize.Request],
) -> None:
    """Store the hold of ``job`` (``shown``: the checker's findings, plus what the release
    needs of the run) and leave the researcher the status only: a held result's figures
    come with its release, and a failed run has none."""
    scope, request = ran
    session.add(
        OutputHold(
            job_id=job.id,
            project_id=job.project_id,
            submitted_by=job.submitted_by,
            status=PENDING,
            result={"columns": held.columns, "rows": held.rows},
            findings={**shown, "request": _request_record(request), "scope": _scope_record(scope)},
            cells=held.cells,
        )
    )
    job.status, job.report, job.stats = PENDING, {"decision": PENDING}, {}


def _request_record(request: authorize.Request) -> dict[str, Any]:
    return {**vars(request), "columns": list(request.columns)}


def _scope_record(scope: ProjectScope) -> dict[str, Any]:
    """What the release needs of ``scope`` to record the use of the pupils' data."""
    parts = [
        {"contract_id": p.contract_id, "datasets": list(p.dataset_ids), "paths": list(p.paths)}
        for p in scope.parts
    ]
    return {
        "project_id": scope.project_id,
        "min_cell_size": scope.min_cell_size,
        "row_level": scope.row_level,
        "rounding_base": scope.rounding_base,
        "parts": parts,
    }


def _scope_of(record: dict[str, Any]) -> ProjectScope:
    """The scope a hold ran on (``_scope_record``), for the record of use: neither its
    columns nor its pseudonym key are kept (the record does not need them)."""
    parts = tuple(
        ContractPart(p["contract_id"], tuple(p["datasets"]), frozenset(), tuple(p["paths"]))
        for p in record["parts"]
    )
    return ProjectScope(
        project_id=record["project_id"],
        parts=parts,
        min_cell_size=int(record["min_cell_size"]),
        row_level=bool(record["row_level"]),
        rounding_base=record["rounding_base"],
        pseudonym_key="",
    )


def _assess(exact: Exact) -> findings.Held:
    main = exact.tables[0]
    if exact.plan is None:
        return findings.row_level(main.column_names, main.to_pylist())
    scope = exact.scope
    return findings.assess(
        exact.checked,
        exact.plan,
        main.column_names,
        main.to_pylist(),
        exact.tables[-1].to_pylist(),
        scope.threshold,
        scope.rounding_base,
    )


def other_cells(session: Session, found: OutputHold) -> list[findings.OtherCell]:
    """The cells of the project's other results, released or still held."""
    rows = session.exec(
        select(OutputHold.job_id, OutputHold.status, OutputHold.cells, OutputHold.findings).where(
            OutputHold.project_id == found.project_id,
            OutputHold.job_id != found.job_id,
            col(OutputHold.status).in_((RELEASED, PENDING)),
        )
    ).all()
    others = []
    for job_id, status, cells, report in rows:
        reach = findings.Reach.of(report)
        others += [
            findings.OtherCell(
                job_id, status, int(c["n"]), [int(x) for x in c["sketch"]], c["values"], reach
            )
            for c in cells
        ]
    return others


def pending(session: Session) -> list[HeldRecord]:
    """Results awaiting review, oldest first (at most 200)."""
    holds = session.exec(
        select(OutputHold)
        .where(OutputHold.status == PENDING)
        .order_by(col(OutputHold.created_at))
        .limit(200)
    ).all()
    return [_held(session, h, history=False) for h in holds]


def get(session: Session, job_id: str) -> Held:
    """One held result (any status), its job and reviews; ``NotFound`` otherwise."""
    found = session.get(OutputHold, job_id)
    if found is None:
        raise NotFound(f"no result of job {job_id} is in the airlock")
    return _held(session, found)


def read(ctx: HubContext, session: Session, principal: Principal, job_id: str) -> HeldRecord:
    """One held result for an output checker, once the policy allows the read (never the
    checker's own query); the allowed read is in the audit log before this returns, the
    refusal too (``Forbidden``). Ends the session's transaction."""
    held = get(session, job_id)
    _decide(ctx, session, _checker(principal), held, Action.READ, stand_alone=True)
    return held


def _checker(principal: Principal) -> Actor:
    return Actor(principal.sub, str(Role.OUTPUT_CHECKER), principal.org)


def _held(session: Session, found: OutputHold, *, history: bool = True) -> Held:
    """``found`` with its job and reviews; its findings with the differencing against
    the project's other results unless ``history`` is False (a listing)."""
    job = session.get(QueryJob, found.job_id)
    assert job is not None
    reviews = session.exec(
        select(OutputReview)
        .where(OutputReview.job_id == found.job_id)
        .order_by(col(OutputReview.id))
    ).all()
    report = _findings(session, found) if history else found.findings
    return Held(found, job, list(reviews), report)


def _findings(session: Session, found: OutputHold) -> dict[str, Any]:
    report = copy.deepcopy({k: v for k, v in found.findings.items() if k not in INTERNAL})
    if report["k"] is None:
        return report
    reach = findings.Reach.of(report)
    more = findings.history(found.cells, other_cells(session, found), int(report["k"]), reach)
    for cell, extra in zip(report["cells"], more, strict=True):
        cell["findings"] += extra
    return report


def review(
    ctx: HubContext,
    session: Session,
    principal: Principal,
    job_id: str,
    action: Action,
    comment: str,
    contracts: Mapping[str, Mapping[str, Any]],
) -> HeldRecord:
    """Record ``principal``'s approval or rejection (with a comment, mandatory) of a held
    result, once the policy allows it; a rejection ends it, the second approval releases
    it. ``contracts`` are the policy documents by id (for the release decision). Raises
    ``Forbidden`` (audited by the policy) or ``NotFound``; the caller commits."""
    locked = select(OutputHold).where(OutputHold.job_id == job_id).with_for_update()
    found = session.exec(locked).first()
    if found is None:
        raise NotFound(f"no result of job {job_id} is in the airlock")
    current = _held(session, found)
    actor = _checker(principal)
    _decide(ctx, session, actor, current, action)
    if action is Action.APPROVE and FAILURE in found.findings:
        raise ValidationFailed("a failed run has no result to release: reject it with a comment")
    session.add(
        OutputReview(job_id=job_id, checker=principal.sub, decision=action, comment=comment)
    )
    job = current.job
    _audit(session, actor, job, f"sandbox.output.{action}", Decision.ALLOW, [comment])
    if action is Action.REJECT:
        _end(found, job, REJECTED)
        job.reasons = [f"rejected by output checking: {comment}"]
        job.report = {"decision": REJECTED, "reasons": job.reasons}
    elif sum(1 for r in current.reviews if r.decision == Action.APPROVE) + 1 >= APPROVALS_NEEDED:
        _release(ctx, session, actor, (found, job), contracts)
    session.flush()
    return _held(session, found)


def _decide(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    current: Held,
    action: Action,
    *,
    stand_alone: bool = False,
) -> None:
    """Ask ``edh/sandbox/review`` for each contract of the job (raises ``Forbidden``)."""
    job = current.job
    body = {
        "project_id": job.project_id,
        "action": str(action),
        "job": {
            "owner": job.submitted_by,
            "status": current.hold.status,
            "reviewers": [r.checker for r in current.reviews],
        },
    }
    for contract_id in job.contract_ids or [""]:
        why = Why(contract_id=contract_id or None, project_id=job.project_id, purpose=job.purpose)
        check(ctx, session, REVIEW, {**body, "contract_id": contract_id}, actor,
              Resource("query_job", job.id), why, stand_alone=stand_alone)  # fmt: skip


def _release(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    held: tuple[OutputHold, QueryJob],
    contracts: Mapping[str, Mapping[str, Any]],
) -> None:
    """The second approval (by ``actor``): ask ``edh/sandbox/release`` for the owner,
    then serve the result."""
    found, job = held
    stored = dict(found.findings["request"])
    request = authorize.Request(
        project_id=stored["project_id"],
        purpose=stored["purpose"],
        tables=tuple(stored["tables"]),
        columns=tuple(stored["columns"]),
        row_level=bool(stored["row_level"]),
    )
    docs = [contracts[c] for c in job.contract_ids if c in contracts]
    fewest = min((int(c["n"]) for c in found.cells), default=found.findings["k"] or 0)
    authorize.release(ctx, session, job.submitted_by, request, docs, job.id,
                      0 if request.row_level else fewest)  # fmt: skip
    _end(found, job, RELEASED)
    scope = found.findings.get("scope")  # absent from holds made before it was kept
    if scope is not None:
        record_use(ctx, session, job.id, _scope_of(scope))
    job.result, job.stats = found.result, found.findings.get("stats") or {}
    job.report = {
        "decision": RELEASED,
        "contract_ids": job.contract_ids,
        "k": found.findings["k"],
        "rounding_base": found.findings["rounding_base"],
        "summary": {
            "rows_released": found.findings["summary"]["rows_held"],
            "rows_dropped": found.findings["summary"]["rows_dropped"],
        },
    }
    reasons = ["two output checkers approved"]
    summary = job.report["summary"]
    _audit(session, actor, job, "sandbox.output.release", Decision.ALLOW, reasons, summary=summary)


def _end(found: OutputHold, job: QueryJob, status: str) -> None:
    found.status = job.status = status
    found.decided_at = datetime.now(UTC)


def _audit(
    session: Session,
    actor: Actor,
    job: QueryJob,
    action: str,
    decision: Decision,
    reasons: list[str],
    **details: Any,
) -> None:
    details = {"sql_hash": job.sql_hash, "status": job.status, **details}
    record_job_event(session, actor, job, action, decision, reasons, details)
