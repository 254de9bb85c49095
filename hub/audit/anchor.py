"""Publishing the hub's checkpoints outside the database, and asking witnesses to cosign.

After each checkpoint (:func:`hub.audit.service.checkpoint_now`), :func:`publish` writes
to the witness store (:mod:`hub.audit.publish`) the leaves appended since the last
published checkpoint, then the checkpoint as a C2SP note signed by the hub's audit key
(the note key is named by ``EDH_AUDIT__LOG_ORIGIN``), with the cosignatures of the
configured witnesses (``EDH_AUDIT__WITNESSES``) that accepted its consistency proof.
Publication never changes the database; it fails (``StoreError``) only when the store
refuses, or (``PublicationRefused``) when the log no longer reproduces the checkpoint
published last; a witness that is down or refuses is logged and skipped.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from hub.audit.note import (
    Checkpoint,
    NoteError,
    Verifier,
    join_note,
    parse_vkey,
    sign_line,
    split_note,
)
from hub.audit.note import verified_by as line_verified_by
from hub.audit.publish import (
    CHECKPOINTS,
    DirectoryStore,
    StoreRefused,
    WitnessStore,
    checkpoint_name,
    leaves_name,
    published_root,
    published_roots,
    published_sizes,
)
from hub.audit.witness import SIZE_TYPE, request_body
from hub.errors import HubError
from hub.settings.audit import AuditSettings, WitnessEndpoint
from hub.storage.port import ObjectNotFound, StoreError
from hub.trail.checkpoints import frontier_at, latest_checkpoint, purge_base, signature_holds
from hub.trail.merkle import NodeSource
from hub.trail.stream import iter_hashes

log = logging.getLogger("hub.audit.anchor")
TIMEOUT_SECONDS = 5.0


def hub_verifier(settings: AuditSettings, key: Ed25519PrivateKey) -> Verifier:
    """The hub's note verifier key (what witnesses and the DPO trust)."""
    return Verifier(settings.log_origin, key.public_key())


def publish(
    session: Session, store: WitnessStore, settings: AuditSettings, key: Ed25519PrivateKey
) -> None:
    """Publish the latest checkpoint of the database, unless already published."""
    cp = latest_checkpoint(session)
    sizes = published_sizes(store)
    last = sizes[-1] if sizes else 0
    if cp is None or cp.tree_size <= last:
        return
    if not signature_holds(cp, key.public_key()):
        raise PublicationRefused(f"checkpoint {cp.id} is not signed by the hub: not publishing")
    base = purge_base(session)
    start = last if base is None or last >= base.tree_size else None
    if last and start is not None:
        _check_extends(session, store, settings, key, last)
    leaves = list(iter_hashes(session, start, cp.tree_size)) if start is not None else []
    if start is not None:
        store.write_once(leaves_name(start, cp.tree_size), b"".join(leaves))
    checkpoint = Checkpoint(settings.log_origin, cp.tree_size, bytes.fromhex(cp.root_hash))
    lines = [sign_line(checkpoint.body, settings.log_origin, key)]
    for endpoint in settings.witnesses:
        line = _cosignature(session, endpoint, checkpoint, join_note(checkpoint.body, lines))
        if line is not None:
            lines.append(line)
    store.write_once(checkpoint_name(cp.tree_size), join_note(checkpoint.body, lines).encode())


class PublicationRefused(StoreError):
    """The log no longer extends the checkpoint published last: publishing would hide it."""


def _check_extends(
    session: Session,
    store: WitnessStore,
    settings: AuditSettings,
    key: Ed25519PrivateKey,
    last: int,
) -> None:
    published = published_root(store, hub_verifier(settings, key), last)  # only the last one
    if published is None or frontier_at(session, last).root().hex() != published:
        raise PublicationRefused(
            f"the log no longer reproduces the published checkpoint of size {last}"
        )


def latest_publication(store: WitnessStore) -> tuple[int, int] | None:
    """``(tree size, witness cosignatures)`` of the latest published checkpoint."""
    sizes = published_sizes(store)
    if not sizes:
        return None
    _body, lines = split_note(store.read(checkpoint_name(sizes[-1])).decode("utf-8", "replace"))
    return sizes[-1], len(lines) - 1


