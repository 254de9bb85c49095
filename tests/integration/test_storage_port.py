"""One ObjectStore suite, run against the local directory and a real S3 server (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.storage.local import LocalStore
from hub.storage.port import InvalidKey, ObjectExists, ObjectNotFound, ObjectStore
from hub.storage.s3 import S3Store
from tests.support.ingest_fixtures import s3_settings


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "objects", "http://127.0.0.1:1", b"k" * 32)
        return
    s3 = S3Store(s3_settings(request.getfixturevalue("s3_endpoint")))
    s3.ensure_bucket()
    yield s3


def test_put_get_size_list_delete(store: ObjectStore) -> None:
    store.put("lake/p/c/d/date=2026-01-02/a.parquet", b"hello")
    store.put("lake/p/c/d/date=2026-01-03/b.parquet", b"world!")
    store.put("quarantine/p/x.parquet", b"q")
    assert store.get("lake/p/c/d/date=2026-01-02/a.parquet") == b"hello"
    assert store.size("lake/p/c/d/date=2026-01-03/b.parquet") == 6
    assert list(store.list("lake/p/c/")) == [
        "lake/p/c/d/date=2026-01-02/a.parquet",
        "lake/p/c/d/date=2026-01-03/b.parquet",
    ]
    store.delete("lake/p/c/d/date=2026-01-02/a.parquet")
    store.delete("lake/p/c/d/date=2026-01-02/a.parquet")  # idempotent
    assert store.size("lake/p/c/d/date=2026-01-02/a.parquet") is None
    assert list(store.list("lake/")) == ["lake/p/c/d/date=2026-01-03/b.parquet"]


def test_put_overwrites_and_chunks_stream_the_object(store: ObjectStore) -> None:
    store.put("lake/k.bin", b"old")
    data = bytes(range(256)) * 10_000
    store.put("lake/k.bin", data)
    assert b"".join(store.chunks("lake/k.bin")) == data


def test_missing_object_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.get("lake/absent.parquet")
    assert store.size("lake/absent.parquet") is None


@pytest.mark.parametrize("key", ["../etc/passwd", "lake/../x", "/abs", "lake//x", "a b", ""])
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, b"x")


def test_presigned_put_on_s3_needs_no_credentials(s3_endpoint: str) -> None:
    s3 = S3Store(s3_settings(s3_endpoint))
    s3.ensure_bucket()
    grant = s3.presign_put("lake/p/c/d/date=2026-01-02/x.parquet", 60)
    put = httpx.put(grant.url, content=b"parquet-bytes", headers=grant.headers)
    assert put.status_code == 200
    assert s3.get("lake/p/c/d/date=2026-01-02/x.parquet") == b"parquet-bytes"
    again = httpx.put(grant.url, content=b"other-bytes", headers=grant.headers)
    assert again.status_code == 412  # write-once: never over an existing object
    assert s3.get("lake/p/c/d/date=2026-01-02/x.parquet") == b"parquet-bytes"
    s3.health()


def test_fingerprint_changes_with_every_write(store: ObjectStore) -> None:
    assert store.fingerprint("lake/f.bin") is None
    store.put("lake/f.bin", b"one")
    first = store.fingerprint("lake/f.bin")
    assert first is not None and store.fingerprint("lake/f.bin") == first
    store.put("lake/f.bin", b"two")
    assert store.fingerprint("lake/f.bin") not in (None, first)


def test_local_uploads_are_write_once_and_read_only(tmp_path: Path) -> None:
    local = LocalStore(tmp_path, "http://hub", b"s" * 32)
    local.create_stream("lake/w.parquet", iter((b"first",)))
    with pytest.raises(ObjectExists):
        local.create_stream("lake/w.parquet", iter((b"second",)))
    assert local.get("lake/w.parquet") == b"first"
    assert (tmp_path / "lake" / "w.parquet").stat().st_mode & 0o222 == 0
    assert [p.name for p in (tmp_path / "lake").iterdir()] == ["w.parquet"]  # no leftovers


def test_local_presigned_url_is_bound_to_its_key_and_expiry(tmp_path: Path) -> None:
    local = LocalStore(tmp_path, "http://hub", b"s" * 32)
    grant = local.presign_put("lake/a.parquet", 60)
    query = dict(p.split("=", 1) for p in grant.url.split("?", 1)[1].split("&"))
    assert local.check_upload("lake/a.parquet", int(query["expires"]), query["signature"]) is None
    other = local.check_upload("lake/b.parquet", int(query["expires"]), query["signature"])
    assert other == "the upload URL was not signed for this key"
    late = local.check_upload("lake/a.parquet", 1, query["signature"])
    assert late == "the upload URL has expired"


def test_erase_removes_the_object_and_every_version(store: ObjectStore) -> None:
    if isinstance(store, S3Store):
        from minio.versioningconfig import ENABLED, VersioningConfig

        store._client.set_bucket_versioning(store.bucket, VersioningConfig(ENABLED))
    key = "lake/p/c/d/date=2026-01-02/a.parquet"
    store.put(key, b"first")
    store.put(key, b"second")
    store.put("lake/p/c/d/date=2026-01-02/a.parquet.keep", b"neighbour")
    store.erase(key)
    store.erase(key)  # idempotent
    assert store.size(key) is None
    assert list(store.list("lake/")) == ["lake/p/c/d/date=2026-01-02/a.parquet.keep"]
    if isinstance(store, S3Store):
        listed = store._client.list_objects(
            store.bucket, prefix="lake/", recursive=True, include_version=True
        )
        assert [v.object_name for v in listed] == ["lake/p/c/d/date=2026-01-02/a.parquet.keep"]
