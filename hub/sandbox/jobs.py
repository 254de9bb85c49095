"""Query jobs: submit (checks, audit, queue), run (worker), release, cancel, read.

A finished job is released under differential privacy (``hub.sandbox.dp``) or, on the
reviewed path, held for the output checkers (``hub.sandbox.airlock``): exact results
never leave automatically. Every step is audited with ``hub.trail.writer.record``: the
submission decision (allow or deny with reasons, SQL hash, tables and columns), and the
outcome (release with its parameters, hold) or the failure. A failed run is released
like a result, since whether it fails can depend on one pupil's row: under differential
privacy it debits the query's ε and reads the same whatever the cause; on the reviewed
path it is held for the output checkers. A job a dead hub process left behind is resumed
(queued) or ended (running) by ``hub.sandbox.recovery``, audited the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlmodel import Session, col, select

from contracts.model import DEFAULT_EPSILON_BUDGET, ReleaseMode
from hub.auth import Principal, Role
from hub.db import session_scope
from hub.errors import Forbidden, HubError, NotFound, ValidationFailed
from hub.ingest.public import LakeObjectAltered, registered_keys
from hub.registry import public as registry
from hub.sandbox import authorize, lease, rewrite, sqlcheck, views
from hub.sandbox.airlock import service as airlock
from hub.sandbox.dp import accuracy as dp_accuracy
from hub.sandbox.dp import budget as dp_budget
from hub.sandbox.dp import release as dp_release
from hub.sandbox.dp.shape import DpPlan
from hub.sandbox.errors import QueryRefused
from hub.sandbox.events import record_job_event
from hub.sandbox.models import ACTIVE as ACTIVE
from hub.sandbox.models import QueryJob
from hub.sandbox.observed import coarse
from hub.sandbox.output import jsonable
from hub.sandbox.pupil_use import record_use
from hub.sandbox.records import JobRecord
from hub.sandbox.scope import ProjectScope, in_force, scope_for
from hub.sandbox.worker import Outcome, WorkerJob
from hub.secrets import SANDBOX_PROJECT_LABEL, derive_key
from hub.trail.writer import Actor, Decision

if TYPE_CHECKING:
    from hub.sandbox.runtime import SandboxRuntime

SUBMIT, RESUME = "sandbox.query.submit", "sandbox.query.resume"
INTERRUPTED = "interrupted by a hub restart; submit again"
RUN_FAILED = (
    "the query could not be run to the end (whatever the cause: an error, a limit, the "
    "deadline); its privacy cost was debited"
)


@dataclass(frozen=True)
class Approval:
    """What the policy allowed at submission: asked again before the release."""

    request: authorize.Request
    contracts: list[Mapping[str, Any]]
    obligations: authorize.Obligations


@dataclass(frozen=True)
class Vetted:
    """A query that passed every check, with what running and releasing it needs."""

    checked: sqlcheck.CheckedQuery
    scope: ProjectScope
    view_set: views.ViewSet
    approval: Approval


def submit(
    runtime: SandboxRuntime,
    session: Session,
    principal: Principal,
    project_id: str,
    sql: str,
    purpose: str | None,
    epsilon: float | None = None,
) -> JobRecord:
    """Vet and queue a query (``epsilon``: the ε it asks to spend under differential
    privacy, None for the contract's default); raise ``QueryRefused``/``Forbidden``
    (with ``job_id``)."""
    job = _new_job(runtime, principal, project_id, (sql, purpose, epsilon))
    try:
        vetted = _vet(runtime, session, principal, job)
    except (QueryRefused, Forbidden) as exc:
        session.rollback()
        _refuse(session, principal, job, exc, SUBMIT)
        raise
    _accept(runtime, session, principal, job, vetted, SUBMIT, "query accepted")
    return job


def preview(
    runtime: SandboxRuntime,
    session: Session,
    principal: Principal,
    project_id: str,
    query: tuple[str, str | None, float | None],
) -> dict[str, Any]:
    """What submitting ``query`` (SQL, purpose, ε) would release, without running it:
    vetted exactly as on submission (the policy's decision is audited), then, under
    differential privacy, the ε it would spend and the noise of each released number
    (``hub.sandbox.dp.accuracy``); on the reviewed path, exact results after review.
    Raises what ``submit`` raises, without recording a job."""
    job = _new_job(runtime, principal, project_id, query)
    vetted = _vet(runtime, session, principal, job)
    scope = vetted.scope
    out: dict[str, Any] = {"project_id": project_id, "release_mode": scope.release_mode.value}
    if scope.release_mode is ReleaseMode.DIFFERENTIAL_PRIVACY:
        dp_plan = dp_release.plan(vetted.checked, runtime.dp)
        out |= dp_accuracy.preview(dp_plan, scope, runtime.dp.delta)
        out["epsilon_max_per_query"] = scope.epsilon_max_per_query
        budget = dp_budget.of(session, project_id, scope.epsilon_budget)
        out["budget"] = budget.as_dict()
    return out


def _new_job(
    runtime: SandboxRuntime,
    principal: Principal,
    project_id: str,
    query: tuple[str, str | None, float | None],
) -> QueryJob:
    """A queued job for ``query`` (SQL, purpose, ε), not yet stored."""
    sql, purpose, epsilon = query
    if len(sql) > runtime.settings.max_sql_chars:
        raise ValidationFailed(f"the SQL text exceeds {runtime.settings.max_sql_chars} characters")
    return QueryJob(
        project_id=project_id,
        submitted_by=principal.sub,
        sql_text=sql,
        sql_hash=hashlib.sha256(sql.encode()).hexdigest(),
        purpose=purpose,
        epsilon=epsilon,
        status="queued",
        runner=runtime.runner_id,
        heartbeat_at=datetime.now(UTC),
    )


def resume(runtime: SandboxRuntime, job_id: str) -> None:
    """Vet again, exactly as on submission, a queued job that ``runtime`` has just
    claimed (``hub.sandbox.recovery``), then run it. When the facts refuse it now (a
    contract suspended, an accreditation revoked...), it ends refused with the reasons."""
    with session_scope(runtime.ctx.engine) as session:
        job = session.get(QueryJob, job_id)
        if job is None or job.status != "queued" or job.runner != runtime.runner_id:
            return
        principal = Principal(sub=job.submitted_by, roles=frozenset({str(Role.RESEARCHER)}))
        try:
            vetted = _vet(runtime, session, principal, job)
        except HubError as exc:
            session.rollback()
            if _held(session, job_id, runtime.runner_id):
                _refuse(session, None, job, exc, RESUME)
            return
        _accept(runtime, session, None, job, vetted, RESUME, "query resumed after a hub restart")


def _vet(runtime: SandboxRuntime, session: Session, principal: Principal, job: QueryJob) -> Vetted:
    """Check ``job`` (SQL, scope, columns, policy decision) and fill in its purpose;
    raise ``QueryRefused``/``Forbidden`` (``NotFound`` for an unknown project)."""
    project = registry.get_project(session, job.project_id)
    job.purpose = job.purpose or project.purpose
    docs = _project_contracts(runtime, session, job.project_id)
    scope = _scope_or_refusal(runtime, session, principal, job, docs)
    checked = sqlcheck.check(job.sql_text, views.VIEW_NAMES, row_level=scope.row_level)
    view_set = views.build(scope)
    _check_columns(checked, view_set, scope)
    req = authorize.request(job.project_id, job.purpose, checked, view_set, job.epsilon)
    granted = authorize.query(runtime.ctx, session, principal, req, docs, job.id)
    scope = replace(scope, **vars(granted))
    if scope.release_mode is ReleaseMode.DIFFERENTIAL_PRIVACY:
        dp_release.vet(session, checked, scope, runtime.dp)
    elif job.epsilon is not None:
        raise QueryRefused(
            "epsilon applies to the release under differential privacy only; this project's "
            "results are released exactly after review",
            reasons=["epsilon is not used on the reviewed release path"],
        )
    return Vetted(checked, scope, view_set, Approval(req, docs, granted))


def _accept(
    runtime: SandboxRuntime,
    session: Session,
    principal: Principal | None,
    job: QueryJob,
    vetted: Vetted,
    action: str,
    reason: str,
) -> None:
    """Store the vetted job with its audit event (``action``), commit, and queue it."""
    job.tables, job.columns = list(vetted.checked.tables), list(vetted.checked.columns)
    job.contract_ids = list(vetted.scope.contract_ids)
    session.add(job)
    _audit(session, principal, job, action, Decision.ALLOW, [reason])
    session.commit()
    runtime.submit(job.id, _execute, runtime, job.id, vetted)


def _held(session: Session, job_id: str, runner: str) -> bool:
    """Lock the job's row; True while it is still queued and held by ``runner``."""
    job = session.exec(select(QueryJob).where(QueryJob.id == job_id).with_for_update()).one()
    return job.status == "queued" and job.runner == runner


def _scope_or_refusal(
    runtime: SandboxRuntime,
    session: Session,
    principal: Principal,
    job: QueryJob,
    docs: list[Mapping[str, Any]],
) -> ProjectScope:
    """The project's scope; when no contract is in force, the policy explains why."""
    try:
        return _scope(runtime, session, job.project_id, docs)
    except Forbidden:
        bare = authorize.Request(job.project_id, job.purpose, (), (), False)
        authorize.query(runtime.ctx, session, principal, bare, docs, job.id)
        raise


def _project_contracts(
    runtime: SandboxRuntime, session: Session, project_id: str
) -> list[Mapping[str, Any]]:
    """The project's contracts the policy decides on: those in force, else (to explain
    the refusal) every contract of the project."""
    mine = [
        d for d in runtime.source.contracts(session).values() if d.get("project_id") == project_id
    ]
    today = datetime.now(UTC).date()
    return [d for d in mine if in_force(d, today)] or mine


def _scope(
    runtime: SandboxRuntime,
    session: Session,
    project_id: str,
    docs: list[Mapping[str, Any]],
) -> ProjectScope:
    secret = derive_key(runtime.ctx.settings.hub_secret, SANDBOX_PROJECT_LABEL)
    documents = {str(d["id"]): d for d in docs}
    registered = partial(registered_keys, session)
    return scope_for(project_id, documents, runtime.lake, secret, date.today(), registered)


def _check_columns(
    checked: sqlcheck.CheckedQuery, view_set: views.ViewSet, scope: ProjectScope
) -> None:
    missing = sorted(set(checked.tables) - set(view_set.columns))
    if missing:
        raise QueryRefused(
            f"views not available to this project: {', '.join(missing)}",
            reasons=[f"view {m!r} is not covered by the project's contracts" for m in missing],
        )
    reasons = views.field_refusals(checked, view_set, scope)
    if reasons:
        raise QueryRefused("; ".join(reasons), reasons=reasons)


def _refuse(
    session: Session, principal: Principal | None, job: QueryJob, exc: HubError, action: str
) -> None:
    """End ``job`` refused with the reasons of ``exc`` (audited as ``action``) and commit;
    the caller rolled back whatever the refused checks had started."""
    job.status = "refused"
    job.reasons = [str(r) for r in exc.extra.get("reasons") or [exc.detail]]
    job.finished_at = datetime.now(UTC)
    job.report = {"decision": "refused", "reasons": [exc.detail]}
    session.add(job)
    _audit(session, principal, job, action, Decision.DENY, [exc.detail])
    session.commit()
    exc.extra["job_id"] = job.id


def _audit(
    session: Session,
    principal: Principal | None,
    job: QueryJob,
    action: str,
    decision: Decision,
    reasons: list[str],
    **details: Any,
) -> None:
    actor = (
        Actor(principal.sub, "researcher", principal.org)
        if principal
        else Actor(job.submitted_by, "researcher")
    )
    body = {
        "sql": job.sql_text,
        "sql_hash": job.sql_hash,
        "tables": job.tables,
        "columns": job.columns,
        "status": job.status,
        **details,
    }
    record_job_event(session, actor, job, action, decision, reasons, body)


def _execute(runtime: SandboxRuntime, job_id: str, vetted: Vetted) -> None:
    """Run the job's worker, then finish it at its release tick (``observed``): the
    job stays ``running`` (and holds its executor slot) until then, whatever its run took."""
    started = datetime.now(UTC)
    with session_scope(runtime.ctx.engine) as session:
        if not lease.start(session, job_id, runtime.runner_id, started):
            return  # cancelled meanwhile, or taken over by another hub
        job = session.get(QueryJob, job_id)
        assert job is not None
        sql = job.sql_text
    checked, scope, view_set = vetted.checked, vetted.scope, vetted.view_set
    plan: rewrite.Rewritten | DpPlan | None = None
    if scope.release_mode is ReleaseMode.DIFFERENTIAL_PRIVACY:
        plan = dp_release.plan(checked, runtime.dp)
    elif checked.aggregated:
        plan = rewrite.plan(checked)
    queries = plan.queries if plan else (sql,)
    work = WorkerJob(
        view_set.ddl_for(checked.views_named),
        scope.paths,
        queries,
        runtime.limits(job_id),
        scope.pseudonym_key,
        runtime.s3,
    )
    outcome = _read_verified(runtime, job_id, work, scope)
    due = runtime.tick.due(started, datetime.now(UTC))
    runtime.tick.wait_until(due)
    with runtime.lock, session_scope(runtime.ctx.engine) as session:
        locked = select(QueryJob).where(QueryJob.id == job_id).with_for_update()
        job = session.exec(locked).first()
        if job is None or job.status != "running":
            return
        job.finished_at = due
        _finish(runtime, session, job, (checked, plan, scope, vetted.approval), outcome)


def _read_verified(
    runtime: SandboxRuntime, job_id: str, work: WorkerJob, scope: ProjectScope
) -> Outcome:
    """Run the worker on objects verified right before it (fingerprints pinned) and still
    unchanged after it; otherwise the outcome is a failure (``lake-object-altered``, the
    DPO alerted) and nothing the worker read is released."""
    try:
        pinned = runtime.verified.pin(scope.parts)
        outcome = runtime.pool.run(
            work, on_start=lambda p: runtime.processes.__setitem__(job_id, p)
        )
        runtime.processes.pop(job_id, None)
        runtime.verified.unchanged(scope.parts, pinned)
    except LakeObjectAltered as exc:
        return Outcome("error", message=exc.slug)
    return outcome


def interrupt(session: Session, job_id: str) -> None:
    """End a running job that a dead hub process left behind as failed (``INTERRUPTED``),
    audited; the caller has claimed it (``lease.claim``) and commits. It is not run again:
    its worker may be what brought the hub down, and it released nothing (a release
    commits with the job's success)."""
    job = session.get(QueryJob, job_id)
    assert job is not None
    job.status, job.reasons, job.finished_at = "failed", [INTERRUPTED], datetime.now(UTC)
    job.report = {"decision": "failed", "reasons": [INTERRUPTED]}
    _audit(session, None, job, "sandbox.query.failed", Decision.INFO, [INTERRUPTED])


def _finish(
    runtime: SandboxRuntime,
    session: Session,
    job: QueryJob,
    work: tuple[sqlcheck.CheckedQuery, rewrite.Rewritten | DpPlan | None, ProjectScope, Approval],
    outcome: Outcome,
) -> None:
    checked, plan, scope, approval = work
    job.stats = coarse(outcome.stats, runtime.tick)
    if outcome.status != "ok":
        _failed_run(session, job, (plan, scope, approval), outcome.message)
        return
    tables = [pa.ipc.open_stream(ipc).read_all() for ipc in outcome.ipc]
    if isinstance(plan, DpPlan):  # planned only under differential privacy
        rows = tables[0].to_pylist()
        _release_dp(runtime, session, job, (plan, scope, approval), (rows, outcome.stats))
        return
    # exact results (reviewed release path) leave only through the airlock
    exact = airlock.Exact(checked, plan, scope, approval.request, tables, outcome.stats)
    airlock.hold(session, job, exact)


def _failed_run(
    session: Session,
    job: QueryJob,
    work: tuple[rewrite.Rewritten | DpPlan | None, ProjectScope, Approval],
    cause: str,
) -> None:
    """A run that failed (error, deadline, limit) may have failed because of one pupil's
    row, so its failure is released like a result. Under differential privacy it debits
    the query's ε and reads the same whatever the cause (``RUN_FAILED``); on the reviewed
    path it is held for the output checkers, who alone see its cause. The audit keeps
    the cause for the DPO."""
    plan, scope, approval = work
    job.stats = {}  # a failed run's figures (how far it got) would tell where it failed
    if not isinstance(plan, DpPlan):
        airlock.hold_failure(session, job, cause, scope, approval.request)
        return
    spent = (scope.epsilon_per_query, 0.0)
    details = {"mechanism": "failed run", "measures": [], "steps": []}
    try:
        left = dp_budget.debit(session, job.project_id, job.id, spent, scope.epsilon_budget,
                               details)  # fmt: skip
    except dp_budget.BudgetSpent as exc:  # as a release the budget cannot pay
        _withhold(session, job.id, exc)
        return
    job.status, job.reasons = "failed", [RUN_FAILED]
    job.report = {"decision": "failed", "reasons": [RUN_FAILED], "epsilon": spent[0],
                  "budget": left.as_dict()}  # fmt: skip
    _audit(session, None, job, "sandbox.query.failed", Decision.INFO, [cause],
           epsilon=spent[0], budget=left.as_dict())  # fmt: skip


def _release_dp(
    runtime: SandboxRuntime,
    session: Session,
    job: QueryJob,
    work: tuple[DpPlan, ProjectScope, Approval],
    run: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    """Release under differential privacy the run's rows: noise, debit the budget, ask
    the policy; the audit keeps the run's real resources for the DPO."""
    plan, scope, approval = work
    rows, resources = run
    released = dp_release.release(rows, plan, scope, runtime.dp)
    spent = (released.spend.epsilon, released.spend.delta)
    kept = ("mechanism", "max_cells_per_pupil", "pseudonyms_per_person", "measures", "steps")
    details = {k: released.report[k] for k in kept}
    fewest = min((int(r[i]) for r in released.rows for i in plan.pupil_items), default=0)
    try:
        authorize.release(
            runtime.ctx, session, job.submitted_by, approval.request, approval.contracts, job.id,
            max(fewest, scope.min_cell_size),
        )  # fmt: skip
        total = scope.epsilon_budget
        left = dp_budget.debit(session, job.project_id, job.id, spent, total, details)
    except (Forbidden, dp_budget.BudgetSpent) as exc:
        _withhold(session, job.id, exc)
        return
    job.status = "succeeded"
    record_use(runtime.ctx, session, job.id, scope)
    job.result = {"columns": released.columns, "rows": jsonable(released.rows)}
    job.report = {**released.report, "contract_ids": job.contract_ids, "budget": left.as_dict()}
    _audit(
        session, None, job, "sandbox.query.release", Decision.ALLOW, ["differential privacy"],
        epsilon=spent[0], delta=spent[1], budget=left.as_dict(), resources=resources, **details,
    )  # fmt: skip


def _withhold(session: Session, job_id: str, exc: HubError) -> None:
    """The policy refused the release (already audited by the enforcement point): the job
    fails with the policy's reasons and nothing is released (at its release tick, with
    the resources already set)."""
    job = session.exec(select(QueryJob).where(QueryJob.id == job_id).with_for_update()).one()
    reasons = [str(r) for r in exc.extra.get("reasons") or [exc.detail]]
    job.status, job.reasons = "failed", reasons
    job.report = {"decision": "withheld", "reasons": reasons}
    _audit(session, None, job, "sandbox.query.failed", Decision.DENY, reasons)


def privacy_budget(
    runtime: SandboxRuntime, session: Session, principal: Principal, project_id: str
) -> dp_budget.Budget:
    """The privacy budget of a project ``principal`` is a member of (else ``NotFound``):
    the smallest ``epsilon_budget`` of its contracts, and what its releases spent."""
    researcher = registry.researcher_by_subject(session, principal.sub)
    if researcher is None or researcher.id not in registry.project_members(session, project_id):
        raise NotFound(f"project {project_id} does not exist")
    docs = _project_contracts(runtime, session, project_id)
    totals = [float(d["epsilon_budget"]) for d in docs if d.get("epsilon_budget") is not None]
    return dp_budget.of(session, project_id, min(totals, default=DEFAULT_EPSILON_BUDGET))


def get_job(session: Session, principal: Principal, job_id: str) -> JobRecord:
    """The caller's own job; anyone else's is ``NotFound`` (no existence leak)."""
    job = session.get(QueryJob, job_id)
    if job is None or job.submitted_by != principal.sub:
        raise NotFound(f"query job {job_id} does not exist")
    return job


def cancel(
    runtime: SandboxRuntime, session: Session, principal: Principal, job_id: str
) -> JobRecord:
    """Cancel a queued or running job; idempotent on finished jobs. The cancellation is
    committed (with its audit event) before the worker is killed, so it always wins over
    a result arriving at the same moment (the job's row is locked while either changes)."""
    owned = get_job(session, principal, job_id)
    job = session.exec(select(QueryJob).where(QueryJob.id == owned.id).with_for_update()).one()
    if job.status not in ACTIVE:
        return job
    job.status, job.finished_at = "cancelled", datetime.now(UTC)
    job.reasons = [f"cancelled by {principal.sub}"]
    _audit(session, principal, job, "sandbox.query.cancel", Decision.INFO, job.reasons)
    session.commit()
    proc = runtime.processes.pop(job_id, None)
    if proc is not None and proc.is_alive():
        proc.kill()
    return job


def list_jobs(session: Session, principal: Principal, project_id: str | None) -> list[JobRecord]:
    """The caller's jobs, newest first (at most 100)."""
    query = select(QueryJob).where(QueryJob.submitted_by == principal.sub)
    if project_id:
        query = query.where(QueryJob.project_id == project_id)
    return list(session.exec(query.order_by(col(QueryJob.created_at).desc()).limit(100)).all())
