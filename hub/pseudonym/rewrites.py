"""The evidence of what erasures and re-pseudonymisations rewrote in the lake.

- ``ErasureRewrite``: one object rewritten (old and new keys and digests, rows removed),
  with the manifest the hub signed linking it to the batch's original manifest and to
  the requests that caused it; the lake's verification checks it.
- ``Repseudonymisation``: one contract's data moved from one master key version to
  another (counts only); a batch shipped under the old key is refused at completion.

Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from hub.pseudonym.models import ErasureRewrite, Repseudonymisation
from hub.pseudonym.records import ErasureRewriteRecord


def record_rewrite(
    session: Session,
    *,
    rewrite_id: str,
    request_ids: list[Any],
    batch_id: str,
    old: tuple[str, str],
    new: tuple[str, str],
    rows_removed: int,
    manifest: dict[str, Any],
    manifest_jws: str,
) -> None:
    """Record one rewritten object: ``old`` and ``new`` are its (key, SHA-256) before and
    after, ``manifest`` what the hub signed (``manifest_jws``: its detached JWS)."""
    session.add(
        ErasureRewrite(
            id=rewrite_id,
            request_ids=request_ids,
            batch_id=batch_id,
            old_key=old[0],
            old_sha256=old[1],
            new_key=new[0],
            new_sha256=new[1],
            rows_removed=rows_removed,
            manifest=manifest,
            manifest_jws=manifest_jws,
        )
    )


def erasure_rewrites(session: Session) -> list[ErasureRewriteRecord]:
    """Every object rewrite ever recorded."""
    return list(session.exec(select(ErasureRewrite)).all())


def record_repseudonymisation(
    session: Session,
    *,
    run_id: str,
    contract_id: str,
    versions: tuple[str, str],
    pairs: int,
    objects_rewritten: int,
    rows: tuple[int, int],
    requested_by: str,
) -> None:
    """Record one contract's move from the master key ``versions[0]`` to ``versions[1]``
    with ``pairs`` (old, new) pseudonym pairs: the objects rewritten and the ``rows``
    (kept, dropped)."""
    session.add(
        Repseudonymisation(
            id=run_id,
            contract_id=contract_id,
            from_version=versions[0],
            to_version=versions[1],
            pairs=pairs,
            objects_rewritten=objects_rewritten,
            rows_kept=rows[0],
            rows_dropped=rows[1],
            requested_by=requested_by,
        )
    )


def was_repseudonymised(session: Session, contract_id: str) -> bool:
    """Whether the contract's data ever moved to another master key version."""
    moved = select(Repseudonymisation.id).where(Repseudonymisation.contract_id == contract_id)
    return session.exec(moved).first() is not None
