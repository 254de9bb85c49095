"""The lake as the views read it: only objects whose bytes match the registry.

``VerifiedLake`` wraps the lake of the runtime (a local directory or ``S3Lake``): it lists
a contract's files as before, then has ``hub.ingest.integrity`` check every one against
its registered SHA-256 (and that none of them is missing); an altered object refuses the
query (``QueryRefused``, reason
``lake-object-altered``) and alerts the DPO.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from hub.ingest.integrity import IntegrityGuard, LakeObject, LakeObjectAltered, stored_object
from hub.sandbox.errors import QueryRefused
from hub.sandbox.s3lake import S3Lake
from hub.sandbox.scope import Lake, lake_files
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
            self.guard.check(contract, [self._object(p) for p in paths], prefixes)
        except LakeObjectAltered as exc:
            raise QueryRefused(exc.detail, reasons=[exc.slug]) from exc
        return paths

    def _object(self, path: str) -> LakeObject:
        if isinstance(self.inner, Path):
            key = "lake/" + Path(path).relative_to(self.inner.resolve()).as_posix()
            return LakeObject(
                key, partial(file_fingerprint, Path(path)), partial(_file_chunks, path)
            )
        if isinstance(self.inner, S3Lake):
            return stored_object(self.inner.store, path.removeprefix(f"s3://{self.inner.bucket}/"))
        raise TypeError(f"no integrity check for a lake of type {type(self.inner).__name__}")
