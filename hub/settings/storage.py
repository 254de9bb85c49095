"""Settings of the object store (``EDH_STORAGE__*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class StorageSettings(BaseModel):
    """Local directory by default; ``kind=s3`` for MinIO or any S3 service."""

    kind: Literal["local", "s3"] = Field(default="local", description="Object store adapter.")
    root: Path | None = Field(
        default=None, description="Local store directory; empty means <data_dir>/objects."
    )
    endpoint: str = Field(default="", description="S3 endpoint host:port (kind=s3).")
    access_key: str = Field(default="", description="S3 access key (kind=s3).")
    secret_key: SecretStr = Field(default=SecretStr(""), description="S3 secret key.")
    erasure_access_key: str = Field(
        default="",
        description="S3 access key of the erasure role, the only one allowed to delete object "
        "versions (kind=s3); empty: the main key (development).",
    )
    erasure_secret_key: SecretStr = Field(
        default=SecretStr(""), description="S3 secret key of the erasure role."
    )
    bucket: str = Field(default="edh-lake", description="Bucket holding lake/ and quarantine/.")
    region: str = Field(default="us-east-1", description="S3 region.")
    secure: bool = Field(default=False, description="Use HTTPS to reach the S3 endpoint.")
    presign_ttl_seconds: int = Field(
        default=900, ge=30, le=86400, description="Lifetime of presigned upload URLs."
    )
    upload_max_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024, description="Largest object accepted by upload."
    )
