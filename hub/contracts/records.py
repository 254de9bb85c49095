"""Read-only views of the contracts area's rows, as other areas and the pages read them.

The ORM rows of ``hub.contracts.models`` satisfy these Protocols structurally. A caller
typed with them cannot write a row (mypy refuses it): every change goes through the
area's service functions (``hub.contracts.public``). The area's own functions that only
read a contract take a :class:`ContractRecord`, so callers can hand back what they got.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol


class ContractRecord(Protocol):
    """A contract (``hub.contracts.models.Contract``): its parties, state and validity."""

    @property
    def id(self) -> str: ...

    @property
    def provider_id(self) -> str: ...

    @property
    def lab_id(self) -> str: ...

    @property
    def project_id(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def key_version(self) -> str: ...

    @property
    def review_status(self) -> str: ...

    @property
    def valid_from(self) -> date: ...

    @property
    def valid_until(self) -> date: ...

    @property
    def created_by(self) -> str: ...

    @property
    def suspended_at(self) -> datetime | None: ...

    @property
    def suspension_reason(self) -> str | None: ...

    @property
    def updated_at(self) -> datetime: ...


class ContractVersionRecord(Protocol):
    """One version of a contract's terms (``ContractVersion``), as the review pages show it."""

    @property
    def version(self) -> int: ...

    @property
    def terms(self) -> dict[str, Any]: ...

    @property
    def digest(self) -> str: ...

    @property
    def author_sub(self) -> str: ...

    @property
    def author_party(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


class ReviewDecisionRecord(Protocol):
    """One ethics reviewer's decision on one version (``ReviewDecision``)."""

    @property
    def contract_id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def reviewer_sub(self) -> str: ...

    @property
    def verdict(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...
