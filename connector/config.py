"""Connector settings, read from the environment (prefix ``EDH_CONNECTOR_``, nested ``__``).

Example: ``EDH_CONNECTOR_XAPI__KEY=vendor EDH_CONNECTOR_XAPI__SECRET=... edh-connector run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector.pipeline.settings import HubLinkSettings

DEV_XAPI_SECRET = "dev-only-xapi-secret-change-me"  # noqa: S105


class XapiSettings(BaseModel):
    """The local xAPI endpoint (LRS) the vendor's emitters post to."""

    host: str = Field(default="127.0.0.1", description="Interface `edh-connector run` binds.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port of the endpoint.")
    key: str = Field(default="edh-connector", min_length=1, description="HTTP Basic user name.")
    secret: SecretStr = Field(
        default=SecretStr(DEV_XAPI_SECRET), description="HTTP Basic password."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080/xapi/",
        description="Public base URL; the `authority` account home page of stored statements.",
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest request body accepted (bytes)."
    )
    page_size: int = Field(
        default=100, ge=1, le=10_000, description="Statements per page of GET /statements."
    )
    unversioned_answer: Literal["1.0.3", "2.0.0"] = Field(
        default="2.0.0",
        description=(
            "`X-Experience-API-Version` answered when a request names no valid version "
            "(e.g. a 400 for the missing header); the ADL 1.0.3 suite expects 1.0.3."
        ),
    )


class ConnectorSettings(BaseSettings):
    """All connector settings. ``dev_mode`` allows the default xAPI secret."""

    model_config = SettingsConfigDict(
        env_prefix="EDH_CONNECTOR_", env_nested_delimiter="__", extra="ignore"
    )

    dev_mode: bool = Field(default=False, description="Development mode: default secret allowed.")
    data_dir: Path = Field(default=Path(".edh-connector"), description="Spool and local state.")
    retention_days: int = Field(
        default=7,
        ge=0,
        le=365,
        description="Days shipped and voided statements and documents stay in the spool "
        "(xAPI reads of them answer 404 afterwards); statements not yet shipped are kept.",
    )
    xapi: XapiSettings = Field(default_factory=XapiSettings)
    hub: HubLinkSettings = Field(default_factory=HubLinkSettings)

    @property
    def spool_path(self) -> Path:
        """The spool's SQLite file."""
        return self.data_dir / "spool.sqlite3"

    @property
    def state_path(self) -> Path:
        """The pipeline's saved state (next sequence, cursors)."""
        return self.data_dir / "pipeline-state.json"

    def check_secrets(self) -> None:
        """Refuse the default xAPI secret outside dev mode (raises ``ValueError``)."""
        if not self.dev_mode and self.xapi.secret.get_secret_value() == DEV_XAPI_SECRET:
            raise ValueError(
                "définissez EDH_CONNECTOR_XAPI__SECRET (la valeur par défaut est réservée "
                "au mode développement)"
            )
