"""Build the configured object store."""

from __future__ import annotations

from hub.config import Settings
from hub.secrets import UPLOAD_URL_LABEL, derive_key
from hub.storage.local import LocalStore
from hub.storage.port import ObjectStore
from hub.storage.s3 import S3Store


def upload_secret(settings: Settings) -> bytes:
    """The key signing the local store's upload URLs (HKDF of the hub secret, own label)."""
    return derive_key(settings.hub_secret, UPLOAD_URL_LABEL)


def make_store(settings: Settings) -> ObjectStore:
    """The store named by ``settings.storage.kind`` (the S3 bucket is created if missing)."""
    cfg = settings.storage
    if cfg.kind == "s3":
        store = S3Store(cfg)
        store.ensure_bucket()
        return store
    root = cfg.root or settings.data_dir / "objects"
    return LocalStore(root, settings.public_url, upload_secret(settings))
