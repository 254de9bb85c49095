"""The audit key: signs the trail's checkpoints and derives the key that seals each event."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.config import Settings
from hub.keys import load_or_create_key

AUDIT_KEY_SETTING = "EDH_AUDIT__KEY_FILE"


def audit_key_path(settings: Settings) -> Path:
    """Where the audit key lives (``EDH_AUDIT__KEY_FILE`` or the data dir)."""
    return settings.audit.key_file or settings.data_dir / "keys" / "audit-ed25519.pem"


def load_audit_key(settings: Settings) -> Ed25519PrivateKey:
    """The audit key from ``EDH_AUDIT__KEY_FILE`` (generated under data_dir in dev mode),
    held in memory once loaded.

    Raises ``ServiceUnavailable`` when the key is missing outside dev mode.
    """
    return load_or_create_key(
        audit_key_path(settings), allow_create=settings.dev_mode, setting=AUDIT_KEY_SETTING
    )
