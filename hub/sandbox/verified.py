"""The lake as the views read it: only objects whose bytes match the registry.

``VerifiedLake`` wraps the lake of the runtime (a local directory or ``S3Lake``): it lists
a contract's files as before, then has ``hub.ingest.integrity`` check every one against
its registered SHA-256 (and that none of them is missing); an altered object refuses the
query (``QueryRefused``, reason
``lake-object-altered``) and alerts the DPO. Around each worker run, ``pin`` verifies
the objects once more and records their fingerprints, and ``unchanged`` checks them
after the read: an object swapped while DuckDB read it (even swapped back) fails the job
with nothing released (closing the window between the check and the read).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

from hub.ingest.public import IntegrityGuard, LakeObject, LakeObjectAltered, stored_object
from hub.sandbox.errors import QueryRefused
from hub.sandbox.s3lake import S3Lake
from hub.sandbox.scope import ContractPart, Lake, lake_files
from hub.storage.local import file_fingerprint

_CHUNK = 1 << 20


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(_CHUNK), b"")


class VerifiedLake:
    """A ``LakeListing`` that lists what ``inner`` lists, once each object is verified."""

    def __init__(self, inner: Lake, guard: IntegrityGuard) -> None:
        self.inner = inner
        self.guard = guard

    def files(
        self,
        provider: str,
        contract: str,
        datasets: tuple[str, ...],
        registered: frozenset[str] | None,
    ) -> tuple[str, ...]:
        if isinstance(self.inner, Path):
            paths = lake_files(self.inner, provider, contract, datasets, registered)
        else:
            paths = self.inner.files(provider, contract, datasets, registered)
        try:
            prefixes = tuple(f"lake/{provider}/{contract}/{d}/" for d in datasets)
            objects = [self._object(p) for p in paths]
            self.guard.check(contract, objects, prefixes, locate=self.object_at)
        except LakeObjectAltered as exc:
            raise QueryRefused(exc.detail, reasons=[exc.slug]) from exc
        return paths

    def pin(self, parts: Iterable[ContractPart]) -> dict[str, str]:
        """Right before a worker reads ``parts``: verify their objects again and return
        the fingerprints they were verified under (see ``unchanged``). Raises
        ``LakeObjectAltered`` (the DPO alerted) when one no longer matches."""
        pinned: dict[str, str] = {}
        for part in parts:
            objects = [self._object(p) for p in part.paths]
            pinned.update(self.guard.check(part.contract_id, objects))
        return pinned

    def unchanged(self, parts: Iterable[ContractPart], pinned: dict[str, str]) -> None:
        """After the worker read ``parts``: raise ``LakeObjectAltered`` (the DPO alerted)
        when any object changed since ``pin``, even if changed back: what the worker
        read may not be the verified bytes, so nothing of it may be released."""
        for part in parts:
            self.guard.unchanged(part.contract_id, [self._object(p) for p in part.paths], pinned)

    def object_at(self, key: str) -> LakeObject:
        """The object stored under lake ``key`` (``lake/...``), as ``files`` lists it."""
        if isinstance(self.inner, Path):
            return self._object(str(self.inner.resolve() / key.removeprefix("lake/")))
        if isinstance(self.inner, S3Lake):
            return self._object(f"s3://{self.inner.bucket}/{key}")
        raise TypeError(f"no integrity check for a lake of type {type(self.inner).__name__}")

    def _object(self, path: str) -> LakeObject:
        if isinstance(self.inner, Path):
            key = "lake/" + Path(path).relative_to(self.inner.resolve()).as_posix()
            return LakeObject(
                key, partial(file_fingerprint, Path(path)), partial(_file_chunks, path)
            )
        if isinstance(self.inner, S3Lake):
            return stored_object(self.inner.store, path.removeprefix(f"s3://{self.inner.bucket}/"))
        raise TypeError(f"no integrity check for a lake of type {type(self.inner).__name__}")