def _cosignature(
    session: Session, endpoint: WitnessEndpoint, checkpoint: Checkpoint, note: str
) -> str | None:
    """The witness's verified cosignature line, or None (logged) when it gives none."""
    try:
        verifier = parse_vkey(endpoint.vkey)
        old = 0
        for _attempt in range(2):  # a first 409 tells the size the witness last cosigned
            status, body = _post(endpoint.url, _request(session, old, checkpoint, note))
            if status == 409 and body.strip().isdigit():
                old = int(body)
                continue
            break
    except (NoteError, OSError, ValueError) as exc:
        log.warning("witness %s unreachable or misconfigured: %s", endpoint.url, exc)
        return None
    lines = body.decode("utf-8", "replace").splitlines()
    good = [line for line in lines if line_verified_by(checkpoint.body, line, verifier)]
    if status != 200 or not good:
        log.warning("witness %s did not cosign size %d (%d)", endpoint.url, checkpoint.size, status)
        return None
    return good[0]


def _request(session: Session, old: int, checkpoint: Checkpoint, note: str) -> bytes:
    """An add-checkpoint body from size ``old`` (its consistency proof read from the DB)."""
    if not 0 < old < checkpoint.size:
        return request_body(old, [], note)
    base = frontier_at(session, old)
    source = NodeSource(base, list(iter_hashes(session, old, checkpoint.size)))
    return request_body(old, source.consistency_proof(old, checkpoint.size), note)


def _post(url: str, body: bytes) -> tuple[int, bytes]:
    if not url.startswith(("http://", "https://")):
        raise ValueError("a witness URL is http(s)")
    target = url.rstrip("/") + "/add-checkpoint"
    request = urllib.request.Request(target, data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as refused:
        is_size = refused.headers.get("Content-Type", "").startswith(SIZE_TYPE)
        return refused.code, refused.read() if is_size else b""


class RemoteWitness:
    """A witness's latest cosigned checkpoint of ``origin``, seen as a read-only witness
    store holding that one checkpoint (no leaves)."""

    def __init__(self, url: str, origin: str) -> None:
        self.url = url.rstrip("/")
        self.origin = origin
        self._note: bytes | None = None

    def _latest(self) -> bytes:
        if self._note is None:
            query = urllib.parse.urlencode({"origin": self.origin})
            try:
                with urllib.request.urlopen(  # noqa: S310 (an operator-given witness URL)
                    f"{self.url}/checkpoint?{query}", timeout=TIMEOUT_SECONDS
                ) as answer:
                    self._note = bytes(answer.read())
            except urllib.error.HTTPError as refused:
                if refused.code != 404:
                    raise
                self._note = b""
        return self._note

    def write_once(self, name: str, data: bytes) -> None:
        raise StoreRefused("a remote witness is read-only")

    def read(self, name: str) -> bytes:
        if name not in self.names(CHECKPOINTS):
            raise ObjectNotFound(name)
        return self._latest()

    def names(self, prefix: str) -> list[str]:
        note = self._latest().decode("utf-8", "replace")
        lines = note.split("\n")
        if prefix != CHECKPOINTS or len(lines) < 2 or not lines[1].isdigit():
            return []
        return [checkpoint_name(int(lines[1]))]


def open_witness(spec: str, origin: str) -> WitnessStore:
    """A witness store from ``edh audit verify --witness``: a URL or a directory."""
    if spec.startswith(("http://", "https://")):
        return RemoteWitness(spec, origin)
    return DirectoryStore(Path(spec))


@dataclass
class Witnessed:
    """Checkpoints held outside the database: roots by size (signed by the hub's key) and
    the sizes of published checkpoints whose signature does not hold."""

    roots: dict[int, str] = field(default_factory=dict)
    unsigned: list[int] = field(default_factory=list)


class WitnessUnavailable(HubError):
    """A witness or witness store to verify against could not be read."""

    status, slug, title = 503, "audit-witness-unavailable", "A witness could not be read"


def gather_witnessed(stores: list[WitnessStore], verifier: Verifier) -> Witnessed:
    """The hub-signed checkpoints of every store (the first root seen for a size);
    ``WitnessUnavailable`` when one cannot be read."""
    found = Witnessed()
    for store in stores:
        try:
            roots, bad = published_roots(store, verifier)
        except (OSError, StoreError) as exc:
            raise WitnessUnavailable(f"cannot read a witness: {type(exc).__name__}") from exc
        for size, root in roots.items():
            found.roots.setdefault(size, root)
        found.unsigned.extend(bad)
    return found
