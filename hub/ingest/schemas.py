"""Request and response bodies of the ingest API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.params import SQL_INT_MAX, UtcDatetime

Sha256 = Field(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex SHA-256.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileIn(Strict):
    """One Parquet file the connector is about to upload."""

    date: str = Field(description="Day partition of the file (YYYY-MM-DD, UTC).")
    index: int = Field(ge=0, le=9999, description="Position of the file in the batch.")
    sha256: str = Sha256
    bytes: int = Field(ge=1, le=SQL_INT_MAX, description="Size of the file in bytes.")

    @field_validator("date")
    @classmethod
    def _day(cls, v: str) -> str:
        if len(v) != 10 or date.fromisoformat(v).isoformat() != v:
            raise ValueError("date must be YYYY-MM-DD")
        return v


class PresignIn(Strict):
    """A connector's request for upload URLs for batch ``sequence``."""

    contract_id: str = Field(min_length=1, max_length=36)
    dataset_id: str = Field(min_length=1, max_length=255)
    sequence: int = Field(ge=1, le=10**12, description="Per-connector batch number.")
    files: list[FileIn] = Field(min_length=1, max_length=1000)


class UploadOut(BaseModel):
    key: str
    url: str
    method: str
    headers: dict[str, str]


class GrantOut(BaseModel):
    """Upload URLs for a batch, or ``status=registered`` when it is already registered."""

    batch_id: str
    status: str
    uploads: list[UploadOut]
    expires_in: int


class CompleteIn(Strict):
    manifest: str = Field(min_length=20, max_length=1_000_000, description="Compact JWS.")


class BatchOut(BaseModel):
    """A batch in the registry."""

    id: str
    connector_id: str
    sequence: int
    contract_id: str
    provider_id: str
    dataset_id: str
    status: str
    row_count: int | None
    time_from: UtcDatetime | None
    time_to: UtcDatetime | None
    files: list[dict[str, object]]
    reasons: list[str]


class TermsOut(BaseModel):
    """What the connector needs to prepare data for a contract."""

    contract_id: str
    provider_id: str
    datasets: list[str]
    allowed_fields: list[str]
    retention_days: int = Field(
        description="Days of data the contract keeps: statements of an older day are "
        "refused (422 past-retention), the connector drops them before shipping."
    )


class KeyOut(BaseModel):
    contract_id: str
    key: str = Field(description="Base64 pseudonymisation key of the contract (32 bytes).")
    algorithm: str = "HMAC-SHA256"
    key_version: str = Field(
        description="Master key version the key derives from; the connector names it in "
        "each batch manifest (a batch under another version is refused)."
    )
