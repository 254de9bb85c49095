"""Writing the erasure register (for ``hub.erasure``, which carries an erasure or a
re-pseudonymisation everywhere the hub holds pupil data).

Every function writes in the caller's transaction and never commits.
"""

from __future__ import annotations

from sqlmodel import Session, select

from hub.config import Settings
from hub.contracts.public import all_contracts
from hub.pseudonym.erased import find_request
from hub.pseudonym.models import ErasedPseudonym, ErasureRequest
from hub.pseudonym.records import ErasureRequestRecord
from hub.pseudonym.service import pseudonym_for


def ensure_request(
    session: Session, digest: str, origin: str, requested_by: str
) -> ErasureRequestRecord:
    """The register's request for the pupil of register digest ``digest``: the existing
    one, else a new one from ``origin`` (who asked: ``dpo``, ``provider``)."""
    found = find_request(session, digest)
    if found is not None:
        return found
    request = ErasureRequest(digest=digest, origin=origin, requested_by=requested_by)
    session.add(request)
    session.flush()
    return request


def register_pseudonyms(
    session: Session, settings: Settings, request_id: str, identifier: str
) -> dict[str, str]:
    """Add the pupil's pseudonym under every contract missing from the request
    ``request_id`` (``identifier``: the canonical one); all of the request's pseudonyms,
    by contract id."""
    known = {
        row.contract_id: row.pseudonym
        for row in session.exec(
            select(ErasedPseudonym).where(ErasedPseudonym.request_id == request_id)
        )
    }
    for contract in all_contracts(session):
        if contract.id not in known:
            value = pseudonym_for(settings, contract, identifier)
            session.add(
                ErasedPseudonym(contract_id=contract.id, pseudonym=value, request_id=request_id)
            )
            known[contract.id] = value
    session.flush()
    return known


def remap_register(session: Session, contract_id: str, mapping: dict[str, str]) -> tuple[int, int]:
    """Map the register's pseudonyms under the contract with ``mapping`` (old → new, a
    re-pseudonymisation); (mapped, not in the mapping)."""
    rows = session.exec(select(ErasedPseudonym).where(ErasedPseudonym.contract_id == contract_id))
    mapped = missing = 0
    for row in rows.all():
        new = mapping.get(row.pseudonym)
        if new is None:
            missing += 1
            continue
        session.delete(row)
        session.add(
            ErasedPseudonym(contract_id=contract_id, pseudonym=new, request_id=row.request_id)
        )
        mapped += 1
    return mapped, missing
