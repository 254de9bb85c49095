"""Audit operations shared by the API, the DPO pages and the CLI."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from hub.alerts import ALERT_TOPIC, Finding, alert_event, alert_of, raise_alert
from hub.audit.alerts import run_rules
from hub.audit.anchor import gather_witnessed, hub_verifier, open_witness, publish
from hub.audit.publish import WitnessStore, leaves_reach, witness_store
from hub.audit.verify import ChainReport, verify_chain
from hub.bus.port import EventBus
from hub.config import Settings
from hub.db import session_scope
from hub.errors import HubError
from hub.settings.audit import AuditSettings
from hub.storage.port import StoreError
from hub.trail.chain import seal_now
from hub.trail.checkpoints import create_checkpoint, load_signer
from hub.trail.models import AuditAlert, AuditCheckpoint, AuditPurge, AuditVerification
from hub.trail.retention import purge_expired
from hub.trail.seal import seal_key_of

log = logging.getLogger("hub.audit")


def verify_log(
    engine: Engine,
    settings: Settings,
    bus: EventBus | None = None,
    witnesses: Sequence[str] = (),
) -> ChainReport:
    """Verify chain, checkpoints and signatures, against the checkpoints published in the
    witness store and those held by ``witnesses`` (directories or witness URLs); a failure
    raises a ``verification-failure`` alert (stored once per distinct finding, audited,
    published)."""
    signer = load_signer(settings)
    verifier = hub_verifier(settings.audit, signer.key)
    stores = [witness_store(settings), *(open_witness(w, verifier.name) for w in witnesses)]
    witnessed = gather_witnessed(stores, verifier)
    _seal_pending(engine)
    with session_scope(engine) as session:
        report = verify_chain(
            session,
            signer.key.public_key(),
            witnessed.roots,
            _leaf_store(stores),
            seal_key_of(signer.key),
            verify_jobs(settings.audit),
        )
    for size in witnessed.unsigned:
        report.problems.insert(
            0,
            {
                "seq": 0,
                "kind": "bad-signature",
                "detail": f"published checkpoint of size {size} is not signed by the hub's key",
                "checkpoint": None,
            },
        )
    _remember(engine, report)
    if not report.ok:
        first = report.problems[0]
        finding = Finding(
            "verification-failure",
            f"{first['kind']}@{first['seq']}:{len(report.problems)}",
            f"vérification échouée : {len(report.problems)} problème(s), le premier "
            f"« {first['kind']} » à l'événement {first['seq']}",
        )
        _raise_or_publish(engine, finding, bus)
    return report


def verify_jobs(audit: AuditSettings) -> int:
    """The processes a verification uses at most: ``verify_jobs``, else one per CPU core
    this process may run on."""
    if audit.verify_jobs:
        return audit.verify_jobs
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _leaf_store(stores: Sequence[WitnessStore]) -> WitnessStore:
    """The store whose published leaves reach furthest (the hub's own on a tie), so that a
    copy held elsewhere still names a rewritten event exactly when the hub's was wiped."""
    return max(stores, key=lambda store: (leaves_reach(store), store is stores[0]))


def _seal_pending(engine: Engine) -> None:
    """Chain the pending events before verifying, best effort: a tampered chain may refuse
    them (forged rows on the seq the head would take next), and verification must then
    still run and name the tampering, not fail on it."""
    try:
        seal_now(engine)
    except Exception as exc:  # the database's errors, also the driver's own (psycopg pipeline)
        log.warning("pending audit events not sealed before verification (%s)", type(exc).__name__)


def _remember(engine: Engine, report: ChainReport) -> None:
    """Keep the outcome for the DPO page (best effort: a tampered database may refuse)."""
    run = AuditVerification(
        ran_at=datetime.now(UTC),
        ok=report.ok,
        events=report.events,
        problems=report.problems[:20],
    )
    try:
        with session_scope(engine) as session:
            session.add(run)
    except SQLAlchemyError:
        log.exception("could not store the verification outcome")


def last_verification(session: Session) -> AuditVerification | None:
    """The most recent verification run, if any."""
    query = select(AuditVerification).order_by(col(AuditVerification.id).desc()).limit(1)
    return session.exec(query).first()


def _raise_or_publish(engine: Engine, finding: Finding, bus: EventBus | None) -> None:
    """Store the alert (published through the outbox); when the tampered database refuses
    the write, and so cannot hold the outbox either, publish it directly."""
    try:
        with session_scope(engine) as session:
            raise_alert(session, finding, bus)
    except SQLAlchemyError:
        log.exception("could not store the alert %s", finding.key)
        if bus is not None:
            bus.publish(ALERT_TOPIC, finding.rule, alert_event(alert_of(finding)))


def checkpoint_now(engine: Engine, settings: Settings) -> AuditCheckpoint:
    """Sign a checkpoint over the whole chain (idempotent when nothing was appended;
    ``UnsealedEvents`` over events the hub did not append), then publish it to the
    witness store with the witnesses' cosignatures (see :mod:`hub.audit.anchor`;
    ``PublicationFailed`` when the store refuses or is unreachable)."""
    signer = load_signer(settings)
    with session_scope(engine) as session:
        cp = create_checkpoint(session, signer, seal_key=seal_key_of(signer.key))
    try:
        with session_scope(engine) as session:
            publish(session, witness_store(settings), settings.audit, signer.key)
    except StoreError as exc:
        raise PublicationFailed(f"checkpoint {cp.id} signed but not published: {exc}") from exc
    return cp


class PublicationFailed(HubError):
    """A checkpoint was signed but the witness store refused or could not take it."""

    status, slug, title = 503, "audit-publication-failed", "The checkpoint was not published"


def purge_now(engine: Engine, settings: Settings, now: datetime | None = None) -> AuditPurge | None:
    """Apply the retention period (``EDH_AUDIT__RETENTION_DAYS``)."""
    signer = load_signer(settings)
    with session_scope(engine) as session:
        return purge_expired(session, signer, settings.audit.retention_days, now=now)


def run_alert_rules(
    engine: Engine, settings: Settings, bus: EventBus | None, hours: int = 24
) -> list[AuditAlert]:
    """Evaluate the alert rules over the last ``hours``; return the new alerts."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    with session_scope(engine) as session:
        return run_rules(session, settings.audit, bus, since=since)
