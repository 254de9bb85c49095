"""``edh-demo --port N``: presigned upload URLs point at the port served, so a connector
outside the demo process can upload (they pointed at port 8000 whatever ``--port`` said)."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.seed import demo_settings
from hub.storage.local import LocalStore


def test_uploads_are_presigned_for_the_address_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDH_PUBLIC_URL", raising=False)
    monkeypatch.setenv("EDH_DEV_MODE", "true")
    settings = demo_settings(str(tmp_path), "http://127.0.0.1:8714")
    store = LocalStore(tmp_path / "objects", settings.public_url, b"k" * 32)
    url = store.presign_put("lake/p/c/d/date=2026-01-05/x.parquet", 60).url
    assert url.startswith("http://127.0.0.1:8714/storage/uploads/lake/p/c/d/"), url


def test_an_explicit_public_url_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDH_PUBLIC_URL", "https://hub.example.fr")
    monkeypatch.setenv("EDH_DEV_MODE", "true")
    assert demo_settings(str(tmp_path), "http://127.0.0.1:8714").public_url == (
        "https://hub.example.fr"
    )
