"""The per-pupil report: which projects used one pupil's data, and when.

The DPO gives the pupil's canonical identifier (``account:<homePage>|<name>``,
``mbox:mailto:...``, ...). For each contract that ever reached FINALIZED, the hub's
pseudonymisation service computes that pupil's pseudonym under the contract; the lake
objects of the contract are searched for that one pseudonym only, so the DPO never sees
another pupil's identifier or pseudonym. For each contract holding the pupil's rows, the
report lists the allowed sandbox accesses made under that contract since the pupil's
earliest data. The identifier itself is neither stored nor written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from hub.audit.search import event_dict
from hub.audit.stream import EVENTS
from hub.context import HubContext
from hub.contracts.models import Contract
from hub.errors import ServiceUnavailable
from hub.ingest.erasure import locate_pupil
from hub.pseudonym.service import check_identifier, pseudonym_for

DAY = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")
ACCESS_ACTIONS = ("sandbox.query.submit", "sandbox.query.release")


@dataclass
class PupilUse:
    """One contract holding the pupil's rows and the accesses made under it."""

    contract_id: str
    project_id: str
    first_day: str | None
    objects: int
    accesses: list[dict[str, Any]] = field(default_factory=list)


def pupil_report(ctx: HubContext, session: Session, identifier: str) -> list[PupilUse]:
    """Contracts holding the pupil's rows, with the accesses under each since then.

    Raises ``ValidationFailed`` for a malformed identifier and ``ServiceUnavailable`` when
    the hub has no lake configured.
    """
    value = check_identifier(identifier)
    if ctx.store is None:
        raise ServiceUnavailable("no object store is configured: the lake cannot be searched")
    uses = []
    contracts = session.exec(select(Contract).where(col(Contract.finalized_at).is_not(None)))
    for contract in contracts:
        pseudonym = pseudonym_for(ctx.settings, contract.id, value)
        keys = locate_pupil(ctx.store, session, contract.id, pseudonym)
        if keys:
            days = sorted(m.group(1) for k in keys if (m := DAY.search(k)))
            use = PupilUse(contract.id, contract.project_id, days[0] if days else None, len(keys))
            use.accesses = _accesses(session, contract.id, use.first_day)
            uses.append(use)
    return uses


def _accesses(session: Session, contract_id: str, since: str | None) -> list[dict[str, Any]]:
    query = (
        sa_select(EVENTS)
        .where(EVENTS.c.action.in_(ACCESS_ACTIONS), EVENTS.c.decision == "allow")
        .where(EVENTS.c.contract_id.contains(contract_id))
        .order_by(EVENTS.c.seq)
    )
    rows = [event_dict(r) for r in session.connection().execute(query)]
    return [r for r in rows if since is None or r["ts"][:10] >= since]
