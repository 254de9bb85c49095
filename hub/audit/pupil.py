"""The per-pupil report: which projects used one pupil's data, when, and was it erased.

Record of use: when the sandbox releases a query's result, ``hub.sandbox.pupil_use``
stores a keyed digest (``hub.pseudonym.public.use_digest``) of every pupil whose rows were
in the query's scope, per contract, with the job, project and time. It survives erasure
and purge, is per contract (no false positive before the pupil's data arrived: only what
was in scope at release is recorded), and holds no identifier or pseudonym.

The DPO gives the pupil's canonical identifier (``account:<homePage>|<name>``,
``mbox:mailto:...``, ...). For each contract that ever reached FINALIZED, the hub's
pseudonymisation service computes that pupil's pseudonym and its use digest; the report
lists the releases recorded for it, the lake objects holding the pupil now, the allowed
sandbox accesses under the contract since the pupil's earliest data still held, and
whether the pupil is in the erasure register. Every lookup is audited with the pupil's
register digest and the purpose, and limited to ``LOOKUPS_PER_HOUR`` per DPO. The
identifier itself is neither stored nor written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from hub.audit.search import event_dict
from hub.context import HubContext
from hub.contracts.public import finalized_contracts
from hub.errors import ServiceUnavailable, TooManyRequests
from hub.ingest.public import locate_pupil
from hub.pseudonym.public import (
    check_identifier,
    delete_uses_before,
    is_erased,
    pseudonym_for,
    register_digest,
    use_digest,
    use_key,
    uses_of,
)
from hub.trail.stream import EVENTS
from hub.trail.writer import SYSTEM, Actor, EventDraft, Resource, Why, record, record_now

DAY = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")
ACCESS_ACTIONS = ("sandbox.query.submit", "sandbox.query.release", "sandbox.output.release")
LOOKUP_ACTION = "audit.pupil.lookup"
LOOKUPS_PER_HOUR = 60
PURPOSE = "data subject request (per-pupil report)"


@dataclass
class PupilUse:
    """One contract that holds or held the pupil's rows: the releases that used them, the
    objects holding them now, the accesses under the contract, and the erasure."""

    contract_id: str
    project_id: str
    first_day: str | None
    objects: int
    accesses: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    erased: bool = False


def pupil_report(
    ctx: HubContext, session: Session, identifier: str, actor: Actor, purpose: str
) -> list[PupilUse]:
    """Contracts that hold or held the pupil's rows (see module docstring).

    Raises ``ValidationFailed`` for a malformed identifier, ``TooManyRequests`` past the
    DPO's hourly lookups and ``ServiceUnavailable`` when the hub has no lake configured.
    """
    value = check_identifier(identifier)
    if ctx.store is None:
        raise ServiceUnavailable("no object store is configured: the lake cannot be searched")
    digest = register_digest(ctx.settings, value)
    _audit_lookup(ctx, session, actor, digest, purpose)
    erased = is_erased(session, digest)
    key, uses = use_key(ctx.settings), []
    for contract in finalized_contracts(session):
        pseudonym = pseudonym_for(ctx.settings, contract, value)
        keys = locate_pupil(ctx.store, session, contract.id, pseudonym)
        releases = _releases(session, use_digest(key, contract.id, pseudonym))
        if keys or releases:
            days = sorted(m.group(1) for k in keys if (m := DAY.search(k)))
            use = PupilUse(contract.id, contract.project_id, days[0] if days else None, len(keys))
            use.accesses = _accesses(session, contract.id, use.first_day) if keys else []
            use.releases, use.erased = releases, erased
            uses.append(use)
    return uses


def _audit_lookup(
    ctx: HubContext, session: Session, actor: Actor, digest: str, purpose: str
) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    count = session.connection().execute(
        sa_select(func.count())
        .select_from(EVENTS)
        .where(EVENTS.c.action == LOOKUP_ACTION, EVENTS.c.actor_sub == actor.sub)
        .where(EVENTS.c.ts >= since)
    )
    if int(count.scalar_one()) >= LOOKUPS_PER_HOUR:
        raise TooManyRequests(f"at most {LOOKUPS_PER_HOUR} per-pupil lookups an hour")
    session.rollback()  # record_now must run outside the caller's transaction on SQLite
    draft = EventDraft(actor, LOOKUP_ACTION, Resource("pupil", digest), why=Why(purpose=purpose))
    record_now(ctx.engine, draft)


def _releases(session: Session, digest: str) -> list[dict[str, Any]]:
    return [
        {"job_id": r.job_id, "project_id": r.project_id, "released_at": r.released_at.isoformat()}
        for r in uses_of(session, digest)
    ]


def _accesses(session: Session, contract_id: str, since: str | None) -> list[dict[str, Any]]:
    query = (
        sa_select(EVENTS)
        .where(EVENTS.c.action.in_(ACCESS_ACTIONS), EVENTS.c.decision == "allow")
        .where(EVENTS.c.contract_id.contains(contract_id))
        .order_by(EVENTS.c.seq)
    )
    rows = [event_dict(r) for r in session.connection().execute(query)]
    return [r for r in rows if since is None or r["ts"][:10] >= since]


def purge_uses(session: Session, now: datetime, retention_days: int) -> int:
    """Delete the record of use of releases older than ``retention_days`` before ``now``
    (``EDH_AUDIT__PUPIL_USE_RETENTION_DAYS``); audited with the count when any."""
    before = now - timedelta(days=retention_days)
    count = delete_uses_before(session, before)
    if count:
        details = {"rows": count, "before": before.date().isoformat()}
        draft = EventDraft(SYSTEM, "audit.pupil_use.purged", Resource("pupil_use"), details=details)
        record(session, draft)
    return count
