"""Build the configured object store."""

from __future__ import annotations

import hashlib
import hmac

from hub.config import Settings
from hub.storage.local import LocalStore
from hub.storage.port import ObjectStore
from hub.storage.s3 import S3Store


def upload_secret(settings: Settings) -> bytes:
    """The key signing the local store's upload URLs (derived, domain-separated)."""
    master = settings.pseudonymisation_secret.get_secret_value().encode()
    return hmac.new(master, b"edh-local-upload-url-v1", hashlib.sha256).digest()


def make_store(settings: Settings) -> ObjectStore:
    """The store named by ``settings.storage.kind`` (the S3 bucket is created if missing)."""
    cfg = settings.storage
    if cfg.kind == "s3":
        store = S3Store(cfg)
        store.ensure_bucket()
        return store
    root = cfg.root or settings.data_dir / "objects"
    return LocalStore(root, settings.public_url, upload_secret(settings))
