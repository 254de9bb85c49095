"""Alert rules the DPO can read; raised alerts are stored once, audited and published.

Rules (their French text is shown in the UI):
- ``refused-burst``: one researcher refused ``refused_burst_count`` times within
  ``refused_burst_minutes``;
- ``outside-contract-window``: an access allowed under a contract on a day outside the
  contract's validity window;
- ``verification-failure``: a verification of the log found tampering;
- ``lake-integrity``: a lake object no longer matches its registered SHA-256 (raised by
  ``hub.ingest.integrity`` when a reader refuses it).
- ``auth-failure-burst``: ``auth_failure_burst_count`` failed authentications (401) from
  one source address, or claiming one subject, within ``auth_failure_burst_minutes``.
Raising a finding is ``hub.alerts.raise_alert`` (idempotent per rule and key, audited,
published), the one way every area reports one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from hub.alerts import Finding, raise_alert
from hub.auth import AUTH_FAILED, UNKNOWN_SUBJECT
from hub.bus.port import EventBus
from hub.contracts.public import contract_documents
from hub.settings.audit import AuditSettings
from hub.trail.models import AuditAlert
from hub.trail.stream import EVENTS
from hub.trail.writer import Decision


@dataclass(frozen=True)
class AlertRule:
    """A rule as the DPO reads it."""

    id: str
    title: str
    description: str


def rules(settings: AuditSettings) -> list[AlertRule]:
    """The active rules with their thresholds, in French."""
    return [
        AlertRule(
            "refused-burst",
            "Rafale de refus pour un chercheur",
            f"Au moins {settings.refused_burst_count} demandes refusées pour un même "
            f"chercheur en {settings.refused_burst_minutes} minutes.",
        ),
        AlertRule(
            "outside-contract-window",
            "Accès hors de la période du contrat",
            "Un accès autorisé au titre d'un contrat à une date hors de sa période de validité.",
        ),
        AlertRule(
            "auth-failure-burst",
            "Rafale d'échecs d'authentification",
            f"Au moins {settings.auth_failure_burst_count} authentifications échouées depuis "
            f"une même adresse, ou pour un même identifiant, en "
            f"{settings.auth_failure_burst_minutes} minutes.",
        ),
        AlertRule(
            "verification-failure",
            "Échec de la vérification du journal",
            "La vérification de la chaîne ou des points de contrôle signés a trouvé "
            "une altération.",
        ),
        AlertRule(
            "lake-integrity",
            "Objet du lac altéré",
            "Un fichier du lac ne correspond plus à l'empreinte SHA-256 enregistrée pour "
            "son lot : sa lecture est refusée.",
        ),
    ]


def refused_bursts(session: Session, settings: AuditSettings, since: datetime) -> Iterator[Finding]:
    """Bursts of researcher refusals (sliding window over denials since ``since``)."""
    query = (
        sa_select(EVENTS.c.seq, EVENTS.c.ts, EVENTS.c.actor_sub)
        .where(EVENTS.c.decision == str(Decision.DENY), EVENTS.c.actor_role == "researcher")
        .where(EVENTS.c.ts >= since)
        .order_by(EVENTS.c.actor_sub, EVENTS.c.seq)
    )
    rows = session.connection().execute(query)
    window = timedelta(minutes=settings.refused_burst_minutes)
    for sub, burst in _bursts(rows, _by_actor, window, settings.refused_burst_count):
        yield Finding(
            "refused-burst",
            f"{sub}@{burst[0].seq}",
            f"{len(burst)} refus en {settings.refused_burst_minutes} min pour {sub}",
            actor_sub=sub,
            event_seqs=tuple(r.seq for r in burst),
        )


def auth_failure_bursts(
    session: Session, settings: AuditSettings, since: datetime
) -> Iterator[Finding]:
    """Bursts of failed authentications, per source address and per claimed subject."""
    query = (
        sa_select(EVENTS.c.seq, EVENTS.c.ts, EVENTS.c.actor_sub, EVENTS.c.resource_id)
        .where(EVENTS.c.action == AUTH_FAILED, EVENTS.c.ts >= since)
        .order_by(EVENTS.c.seq)
    )
    rows = list(session.connection().execute(query))
    window = timedelta(minutes=settings.auth_failure_burst_minutes)
    count = settings.auth_failure_burst_count
    per = (("source", _by_source, "depuis"), ("subject", _by_actor, "pour"))
    for kind, key_of, word in per:
        for key, burst in _bursts(rows, key_of, window, count):
            yield Finding(
                "auth-failure-burst",
                f"{kind}:{key}@{burst[0].seq}",
                f"{len(burst)} authentifications échouées en "
                f"{settings.auth_failure_burst_minutes} min {word} {key}",
                actor_sub=None if kind == "source" else key,
                event_seqs=tuple(r.seq for r in burst),
            )


def _by_actor(row: Row[Any]) -> str | None:
    return row.actor_sub if row.actor_sub != UNKNOWN_SUBJECT else None


def _by_source(row: Row[Any]) -> str | None:
    return row.resource_id  # type: ignore[no-any-return]


def _bursts(
    rows: Iterable[Row[Any]],
    key_of: Callable[[Row[Any]], str | None],
    window: timedelta,
    count: int,
) -> Iterator[tuple[str, list[Row[Any]]]]:
    """``(key, rows)`` for every ``count`` rows of one key within ``window`` (a sliding
    window per key; a burst starts afresh after it is reported). Rows come in time order
    within each key; rows whose key is ``None`` are ignored."""
    current: dict[str, list[Row[Any]]] = {}
    for row in rows:
        key = key_of(row)
        if key is None:
            continue
        recent = [r for r in current.get(key, []) if _aware(row.ts) - _aware(r.ts) <= window]
        current[key] = [*recent, row]
        if len(current[key]) >= count:
            yield key, current.pop(key)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


Windows = Callable[[Session], dict[str, tuple[date, date]]]


def contract_windows(session: Session) -> dict[str, tuple[date, date]]:
    """Validity window of every published contract, from the contracts area."""
    return {
        cid: (date.fromisoformat(doc["valid_from"]), date.fromisoformat(doc["valid_until"]))
        for cid, doc in contract_documents(session).items()
    }


def outside_window(session: Session, since: datetime, windows: Windows) -> Iterator[Finding]:
    """Allowed accesses under a contract on a day outside its validity window."""
    spans = windows(session)
    if not spans:
        return
    query = (
        sa_select(EVENTS.c.seq, EVENTS.c.ts, EVENTS.c.actor_sub, EVENTS.c.contract_id)
        .where(EVENTS.c.decision == str(Decision.ALLOW), EVENTS.c.ts >= since)
        .where(EVENTS.c.contract_id.in_(list(spans)))
    )
    for row in session.connection().execute(query):
        start, end = spans[row.contract_id]
        day = _aware(row.ts).date()
        if not start <= day <= end:
            yield Finding(
                "outside-contract-window",
                f"{row.seq}",
                f"accès autorisé le {day} hors de la période du {start} au {end} "
                f"du contrat {row.contract_id}",
                actor_sub=row.actor_sub,
                contract_id=row.contract_id,
                event_seqs=(row.seq,),
            )


def run_rules(
    session: Session,
    settings: AuditSettings,
    bus: EventBus | None,
    *,
    since: datetime,
    windows: Windows = contract_windows,
) -> list[AuditAlert]:
    """Evaluate the event rules over events since ``since``; return the newly raised alerts."""
    findings = [
        *refused_bursts(session, settings, since),
        *auth_failure_bursts(session, settings, since),
        *outside_window(session, since, windows),
    ]
    raised = [raise_alert(session, f, bus) for f in findings]
    return [a for a in raised if a is not None]


def list_alerts(session: Session, limit: int = 200) -> list[AuditAlert]:
    """Most recent alerts first."""
    query = select(AuditAlert).order_by(col(AuditAlert.id).desc()).limit(limit)
    return list(session.exec(query))
