"""Reading the erasure register: whether a pupil is erased, which pseudonyms a connector
must drop under a contract.

The register (``ErasureRequest``, ``ErasedPseudonym``) holds an erased pupil's keyed
digest and pseudonym under every contract the hub knew when the erasure was (last)
submitted; ``hub.pseudonym.register`` writes it for ``hub.erasure.register``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from hub.config import Settings
from hub.contracts.public import other_contracts
from hub.pseudonym.models import ErasedPseudonym, ErasureRequest
from hub.pseudonym.service import contract_key


@dataclass(frozen=True)
class ErasedUnder:
    """The register under one contract, with that contract's key (to match a pupil)."""

    contract_id: str
    key: bytes
    pseudonyms: list[str]


def find_request(session: Session, digest: str) -> ErasureRequest | None:
    """The register's request for the pupil of register digest ``digest``, if any."""
    return session.exec(select(ErasureRequest).where(ErasureRequest.digest == digest)).first()


def is_erased(session: Session, digest: str) -> bool:
    """Whether the pupil of register digest ``digest`` is in the erasure register."""
    return find_request(session, digest) is not None


def erased_pseudonyms(session: Session, contract_id: str) -> dict[str, str]:
    """The erasure register's pseudonyms under ``contract_id`` → their request id."""
    rows = session.exec(select(ErasedPseudonym).where(ErasedPseudonym.contract_id == contract_id))
    return {row.pseudonym: row.request_id for row in rows}


def earlier_erasures(session: Session, settings: Settings, contract_id: str) -> list[ErasedUnder]:
    """The register under the provider's other contracts (e.g. the one ``contract_id``
    renews) that erased anyone, each with its key."""
    earlier = []
    for other in other_contracts(session, contract_id):
        pseudonyms = sorted(erased_pseudonyms(session, other.id))
        if pseudonyms:
            earlier.append(ErasedUnder(other.id, contract_key(settings, other), pseudonyms))
    return earlier
