"""Reading the erasure register: which pseudonyms a connector must drop under a contract.

The register (``ErasedPseudonym``) holds an erased pupil's pseudonym under every contract
the hub knew when the erasure was (last) submitted; ``hub.erasure.register`` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from hub.config import Settings
from hub.contracts.models import Contract
from hub.contracts.service import get_contract
from hub.pseudonym.models import ErasedPseudonym
from hub.pseudonym.service import contract_key


@dataclass(frozen=True)
class ErasedUnder:
    """The register under one contract, with that contract's key (to match a pupil)."""

    contract_id: str
    key: bytes
    pseudonyms: list[str]


def erased_pseudonyms(session: Session, contract_id: str) -> dict[str, str]:
    """The erasure register's pseudonyms under ``contract_id`` → their request id."""
    rows = session.exec(select(ErasedPseudonym).where(ErasedPseudonym.contract_id == contract_id))
    return {row.pseudonym: row.request_id for row in rows}


def earlier_erasures(session: Session, settings: Settings, contract_id: str) -> list[ErasedUnder]:
    """The register under the provider's other contracts (e.g. the one ``contract_id``
    renews) that erased anyone, each with its key."""
    provider = get_contract(session, contract_id).provider_id
    others = session.exec(
        select(Contract).where(Contract.provider_id == provider, Contract.id != contract_id)
    )
    earlier = []
    for other in others.all():
        pseudonyms = sorted(erased_pseudonyms(session, other.id))
        if pseudonyms:
            earlier.append(ErasedUnder(other.id, contract_key(settings, other), pseudonyms))
    return earlier
