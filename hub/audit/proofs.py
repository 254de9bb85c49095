"""Inclusion and consistency proofs from the database, and the checkpoint export.

Proof documents are plain JSON; :mod:`hub.audit.offline` verifies them without the hub.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlmodel import Session, col, select

from hub.trail.chain import chain_head
from hub.trail.checkpoints import (
    LOG_ID,
    CheckpointSigner,
    checkpoint_document,
    frontier_of,
    list_checkpoints,
    purge_base,
)
from hub.trail.merkle import NodeSource, ProofUnavailable
from hub.trail.models import AuditCheckpoint, AuditEvent
from hub.trail.stream import iter_hashes


def node_source(session: Session, size: int) -> NodeSource:
    """The tree of the first ``size`` events (purged ones known through the purge peaks)."""
    base = frontier_of(purge_base(session))
    if size < base.size:
        raise ProofUnavailable(f"events up to {base.size} were purged")
    return NodeSource(base, list(iter_hashes(session, base.size, size)))


def _checkpoint_of_size(session: Session, size: int) -> AuditCheckpoint | None:
    query = select(AuditCheckpoint).where(col(AuditCheckpoint.tree_size) == size)
    return session.exec(query).first()


def _covering_size(session: Session, seq: int) -> int:
    query = (
        select(AuditCheckpoint.tree_size)
        .where(col(AuditCheckpoint.tree_size) >= seq)
        .order_by(col(AuditCheckpoint.tree_size))
    )
    size = session.exec(query).first()
    return size if size is not None else chain_head(session)[0]


def inclusion_proof(session: Session, seq: int, tree_size: int | None = None) -> dict[str, Any]:
    """Proof that event ``seq`` is in the tree of ``tree_size`` events (default: the first
    checkpoint covering it, else the whole chain). Raises ``ProofUnavailable``."""
    event = session.exec(select(AuditEvent).where(col(AuditEvent.seq) == seq)).first()
    if event is None:
        raise ProofUnavailable(f"event {seq} does not exist (or was purged)")
    size = tree_size or _covering_size(session, seq)
    source = node_source(session, size)
    cp = _checkpoint_of_size(session, size)
    return {
        "seq": seq,
        "leaf_index": seq - 1,
        "event_hash": event.hash,
        "tree_size": size,
        "root_hash": cp.root_hash if cp else source.mth(0, size).hex(),
        "checkpoint": checkpoint_document(cp) if cp else None,
        "path": [h.hex() for h in source.inclusion_path(seq - 1, size)],
    }


def consistency_proof(session: Session, first: int, second: int) -> dict[str, Any]:
    """Proof that the tree of ``second`` events extends the tree of ``first`` events."""
    head = chain_head(session)[0]
    if not 0 < first <= second <= head:
        raise ProofUnavailable(f"sizes must satisfy 0 < first <= second <= {head}")
    source = node_source(session, second)
    return {
        "first": first,
        "second": second,
        "first_root": source.mth(0, first).hex(),
        "second_root": source.mth(0, second).hex(),
        "proof": [h.hex() for h in source.consistency_proof(first, second)],
    }


def export_checkpoints(session: Session, signer: CheckpointSigner) -> dict[str, Any]:
    """Every checkpoint with the public key and the consistency proofs between neighbours."""
    checkpoints = list_checkpoints(session)
    base = frontier_of(purge_base(session)).size
    proofs = []
    if checkpoints:
        source = node_source(session, checkpoints[-1].tree_size)
        for a, b in itertools.pairwise(checkpoints):
            if a.tree_size >= base:
                proof = source.consistency_proof(a.tree_size, b.tree_size)
                proofs.append(
                    {"first": a.tree_size, "second": b.tree_size, "proof": [h.hex() for h in proof]}
                )
    return {
        "log": LOG_ID,
        "public_key": signer.jwk,
        "checkpoints": [checkpoint_document(cp) for cp in checkpoints],
        "consistency": proofs,
    }
