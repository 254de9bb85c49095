"""The policy area's table: the version of the facts the policy data documents come from."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

VERSION_ROW = 1


class PolicyDataVersion(SQLModel, table=True):
    """One row (``id`` = 1), changed in the same transaction as any change to a table the
    policy data documents are built from (registry, contracts).

    ``version`` counts the changes; ``token`` is random per change, so a change that was
    rolled back never matches one that was committed later. Every hub process compares
    ``(version, token)`` with what it last published before each decision.
    """

    __tablename__ = "policy_data_version"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    token: str = Field(max_length=32)
