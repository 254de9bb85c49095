"""The hub's secrets: strength checks at start-up and keys derived from the hub secret.

Outside dev mode every secret must hold at least 32 bytes and look random: a secret whose
estimated entropy (Shannon entropy of its characters times its length) is under 128 bits,
or that repeats itself (under 3/4 of its 3-character runs distinct), is refused, so
``"a" * 40`` or a repeated password fails while ``openssl rand -hex 32`` or
``openssl rand -base64 32`` passes. The hub secret (``EDH_HUB_SECRET``) never keys
anything directly: :func:`derive_key` expands it with HKDF-SHA256 under one label per use
(upload-URL signatures, sandbox project keys), so one derived key reveals nothing of another.
"""

from __future__ import annotations

import math
from collections import Counter

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from hub.errors import ServiceUnavailable

MIN_SECRET_BYTES = 32
MIN_ENTROPY_BITS = 128
MIN_DISTINCT_TRIGRAMS = 0.75

UPLOAD_URL_LABEL = "edh/upload-url-signing/v1"
SANDBOX_PROJECT_LABEL = "edh/sandbox-project-keys/v1"


def estimated_entropy_bits(value: str) -> float:
    """Shannon entropy of ``value``'s characters times its length: an upper bound of the
    randomness it can hold (a low value proves the secret weak; a high one does not
    prove it strong, which is why secrets must come from a generator)."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def distinct_trigrams(value: str) -> float:
    """The share of distinct 3-character runs in ``value`` (1.0 for a random string,
    low for a repeated word); 0.0 for a string shorter than 3 characters."""
    runs = [value[i : i + 3] for i in range(len(value) - 2)]
    return len(set(runs)) / len(runs) if runs else 0.0


def weakness(value: str) -> str | None:
    """Why ``value`` is too weak for a production secret, or ``None``."""
    if len(value.encode("utf-8")) < MIN_SECRET_BYTES:
        return f"shorter than {MIN_SECRET_BYTES} bytes"
    low = estimated_entropy_bits(value) < MIN_ENTROPY_BITS
    if low or distinct_trigrams(value) < MIN_DISTINCT_TRIGRAMS:
        return "too predictable (low entropy); generate it, e.g. `openssl rand -hex 32`"
    return None


def check_secret(setting: str, secret: SecretStr, dev_default: str) -> None:
    """Raise ``ServiceUnavailable`` naming ``setting`` when ``secret`` is the development
    default, empty, short or low-entropy (never quoting the secret)."""
    value = secret.get_secret_value()
    if value == dev_default:
        raise ServiceUnavailable(
            f"{setting} is the development default; set a secret of at least "
            f"{MIN_SECRET_BYTES} random bytes (or EDH_DEV_MODE=true for a trial)"
        )
    reason = weakness(value)
    if reason:
        raise ServiceUnavailable(f"{setting} is refused: {reason}")


def derive_key(secret: SecretStr, label: str) -> bytes:
    """A 32-byte key for one use, HKDF-SHA256(secret, info=label): distinct labels give
    independent keys; the same secret and label always give the same key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode("ascii"))
    return hkdf.derive(secret.get_secret_value().encode("utf-8"))
