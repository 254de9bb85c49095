"""S3 object store (MinIO or any S3 service) through the ``minio`` client; upload URLs are
presigned with ``botocore``, which signs the ``If-None-Match: *`` header they require."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
import urllib3
from botocore.config import Config
from minio import Minio
from minio.error import S3Error
from pydantic import SecretStr

from hub.settings.storage import StorageSettings
from hub.storage.port import ObjectNotFound, PresignedUpload, StoreError, check_key

_MISSING = ("NoSuchKey", "NoSuchObject", "NotFound")


class S3Store:
    """One bucket; presigned PUT URLs are signed by the S3 service's own scheme (SigV4),
    with ``If-None-Match: *`` among the signed headers, so a URL never overwrites."""

    def __init__(self, settings: StorageSettings) -> None:
        self.bucket = settings.bucket
        self._settings = settings
        self._presigner: Any = None
        self._client = _client(settings, settings.access_key, settings.secret_key)
        self._eraser = (
            _client(settings, settings.erasure_access_key, settings.erasure_secret_key)
            if settings.erasure_access_key
            else self._client
        )

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (idempotent)."""
        with _reachable():
            if not self._client.bucket_exists(self.bucket):
                self._client.make_bucket(self.bucket)

    def put(self, key: str, data: bytes) -> None:
        with _reachable():
            self._client.put_object(self.bucket, check_key(key), io.BytesIO(data), len(data))

    def get(self, key: str) -> bytes:
        return b"".join(self.chunks(key))

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            with _reachable():
                response = self._client.get_object(self.bucket, check_key(key))
        except S3Error as exc:
            raise _translate(exc, key) from exc
        try:
            with _reachable():
                yield from response.stream(1 << 20)
        finally:
            response.close()
            response.release_conn()

    def size(self, key: str) -> int | None:
        try:
            with _reachable():
                return int(self._client.stat_object(self.bucket, check_key(key)).size or 0)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise StoreError(f"S3 stat failed: {exc.code}") from exc

    def delete(self, key: str) -> None:
        with _reachable():
            self._client.remove_object(self.bucket, check_key(key))

    def erase(self, key: str) -> None:
        """Remove every version and delete marker of ``key`` (versioned bucket or not), with
        the erasure role's credentials when configured."""
        with _reachable():
            versions = self._eraser.list_objects(
                self.bucket, prefix=check_key(key), recursive=True, include_version=True
            )
            for version in [v for v in versions if v.object_name == key]:
                self._eraser.remove_object(self.bucket, key, version_id=version.version_id)

    def list(self, prefix: str) -> Iterator[str]:
        with _reachable():
            objects = self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            names = sorted(str(o.object_name) for o in objects)
        yield from names

    def fingerprint(self, key: str) -> str | None:
        try:
            with _reachable():
                st = self._client.stat_object(self.bucket, check_key(key))
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise StoreError(f"S3 stat failed: {exc.code}") from exc
        return f"{st.etag}:{st.size}:{st.last_modified}:{st.version_id}"

    def presign_put(self, key: str, expires_seconds: int) -> PresignedUpload:
        params = {"Bucket": self.bucket, "Key": check_key(key), "IfNoneMatch": "*"}
        url = self._botocore().generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_seconds
        )
        return PresignedUpload(key, str(url), headers={"If-None-Match": "*"})

    def _botocore(self) -> Any:
        """The botocore S3 client used only to presign (created on first use)."""
        if self._presigner is None:
            cfg = self._settings
            scheme = "https" if cfg.secure else "http"
            self._presigner = botocore.session.get_session().create_client(
                "s3",
                endpoint_url=f"{scheme}://{cfg.endpoint}",
                region_name=cfg.region,
                aws_access_key_id=cfg.access_key,
                aws_secret_access_key=cfg.secret_key.get_secret_value(),
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
        return self._presigner

    def health(self) -> None:
        with _reachable():
            exists = self._client.bucket_exists(self.bucket)
        if not exists:
            raise StoreError(f"bucket {self.bucket} does not exist")


@contextmanager
def _reachable() -> Iterator[None]:
    """The S3 server unreachable or the connection cut (``urllib3`` transport errors, which
    the client lets through) as ``StoreError``."""
    try:
        yield
    except urllib3.exceptions.HTTPError as exc:
        raise StoreError(f"S3 server unreachable: {type(exc).__name__}") from exc


def _client(settings: StorageSettings, access_key: str, secret_key: SecretStr) -> Minio:
    return Minio(
        settings.endpoint,
        access_key=access_key,
        secret_key=secret_key.get_secret_value(),
        secure=settings.secure,
        region=settings.region,
    )


def _translate(exc: S3Error, key: str) -> StoreError:
    if exc.code in _MISSING:
        return ObjectNotFound(key)
    return StoreError(f"S3 error {exc.code} on {key}")
