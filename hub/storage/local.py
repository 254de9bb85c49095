"""Local-directory object store; presigned uploads are HMAC-signed URLs served by the hub."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

from hub.storage.port import ObjectExists, ObjectNotFound, PresignedUpload, check_key

UPLOAD_ROUTE = "/storage/uploads/"
_CHUNK = 1 << 20


class LocalStore:
    """Objects as files under ``root``; writes are atomic (temporary file + rename or link)."""

    def __init__(self, root: Path, public_url: str, signing_secret: bytes) -> None:
        self.root = root
        self._public_url = public_url.rstrip("/")
        self._secret = signing_secret
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        """Write (or replace) an object atomically: temporary file, then rename. The file is
        read-only, as an uploaded one: only another ``put`` or a delete replaces it."""
        path = self._path(key)
        tmp = _write_temp(path, iter((data,)))
        try:
            tmp.chmod(0o444)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def create_stream(self, key: str, parts: Iterator[bytes]) -> None:
        """Write a new, read-only object from byte chunks (the upload endpoint).

        Write-once: the complete file is linked into place, which fails when the key
        exists (``ObjectExists``); a concurrent or later write never replaces it.
        """
        path = self._path(key)
        tmp = _write_temp(path, parts)
        try:
            tmp.chmod(0o444)
            os.link(tmp, path)
        except FileExistsError as exc:
            raise ObjectExists(key) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        return b"".join(self.chunks(key))

    def chunks(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        with path.open("rb") as fh:
            yield from iter(lambda: fh.read(_CHUNK), b"")

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def fingerprint(self, key: str) -> str | None:
        return file_fingerprint(self._path(key))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def erase(self, key: str) -> None:
        """A directory keeps no versions: erasing is deleting."""
        self.delete(key)

    def list(self, prefix: str) -> Iterator[str]:
        start = self.root / prefix.rpartition("/")[0]
        if not start.is_dir():
            return
        found = (
            p.relative_to(self.root).as_posix()
            for p in start.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )
        yield from sorted(k for k in found if k.startswith(prefix))

    def _signature(self, key: str, expires: int) -> str:
        message = f"PUT\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def presign_put(self, key: str, expires_seconds: int) -> PresignedUpload:
        expires = int(time.time()) + expires_seconds
        query = urlencode(
            {"expires": expires, "signature": self._signature(check_key(key), expires)}
        )
        return PresignedUpload(key, f"{self._public_url}{UPLOAD_ROUTE}{quote(key)}?{query}")

    def check_upload(self, key: str, expires: int, signature: str) -> str | None:
        """None if the signed URL allows a PUT of ``key`` now, else the reason."""
        check_key(key)
        if expires < time.time():
            return "the upload URL has expired"
        if not hmac.compare_digest(self._signature(key, expires), signature):
            return "the upload URL was not signed for this key"
        return None

    def health(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise OSError(f"object store directory is not writable: {self.root}")


def file_fingerprint(path: Path) -> str | None:
    """Inode, size, mtime and ctime of a regular file (None when missing): any write or
    replacement changes it, since no write can keep the ctime."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _write_temp(path: Path, parts: Iterator[bytes]) -> Path:
    """The chunks written and synced to a hidden temporary file beside ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.part")
    try:
        with tmp.open("wb") as fh:
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
