"""Raising a DPO alert: the one way any part of the hub reports a finding.

A :class:`Finding` is stored once per (rule, key) as an ``audit_alert`` row, recorded as
an ``audit.alert`` event and, when a bus is configured, put in the transactional outbox
for the topic ``edh.audit.alert`` (published once the alert committed, or by the next
hub's relay). The DPO's alert rules (``hub.audit.alerts``) and the lake's integrity guard
(``hub.ingest.integrity``) both raise through :func:`raise_alert`; the DPO reads the alerts
through ``hub.audit``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from hub.bus.outbox import publish_on_commit
from hub.bus.port import EventBus
from hub.trail.models import AuditAlert
from hub.trail.writer import SYSTEM, EventDraft, Resource, record, utc_text

ALERT_TOPIC = "edh.audit.alert"


@dataclass(frozen=True)
class Finding:
    """A rule match before it is stored."""

    rule: str
    key: str
    message: str
    actor_sub: str | None = None
    contract_id: str | None = None
    event_seqs: tuple[int, ...] = ()


def raise_alert(session: Session, finding: Finding, bus: EventBus | None) -> AuditAlert | None:
    """Store ``finding`` unless already raised; audit and publish it. Returns the new alert."""
    exists = session.exec(
        select(AuditAlert).where(
            col(AuditAlert.rule) == finding.rule, col(AuditAlert.key) == finding.key
        )
    ).first()
    if exists is not None:
        return None
    alert = alert_of(finding)
    session.add(alert)
    session.flush()
    details = {"rule": finding.rule, "key": finding.key, "event_seqs": list(finding.event_seqs)}
    record(
        session,
        EventDraft(SYSTEM, "audit.alert", Resource("alert", str(alert.id)), details=details),
    )
    if bus is not None:
        publish_on_commit(session, bus, ALERT_TOPIC, finding.rule, alert_event(alert))
    return alert


def alert_of(finding: Finding) -> AuditAlert:
    """The (unsaved) alert row for ``finding``."""
    return AuditAlert(
        rule=finding.rule,
        key=finding.key,
        message=finding.message,
        actor_sub=finding.actor_sub,
        contract_id=finding.contract_id,
        event_seqs=list(finding.event_seqs),
        raised_at=datetime.now(UTC),
    )


def alert_event(alert: AuditAlert) -> dict[str, Any]:
    """The bus (and API) form of an alert."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:edh:audit-alert:{alert.rule}:{alert.key}")),
        "alert_id": alert.id,
        "rule": alert.rule,
        "message": alert.message,
        "actor_sub": alert.actor_sub,
        "contract_id": alert.contract_id,
        "event_seqs": alert.event_seqs,
        "raised_at": utc_text(alert.raised_at),
    }
