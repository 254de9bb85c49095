"""Signed checkpoints: RFC 6962 tree heads over the event hashes, signed with Ed25519.

A checkpoint says "the first ``tree_size`` events have Merkle root ``root_hash`` and the
chain ended at ``head_hash``", signed by the hub's audit key over the RFC 8785 JSON of
:func:`signed_statement`. Exported checkpoints let the DPO's own store later prove that
nothing was rewritten (see :mod:`hub.audit.offline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col, select

from contracts.canonical import b64url_decode, b64url_encode, canonical_json
from hub.config import Settings
from hub.errors import HubError
from hub.keys import public_jwk
from hub.trail.chain import chain_head, seal
from hub.trail.hashing import utc_text
from hub.trail.key import load_audit_key
from hub.trail.merkle import Frontier, root_of_peaks
from hub.trail.models import AuditCheckpoint, AuditEvent, AuditPurge
from hub.trail.seal import UnsealedEvents, first_unsealed
from hub.trail.stream import iter_hashes

LOG_ID = "urn:edh:audit"


@dataclass(frozen=True)
class CheckpointSigner:
    """The audit key: signs checkpoints; ``jwk`` is its public half (with ``kid``)."""

    key: Ed25519PrivateKey

    @property
    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.key.public_key())

    def sign(self, statement: dict[str, Any]) -> str:
        return b64url_encode(self.key.sign(canonical_json(statement)))


def load_signer(settings: Settings) -> CheckpointSigner:
    """The checkpoint signer holding the audit key (``hub.trail.key.load_audit_key``).

    Raises ``ServiceUnavailable`` when the key is missing outside dev mode.
    """
    return CheckpointSigner(load_audit_key(settings))


def signed_statement(cp: AuditCheckpoint) -> dict[str, Any]:
    """What the signature covers."""
    return {
        "log": LOG_ID,
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash,
        "head_hash": cp.head_hash,
        "signed_at": utc_text(cp.signed_at),
        "key_id": cp.key_id,
    }


def signature_holds(cp: AuditCheckpoint, key: Ed25519PublicKey) -> bool:
    """Is ``cp`` signed by ``key``, with peaks that give its root?"""
    try:
        key.verify(b64url_decode(cp.signature), canonical_json(signed_statement(cp)))
    except (InvalidSignature, ValueError):
        return False
    return root_of_peaks([bytes.fromhex(p) for p in cp.peaks]).hex() == cp.root_hash


class ForgedCheckpoint(HubError):
    """A checkpoint row in the database is not signed by the hub: nothing is signed over it."""

    status, slug, title = 409, "audit-checkpoint-forged", "A stored checkpoint is not the hub's"


def trusted(cp: AuditCheckpoint | None, signer: CheckpointSigner) -> None:
    """Raise ``ForgedCheckpoint`` when ``cp``'s signature does not hold."""
    if cp is not None and not signature_holds(cp, signer.key.public_key()):
        raise ForgedCheckpoint(f"checkpoint {cp.id} (size {cp.tree_size}) is not signed by the hub")


def checkpoint_document(cp: AuditCheckpoint) -> dict[str, Any]:
    """The exportable form of a checkpoint: the statement plus its signature and id."""
    return {"id": cp.id, **signed_statement(cp), "signature": cp.signature}


def list_checkpoints(session: Session) -> list[AuditCheckpoint]:
    """Every checkpoint, oldest first."""
    return list(session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.tree_size))))


def latest_checkpoint(session: Session, upto: int | None = None) -> AuditCheckpoint | None:
    """The largest checkpoint (with ``tree_size <= upto`` when given)."""
    query = select(AuditCheckpoint).order_by(col(AuditCheckpoint.tree_size).desc()).limit(1)
    if upto is not None:
        query = query.where(col(AuditCheckpoint.tree_size) <= upto)
    return session.exec(query).first()


def purge_base(session: Session) -> AuditCheckpoint | None:
    """The checkpoint sealing the last purge: events up to its size no longer exist."""
    purge = session.exec(select(AuditPurge).order_by(col(AuditPurge.up_to_seq).desc())).first()
    return session.get(AuditCheckpoint, purge.checkpoint_id) if purge else None


def frontier_of(cp: AuditCheckpoint | None) -> Frontier:
    """The tree state a checkpoint records (empty for ``None``)."""
    if cp is None:
        return Frontier()
    return Frontier(cp.tree_size, [bytes.fromhex(p) for p in cp.peaks])


def frontier_at(session: Session, size: int) -> Frontier:
    """The tree of the first ``size`` events, grown from the nearest checkpoint below."""
    base = latest_checkpoint(session, upto=size)
    frontier = frontier_of(base)
    frontier.extend_from(iter_hashes(session, frontier.size, size))
    return frontier


def create_checkpoint(
    session: Session,
    signer: CheckpointSigner,
    *,
    size: int | None = None,
    now: datetime | None = None,
    seal_key: bytes | None = None,
) -> AuditCheckpoint:
    """Sign the tree of the first ``size`` events (default: the whole chain); idempotent.

    Seals pending events first, under the chain lock. Raises ``ValueError`` when
    ``size`` is beyond the head or the chain is empty, ``ForgedCheckpoint`` when the
    checkpoint it grows from is not the hub's; with ``seal_key``, ``UnsealedEvents`` when
    an event after the last checkpoint lacks the hub's seal.
    """
    seal(session)  # takes the chain lock: the head cannot move meanwhile
    head_seq, head_hash = chain_head(session)
    size = head_seq if size is None else size
    if not 0 < size <= head_seq:
        raise ValueError(f"cannot checkpoint {size} events: the chain holds {head_seq}")
    existing = session.exec(
        select(AuditCheckpoint).where(col(AuditCheckpoint.tree_size) == size)
    ).first()
    if existing is not None:
        trusted(existing, signer)
        return existing
    trusted(latest_checkpoint(session, upto=size), signer)  # what the new tree grows from
    if seal_key is not None:
        _refuse_unsealed(session, seal_key, size)
    frontier = frontier_at(session, size)
    cp = AuditCheckpoint(
        tree_size=size,
        root_hash=frontier.root().hex(),
        head_hash=head_hash if size == head_seq else _hash_at(session, size),
        signed_at=now or datetime.now(UTC),
        key_id=str(signer.jwk["kid"]),
        signature="",
        peaks=[p.hex() for p in frontier.peaks],
    )
    cp.signature = signer.sign(signed_statement(cp))
    session.add(cp)
    session.flush()
    return cp


def _refuse_unsealed(session: Session, seal_key: bytes, size: int) -> None:
    last = latest_checkpoint(session, upto=size)
    found = first_unsealed(session, seal_key, last.tree_size if last else 0, size)
    if found is not None:
        raise UnsealedEvents(
            f"event {found[0]} was not appended by the hub ({found[1]}): not signing over it"
        )


def _hash_at(session: Session, seq: int) -> str:
    value = session.exec(select(AuditEvent.hash).where(col(AuditEvent.seq) == seq)).first()
    if value is None:
        raise ValueError(f"event {seq} does not exist")
    return value
