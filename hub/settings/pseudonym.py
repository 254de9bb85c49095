"""Settings of the pseudonymisation service (``EDH_PSEUDONYM__*``).

The same section configures both sides: the service process (``edh pseudonym serve``),
which holds the master keys (``custody`` = ``pkcs11``, or ``inprocess`` in development),
and the hub, which outside dev mode holds none (``custody`` = ``remote``) and asks the
service over HTTP (``service.url``) with the shared service credential (``service.token``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

DEV_SERVICE_TOKEN = "dev-only-pseudonym-service-token-change-me"  # noqa: S105


class PseudonymServiceSettings(BaseModel):
    """The pseudonymisation service process and how the hub reaches it."""

    url: str = Field(
        default="http://127.0.0.1:8010",
        description="Base URL of the pseudonymisation service (hub side, custody=remote).",
    )
    token: SecretStr = Field(
        default=SecretStr(DEV_SERVICE_TOKEN),
        description="Service credential: the hub sends it as a bearer token, the service "
        "verifies it (same value on both sides, ≥ 32 random bytes outside dev mode).",
    )
    database_url: str = Field(
        default="",
        description="The service's own database (its audit trail); empty means "
        "`pseudonym.sqlite3` in the data directory.",
    )
    timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Hub-side timeout of a call to the service."
    )
    audit_retention_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="The service's audit trail (each key derivation, each refusal) is purged "
        "by whole months older than this, sealed by a signed checkpoint.",
    )
    purge_every_minutes: int = Field(
        default=1440,
        ge=0,
        le=525_600,
        description="The service applies its audit retention at start and then this often "
        "(0 disables).",
    )


class PseudonymSettings(BaseModel):
    """Where the master keys live: in a PKCS#11 token as non-extractable HMAC keys
    (production), derived in process from ``EDH_PSEUDONYMISATION_SECRET`` (development),
    or in the separate service process the hub calls (``remote``)."""

    custody: Literal["inprocess", "pkcs11", "remote"] = Field(
        default="inprocess",
        description="Key custody: inprocess (dev), pkcs11 (the service's token) or remote "
        "(the hub calls the pseudonymisation service; required for the hub outside dev mode).",
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
        description="Master key version new contracts are created with (token key label "
        "edh-pseudonym-<v>); each contract keeps its own (contract.key_version).",
    )
    service: PseudonymServiceSettings = Field(default_factory=PseudonymServiceSettings)
