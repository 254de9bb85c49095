"""The witness store: signed checkpoints and their leaves, published outside the database.

Layout (names sort by tree size):

- ``checkpoint/<size, 20 digits>``: the C2SP checkpoint note, signed by the hub and
  cosigned by the witnesses that answered;
- ``leaves/<from, 20 digits>-<to, 20 digits>``: the raw 32-byte event hashes
  ``from + 1 .. to`` (the Merkle leaves' data), from the previously published size.

Contract of every :class:`WitnessStore` adapter: ``write_once`` creates an object that
never changes afterwards (writing the same bytes again is a no-op; different bytes raise
``StoreRefused``); ``read`` raises ``ObjectNotFound`` for a missing name; ``names`` lists
the names under a prefix in lexicographic order. The hub never deletes or rewrites: in
production the store is a bucket prefix under object lock (``infra/minio``), locally a
directory of read-only files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from hub.audit.note import Verifier, signed_by
from hub.config import Settings
from hub.storage.port import ObjectNotFound, ObjectStore, StoreError, check_key
from hub.storage.s3 import S3Store

CHECKPOINTS = "checkpoint/"
LEAVES = "leaves/"
HASH_SIZE = 32


class StoreRefused(StoreError):
    """A write-once object already exists with other content."""


class WitnessStore(Protocol):
    """Write-once named objects (see the module docstring)."""

    def write_once(self, name: str, data: bytes) -> None: ...

    def read(self, name: str) -> bytes: ...

    def names(self, prefix: str) -> list[str]: ...


class DirectoryStore:
    """Files under ``root``, created exclusively (``O_EXCL``) and left read-only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write_once(self, name: str, data: bytes) -> None:
        path = self.root / check_key(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            if path.read_bytes() != data:
                raise StoreRefused(f"{name} already published with other content") from None
            return
        except OSError as exc:
            raise StoreError(f"cannot write {name}: {exc.strerror}") from exc
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())

    def read(self, name: str) -> bytes:
        path = self.root / check_key(name)
        if not path.is_file():
            raise ObjectNotFound(name)
        return path.read_bytes()

    def names(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(prefix + p.name for p in folder.iterdir() if p.is_file())


class ObjectPrefixStore:
    """Objects under ``prefix`` of an :class:`~hub.storage.port.ObjectStore` (production:
    the bucket's object-lock prefix, where the storage itself refuses overwrites)."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix.strip("/") + "/"

    def write_once(self, name: str, data: bytes) -> None:
        key = self.prefix + name
        if self.store.size(key) is not None:
            if self.store.get(key) != data:
                raise StoreRefused(f"{name} already published with other content")
            return
        self.store.put(key, data)

    def read(self, name: str) -> bytes:
        return self.store.get(self.prefix + name)

    def names(self, prefix: str) -> list[str]:
        return [key[len(self.prefix) :] for key in self.store.list(self.prefix + prefix)]


def checkpoint_name(size: int) -> str:
    return f"{CHECKPOINTS}{size:020d}"


def leaves_name(start: int, end: int) -> str:
    return f"{LEAVES}{start:020d}-{end:020d}"


def published_sizes(store: WitnessStore) -> list[int]:
    """The tree sizes of the published checkpoints, ascending."""
    return sorted(int(n[len(CHECKPOINTS) :]) for n in store.names(CHECKPOINTS))


def leaf_ranges(store: WitnessStore) -> list[tuple[int, int]]:
    """The ``(from, to)`` ranges of the published leaf files, ascending."""
    ranges = []
    for name in store.names(LEAVES):
        start, _, end = name[len(LEAVES) :].partition("-")
        ranges.append((int(start), int(end)))
    return sorted(ranges)


def read_leaves(store: WitnessStore, start: int, end: int) -> list[bytes]:
    """The leaf data of events ``start + 1 .. end``; ``StoreError`` when the file is torn."""
    data = store.read(leaves_name(start, end))
    if len(data) != (end - start) * HASH_SIZE:
        raise StoreError(f"leaves {start}-{end} do not hold {end - start} hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def iter_published_leaves(store: WitnessStore, upto: int) -> Iterator[tuple[int, bytes]]:
    """``(seq, leaf data)`` of the published leaves, in order, while they are contiguous
    from event 1 and ``seq <= upto`` (of two files from one size, the longer: a
    publication interrupted after its leaves leaves a shorter one behind)."""
    ends = _leaf_ends(store)
    reached = 0
    while reached in ends and reached < upto:
        end = ends[reached]
        for offset, data in enumerate(read_leaves(store, reached, end)):
            if reached + offset + 1 > upto:
                return
            yield reached + offset + 1, data
        reached = end


def _leaf_ends(store: WitnessStore) -> dict[int, int]:
    """``{from: to}`` of the published leaf files (of two from one size, the longer)."""
    ends: dict[int, int] = {}
    for start, end in leaf_ranges(store):
        ends[start] = max(end, ends.get(start, 0))
    return ends


def leaves_reach(store: WitnessStore) -> int:
    """How many events, from event 1 on, the store's leaf files cover without a gap."""
    ends, reached = _leaf_ends(store), 0
    while reached in ends:
        reached = ends[reached]
    return reached


def published_roots(store: WitnessStore, verifier: Verifier) -> tuple[dict[int, str], list[int]]:
    """``({size: root hex}, [sizes not signed by verifier])`` of the published checkpoints."""
    roots, bad = {}, []
    for size in published_sizes(store):
        root = published_root(store, verifier, size)
        if root is None:
            bad.append(size)
        else:
            roots[size] = root
    return roots, bad


def published_root(store: WitnessStore, verifier: Verifier, size: int) -> str | None:
    """The root (hex) of the checkpoint of ``size`` published in ``store``, None when its
    note is not signed by ``verifier`` for that size; ``ObjectNotFound`` when absent."""
    note = store.read(checkpoint_name(size)).decode("utf-8", "replace")
    checkpoint = signed_by(note, verifier)
    if checkpoint is None or checkpoint.size != size or checkpoint.origin != verifier.name:
        return None
    return checkpoint.root.hex()


def witness_store(settings: Settings) -> WitnessStore:
    """The configured witness store (``EDH_AUDIT__PUBLISH_TO``)."""
    audit = settings.audit
    if audit.publish_to == "object-store":
        bucket = settings.storage.model_copy(update={"bucket": audit.witness_bucket})
        return ObjectPrefixStore(S3Store(bucket), audit.witness_prefix)
    return DirectoryStore(audit.witness_dir or settings.data_dir / "audit-witness")
