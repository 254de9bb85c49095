"""The record of use (``PupilUseDigest``): which released queries drew on a pupil's rows.

Each row is a keyed digest (:func:`hub.pseudonym.service.use_digest`) of a pupil's
pseudonym under one contract, with the job, the project and the release time; no
identifier or pseudonym is stored. The sandbox writes it at release, the DPO's per-pupil
report reads it, a re-pseudonymisation maps it, the audit's retention purges it. Every
function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from hub.config import Settings
from hub.pseudonym.models import PupilUseDigest
from hub.pseudonym.records import PupilUseRecord
from hub.pseudonym.service import use_digest, use_key


def record_uses(
    session: Session,
    key: bytes,
    job_id: str,
    contract_id: str,
    project_id: str,
    pseudonyms: Iterable[str],
) -> None:
    """Record that the released job ``job_id`` of ``project_id`` drew on the rows of these
    pupils under ``contract_id`` (``key``: :func:`hub.pseudonym.service.use_key`)."""
    for value in pseudonyms:
        session.add(
            PupilUseDigest(
                digest=use_digest(key, contract_id, value),
                job_id=job_id,
                contract_id=contract_id,
                project_id=project_id,
            )
        )


def uses_of(session: Session, digest: str) -> list[PupilUseRecord]:
    """The releases recorded under the use digest ``digest``, oldest first."""
    query = (
        select(PupilUseDigest)
        .where(PupilUseDigest.digest == digest)
        .order_by(col(PupilUseDigest.released_at))
    )
    return list(session.exec(query).all())


def remap_uses(
    session: Session, settings: Settings, contract_id: str, mapping: dict[str, str]
) -> int:
    """Map the record of use's digests of the contract's pupils with ``mapping`` (old
    pseudonym → new, a re-pseudonymisation); the rows mapped."""
    key = use_key(settings)
    digests = {
        use_digest(key, contract_id, old): use_digest(key, contract_id, new)
        for old, new in mapping.items()
    }
    rows = session.exec(select(PupilUseDigest).where(PupilUseDigest.contract_id == contract_id))
    changed = 0
    for row in rows.all():
        new = digests.get(row.digest)
        if new is not None:
            session.delete(row)
            session.add(PupilUseDigest.model_validate({**row.model_dump(), "digest": new}))
            changed += 1
    return changed


def delete_uses_before(session: Session, before: datetime) -> int:
    """Delete the record of use of releases before ``before``; the rows deleted."""
    old = select(PupilUseDigest).where(col(PupilUseDigest.released_at) < before)
    rows = list(session.exec(old).all())
    for row in rows:
        session.delete(row)
    return len(rows)
