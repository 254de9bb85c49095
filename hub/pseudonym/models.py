"""The erasure register of the pseudonymisation service (no clear identifier anywhere).

- ``ErasureRequest``: one erased pupil, known by a keyed digest of the identifier under
  the register key (derived from the master secret; only the service computes it).
- ``ErasedPseudonym``: the pupil's pseudonym under each contract the register covers,
  used to drop, strip and rewrite the pupil's rows (what the hub and connectors match on).
- ``ErasureRewrite``: one lake or quarantine object rewritten by an erasure: the old and
  new keys and digests, and a manifest with the hub's detached JWS linking them to the
  batch's original manifest and to the requests (the evidence beside the connector's
  signature, which no longer matches the rewritten file).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from hub.columns import new_id, timestamp_column, utcnow


class ErasureRequest(SQLModel, table=True):
    """One pupil to be forgotten by every contract of every provider, past and future."""

    __tablename__ = "erasure_request"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    digest: str = Field(max_length=64, unique=True)
    origin: str = Field(max_length=16)
    requested_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class ErasedPseudonym(SQLModel, table=True):
    """The erased pupil's pseudonym under one contract."""

    __tablename__ = "erasure_pseudonym"
    contract_id: str = Field(primary_key=True, max_length=36)
    pseudonym: str = Field(primary_key=True, max_length=64)
    request_id: str = Field(foreign_key="erasure_request.id", max_length=36, index=True)


class ErasureRewrite(SQLModel, table=True):
    """One object rewritten without the pupil's rows (new key; the old one is deleted)."""

    __tablename__ = "erasure_rewrite"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_ids: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    batch_id: str = Field(foreign_key="ingest_batch.id", max_length=36, index=True)
    old_key: str = Field(max_length=900)
    new_key: str = Field(max_length=900)
    old_sha256: str = Field(max_length=64)
    new_sha256: str = Field(max_length=64)
    rows_removed: int
    manifest: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    manifest_jws: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class PupilUseDigest(SQLModel, table=True):
    """A pupil whose rows were in a released query's scope: a keyed digest of their
    pseudonym under the contract (``hub.pseudonym.service.use_digest``), so the DPO can
    later find which projects used the pupil's data without any identifier stored."""

    __tablename__ = "pupil_use"
    digest: str = Field(primary_key=True, max_length=64)
    job_id: str = Field(primary_key=True, max_length=36)
    contract_id: str = Field(max_length=36)
    project_id: str = Field(max_length=64)
    released_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class Repseudonymisation(SQLModel, table=True):
    """One contract's data moved from one master key version to another, from the
    (old pseudonym, new pseudonym) pairs its vendor computed from its own roster
    (``hub.erasure.rekey``). Counts only: no pseudonym is kept."""

    __tablename__ = "repseudonymisation"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    contract_id: str = Field(max_length=36, index=True)
    from_version: str = Field(max_length=8)
    to_version: str = Field(max_length=8)
    pairs: int
    objects_rewritten: int
    rows_kept: int
    rows_dropped: int
    requested_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
