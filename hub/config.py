"""Hub settings, read from the environment (prefix ``EDH_``, nested with ``__``).

Example: ``EDH_DATABASE__URL=postgresql+psycopg://hub@db/hub`` or
``EDH_AUTH__JWKS_URL=https://idp.example/realms/edh/protocol/openid-connect/certs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.settings.audit import AuditSettings
from hub.settings.bus import BusSettings
from hub.settings.contracts import ContractSettings, ReviewSettings
from hub.settings.dataspace import DataspaceSettings
from hub.settings.pseudonym import PseudonymSettings
from hub.settings.sandbox import SandboxSettings
from hub.settings.storage import StorageSettings

DEV_PSEUDONYMISATION_SECRET = "dev-only-pseudonymisation-secret-change-me"  # noqa: S105
DEV_HUB_SECRET = "dev-only-hub-secret-change-me"  # noqa: S105
MIN_TOKEN_TTL, MAX_TOKEN_TTL = 60, 86_400


class DatabaseSettings(BaseModel):
    """Metadata database: SQLite file by default, PostgreSQL in production."""

    url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means a SQLite file in the data directory.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
    pool_size: int = Field(default=10, ge=1, le=200, description="Connection pool size.")


class AuthSettings(BaseModel):
    """Access tokens: the built-in issuer (EdDSA) or an external OIDC provider via JWKS."""

    issuer: str = Field(default="urn:edh:hub", description="Expected `iss` claim.")
    audience: str = Field(default="edh-api", description="Expected `aud` claim.")
    signing_key_file: Path | None = Field(
        default=None,
        description="PEM Ed25519 private key of the built-in issuer; generated in dev mode.",
    )
    jwks_url: str = Field(
        default="",
        description="JWKS of an external OIDC provider; empty means the built-in issuer's keys.",
    )
    token_ttl_seconds: int = Field(
        default=3600, ge=MIN_TOKEN_TTL, le=MAX_TOKEN_TTL, description="Token lifetime."
    )
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew tolerated.")


class PolicySettings(BaseModel):
    """Policy engine: the real OPA engine in-process (default) or an OPA server."""

    engine: Literal["inprocess", "server"] = Field(
        default="inprocess", description="`inprocess` (embedded OPA) or `server` (OPA REST API)."
    )
    directory: Path | None = Field(
        default=None,
        description="Rego policies; empty means the source tree's `policies/`, else the "
        "installed copy (`<prefix>/share/edh/policies`).",
    )
    server_url: str = Field(
        default="http://127.0.0.1:8181", description="Base URL of the OPA server (engine=server)."
    )
    timeout_seconds: float = Field(default=2.0, gt=0, le=60, description="OPA server timeout.")


class Settings(BaseSettings):
    """All hub settings. ``dev_mode`` allows generated keys and default secrets."""

    model_config = SettingsConfigDict(env_prefix="EDH_", env_nested_delimiter="__", extra="ignore")

    dev_mode: bool = Field(default=False, description="Development mode: generated keys allowed.")
    data_dir: Path = Field(default=Path(".edh"), description="Local state: SQLite, keys, lake.")
    log_level: str = Field(default="INFO", description="Root log level.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (bytes)."
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL of the hub.")
    pseudonymisation_secret: SecretStr = Field(
        default=SecretStr(DEV_PSEUDONYMISATION_SECRET),
        description="Master secret of the pseudonymisation service (trusted third party).",
    )
    pseudonym: PseudonymSettings = Field(default_factory=PseudonymSettings)
    hub_secret: SecretStr = Field(
        default=SecretStr(DEV_HUB_SECRET),
        description="The hub's own secret: upload-URL signatures and sandbox project keys "
        "are derived from it (HKDF, one label each).",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    contracts: ContractSettings = Field(default_factory=ContractSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    dataspace: DataspaceSettings = Field(default_factory=DataspaceSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)

    def database_url(self) -> str:
        """The effective database URL (SQLite file under ``data_dir`` when unset)."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'hub.sqlite3').as_posix()}"

    def signing_key_path(self) -> Path:
        """Where the built-in issuer's private key lives."""
        return self.auth.signing_key_file or self.data_dir / "keys" / "issuer-ed25519.pem"
