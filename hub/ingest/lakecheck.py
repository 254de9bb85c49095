"""Check the whole lake against the registry and its history: ``edh ingest verify``.

Every live file of every registered batch must be stored under its key with the SHA-256
the registry holds; a file that is not one the connector shipped (its key was made by
an erasure rewrite) must be explained by a rewrite manifest signed by the hub, naming
the object it replaced, the batch's original manifest and the erasure requests. The
report names each problem by key and kind (``missing``, ``altered``, ``unexplained``,
``bad-signature``), never data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from contracts.canonical import canonical_json, sha256_hex
from contracts.errors import SignatureError
from contracts.signing import public_key_from_jwk, verify_detached
from hub.config import Settings
from hub.contracts.public import hub_jwk
from hub.ingest.erasure import is_rewritten, rewrite_links
from hub.ingest.integrity import sha256_of
from hub.ingest.models import BatchStatus, IngestBatch
from hub.pseudonym.public import ErasureRewriteRecord, erasure_rewrites
from hub.storage.port import ObjectNotFound, ObjectStore


@dataclass
class LakeReport:
    """The outcome of a verification: objects checked, rewrites checked, problems."""

    objects: int = 0
    rewrites: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "objects": self.objects,
            "rewrites": self.rewrites,
            "problems": self.problems,
        }


def _stored_digest(store: ObjectStore, key: str) -> str | None:
    try:
        return sha256_of(store.chunks(key))
    except ObjectNotFound:
        return None


def _signed_rewrites(
    session: Session, settings: Settings, report: LakeReport
) -> dict[str, ErasureRewriteRecord]:
    """The rewrites whose hub signature and links hold, by the key they produced."""
    jwk = hub_jwk(settings)
    keys = {str(jwk["kid"]): public_key_from_jwk(jwk)}
    good = {}
    for rewrite in erasure_rewrites(session):
        report.rewrites += 1
        manifest = rewrite.manifest
        try:
            verify_detached(rewrite.manifest_jws, canonical_json(manifest), keys)
        except SignatureError:
            report.problems.append({"key": rewrite.new_key, "problem": "bad-signature"})
            continue
        linked = (
            manifest.get("replaces") == {"key": rewrite.old_key, "sha256": rewrite.old_sha256}
            and manifest.get("file", {}).get("sha256") == rewrite.new_sha256
            and rewrite_links(manifest) == rewrite.request_ids
        )
        if linked:
            good[rewrite.new_key] = rewrite
        else:
            report.problems.append({"key": rewrite.new_key, "problem": "bad-signature"})
    return good


def _explained(
    batch: IngestBatch, entry: dict[str, Any], rewrites: dict[str, ErasureRewriteRecord]
) -> bool:
    """A file the connector shipped, or one a signed rewrite of this batch produced with
    this digest and the batch's original manifest."""
    key = str(entry["key"])
    if not is_rewritten(key):
        return True
    rewrite = rewrites.get(key)
    original = sha256_hex((batch.manifest_jws or "").encode())
    return (
        rewrite is not None
        and rewrite.batch_id == batch.id
        and rewrite.new_sha256 == entry.get("sha256")
        and rewrite.manifest.get("original_manifest_sha256") == original
    )


def verify_lake(store: ObjectStore, session: Session, settings: Settings) -> LakeReport:
    """Check every live registered file against the registry and its history."""
    report = LakeReport()
    rewrites = _signed_rewrites(session, settings, report)
    query = select(IngestBatch).where(IngestBatch.status == BatchStatus.REGISTERED)
    for batch in session.exec(query).all():
        for entry in batch.files:
            if entry.get("purged"):
                continue
            report.objects += 1
            key = str(entry["key"])
            digest = _stored_digest(store, key)
            if digest is None:
                report.problems.append({"key": key, "problem": "missing"})
            elif digest != entry.get("sha256"):
                report.problems.append({"key": key, "problem": "altered"})
            elif not _explained(batch, entry, rewrites):
                report.problems.append({"key": key, "problem": "unexplained"})
    return report
