"""The ObjectStore port: where the lake's Parquet files live.

Adapters: a local directory (embedded default; its presigned URLs are served by the hub)
and MinIO/S3 via the ``minio`` client (production).

Contract of every adapter:
- keys are relative ``/``-separated paths checked by :func:`check_key` (no ``..``, no
  leading ``/``, a small character set); a bad key raises ``InvalidKey``;
- ``put`` overwrites (idempotent); ``delete`` of a missing key is a no-op (idempotent);
- ``erase`` is the privileged erasure path: it removes the object and every earlier
  version of it a versioned store keeps (S3 version ids, delete markers), so nothing of it
  stays readable; a missing key is a no-op. Only a pupil's erasure calls it (on S3 the
  credentials need ``s3:DeleteObjectVersion``, granted to the erasure role alone);
- ``get``/``chunks`` raise ``ObjectNotFound`` for a missing key; ``size`` returns None;
- ``list`` yields the keys under a prefix in lexicographic order;
- ``presign_put`` returns a URL (and the headers to send with it) that accepts one PUT of
  that key only, until it expires, and never over an existing object (write-once: the
  local store refuses existing keys, S3 gets a signed ``If-None-Match: *``);
- ``fingerprint`` is a string that changes whenever the object's bytes may have changed
  (local: inode, size, mtime and ctime; S3: ETag, size, last-modified), None when missing;
- ``health`` raises when the store cannot be reached; other errors raise ``StoreError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=\-]*(/[A-Za-z0-9][A-Za-z0-9._=\-]*)*")


class StoreError(RuntimeError):
    """The store failed (unreachable, refused)."""


class ObjectNotFound(StoreError):
    """No object under that key."""


class ObjectExists(StoreError):
    """A write-once write found the key already taken."""


class InvalidKey(ValueError):
    """A key outside the allowed form (e.g. containing ``..``)."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key; raise ``InvalidKey`` otherwise."""
    if len(key) > 900 or not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise InvalidKey(f"invalid object key: {key[:120]!r}")
    return key


@dataclass(frozen=True)
class PresignedUpload:
    """Where and how to PUT one object without storage credentials."""

    key: str
    url: str
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)


class ObjectStore(Protocol):
    """Stores immutable-by-convention objects under checked keys (see module docstring)."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def chunks(self, key: str) -> Iterator[bytes]: ...

    def size(self, key: str) -> int | None: ...

    def fingerprint(self, key: str) -> str | None: ...

    def delete(self, key: str) -> None: ...

    def erase(self, key: str) -> None: ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def presign_put(self, key: str, expires_seconds: int) -> PresignedUpload: ...

    def health(self) -> None: ...
