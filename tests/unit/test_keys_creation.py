"""Dev-mode key creation: concurrent first callers all get the same, whole key."""

from __future__ import annotations

import multiprocessing
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hub.errors import ServiceUnavailable
from hub.keys import load_or_create_key


def _public(path: Path) -> bytes:
    key = load_or_create_key(path, allow_create=True)
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_concurrent_threads_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "hub.pem"
    with ThreadPoolExecutor(16) as pool:
        keys = set(pool.map(_public, [path] * 64))
    assert len(keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["hub.pem"]  # no temporary left


def test_concurrent_processes_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "hub.pem"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = set(pool.map(_public, [path] * 8))
    assert len(keys) == 1


def test_missing_key_is_refused_outside_dev_mode(tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable, match="provision"):
        load_or_create_key(tmp_path / "hub.pem", allow_create=False)
    assert not (tmp_path / "hub.pem").exists()


def test_a_key_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hub.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises((ServiceUnavailable, ValueError)):
        load_or_create_key(path, allow_create=True)
