"""Contracts API payloads (unknown fields refused)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.lifecycle import ReviewVerdict
from hub.keys import PublicKeyPem
from hub.params import UtcDatetime

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonIn(Strict):
    reason: Reason = Field(description="Why (at least 10 characters); recorded in the audit log.")


class ReviewIn(Strict):
    verdict: ReviewVerdict
    reason: Reason


class SignatureIn(Strict):
    jws: str = Field(
        min_length=20,
        max_length=4000,
        description="Detached compact JWS (EdDSA) over the RFC 8785 canonical JSON of "
        "GET /api/v1/contracts/{id}/document.",
    )


class KeyIn(Strict):
    organisation_id: str = Field(max_length=36)
    public_key: PublicKeyPem = Field(max_length=2000, description="PEM Ed25519 public key.")


class KeyOut(BaseModel):
    id: str
    organisation_id: str
    kid: str
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None = None


class SignatureOut(BaseModel):
    party: str
    kid: str
    signed_by: str
    created_at: UtcDatetime


class ReviewOut(BaseModel):
    version: int
    reviewer_sub: str
    verdict: str
    reason: str
    created_at: UtcDatetime


class ContractOut(BaseModel):
    id: str
    state: str
    version: int
    review_status: str
    provider_id: str
    lab_id: str
    project_id: str
    terms: dict[str, Any]
    digest: str
    allowed_transitions: list[str]
    signatures: list[SignatureOut]
    valid_from: date
    valid_until: date
    suspended: bool
    suspension_reason: str | None
    termination_reason: str | None
    in_force: bool
    not_in_force_reasons: list[str]
    created_at: UtcDatetime
    updated_at: UtcDatetime
