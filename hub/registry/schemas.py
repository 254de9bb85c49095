"""Registry API payloads (unknown fields refused)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from hub.keys import PublicKeyPem
from hub.params import UtcDatetime

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrgKind(StrEnum):
    PROVIDER = "provider"
    LAB = "lab"
    HUB = "hub"


def luhn_ok(digits: str) -> bool:
    """Luhn checksum, which SIREN numbers satisfy."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class OrganisationIn(Strict):
    name: Name
    siren: str = Field(description="9-digit SIREN (INSEE), Luhn-checked.")
    kind: OrgKind

    @field_validator("siren")
    @classmethod
    def _siren(cls, v: str) -> str:
        v = v.replace(" ", "")
        if len(v) != 9 or not v.isdigit():
            raise ValueError("SIREN must be 9 digits")
        if not luhn_ok(v):
            raise ValueError("SIREN checksum (Luhn) is wrong")
        return v


class OrganisationPatch(Strict):
    name: Name


class OrganisationOut(BaseModel):
    id: str
    name: str
    siren: str
    kind: OrgKind
    created_at: UtcDatetime


class AccreditationIn(Strict):
    granted_by: Name
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class ResearcherIn(Strict):
    subject: Name = Field(description="Subject (`sub`) of the researcher at the identity provider.")
    name: Name
    email: EmailStr
    organisation_id: str
    accreditation: AccreditationIn


class RevocationIn(Strict):
    reason: Text


class ResearcherOut(BaseModel):
    id: str
    subject: str
    name: str
    email: str
    organisation_id: str
    accreditation_granted_by: str
    accredited_from: date
    accredited_until: date
    revoked_at: UtcDatetime | None
    revocation_reason: str | None
    accredited_now: bool


class ProjectIn(Strict):
    title: Name
    purpose: Text
    lab_id: str
    members: list[str] = Field(default_factory=list, max_length=200)


class MemberIn(Strict):
    researcher_id: str


class ProjectOut(BaseModel):
    id: str
    title: str
    purpose: str
    lab_id: str
    members: list[str]
    created_at: UtcDatetime


class ConnectorIn(Strict):
    name: Name
    organisation_id: str
    public_key: PublicKeyPem = Field(description="PEM-encoded Ed25519 public key of the connector.")


class ConnectorOut(BaseModel):
    id: str
    name: str
    organisation_id: str
    public_key: str
    key_id: str
    revoked_at: UtcDatetime | None
    created_at: UtcDatetime
