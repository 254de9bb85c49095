"""The operator's trust list: the participants whose signed tokens the hub accepts, each
with the keys its DID document had when it was trusted. Every change is audited."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from hub.dataspace.models import DspParticipant
from hub.errors import NotFound
from hub.registry.public import OrgKind, get_org
from hub.trail.writer import Actor, EventDraft, Resource, record


def trust(
    session: Session,
    actor: Actor,
    did: str,
    keys: list[dict[str, Any]],
    organisation_id: str | None,
) -> None:
    """Put ``did`` on the list (or renew its keys), acting for the lab ``organisation_id``
    when given (a 404 when the registry has no such lab); committed."""
    if organisation_id is not None:
        get_org(session, organisation_id, OrgKind.LAB)
    row = DspParticipant(did=did, keys=keys, added_by=actor.sub, organisation_id=organisation_id)
    session.merge(row)
    draft = EventDraft(
        actor,
        "dsp.participant.trusted",
        Resource("dsp_participant", did),
        details={"keys": len(keys), "organisation_id": organisation_id},
    )
    record(session, draft)
    session.commit()


def trusted(session: Session) -> list[DspParticipant]:
    """The list, by DID."""
    return list(session.exec(select(DspParticipant).order_by(col(DspParticipant.did))).all())


def is_trusted(session: Session, did: str) -> bool:
    """True when ``did`` is on the list."""
    return session.get(DspParticipant, did) is not None


def distrust(session: Session, actor: Actor, did: str) -> None:
    """Take ``did`` off the list (its tokens are refused from now on); a 404 when it is
    not on it; committed."""
    row = session.get(DspParticipant, did)
    if row is None:
        raise NotFound("this participant is not on the trust list")
    session.delete(row)
    record(session, EventDraft(actor, "dsp.participant.removed", Resource("dsp_participant", did)))
    session.commit()
