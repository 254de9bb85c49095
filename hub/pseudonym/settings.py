"""Settings of the pseudonymisation service's key custody (``EDH_PSEUDONYM__*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class PseudonymSettings(BaseModel):
    """Where the master keys live: derived in process from ``EDH_PSEUDONYMISATION_SECRET``
    (development) or in a PKCS#11 token as non-extractable HMAC keys (production)."""

    custody: Literal["inprocess", "pkcs11"] = Field(
        default="inprocess", description="Key custody adapter: inprocess or pkcs11."
    )
    pkcs11_library: Path = Field(
        default=Path("/usr/lib/softhsm/libsofthsm2.so"),
        description="PKCS#11 module of the token (custody=pkcs11).",
    )
    token_label: str = Field(default="edh", description="Label of the PKCS#11 token.")
    pin: SecretStr = Field(default=SecretStr(""), description="User PIN of the token.")
    key_version: str = Field(
        default="v1",
        pattern=r"^v[0-9]{1,4}$",
        description="Version of the master key in use (token key label edh-pseudonym-<v>).",
    )
