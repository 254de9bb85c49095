"""Read-only views of the pseudonym area's rows, as other areas read them.

The ORM rows of ``hub.pseudonym.models`` satisfy these Protocols structurally; a caller
typed with them cannot write a row (mypy refuses it): the register, the record of use
and the rewrites' evidence change only through the area's functions
(``hub.pseudonym.public``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class ErasureRequestRecord(Protocol):
    """One erased pupil of the register (``ErasureRequest``), known by a keyed digest."""

    @property
    def id(self) -> str: ...

    @property
    def origin(self) -> str: ...


class PupilUseRecord(Protocol):
    """One released query that used a pupil's rows (``PupilUseDigest``)."""

    @property
    def job_id(self) -> str: ...

    @property
    def project_id(self) -> str: ...

    @property
    def released_at(self) -> datetime: ...


class ErasureRewriteRecord(Protocol):
    """One lake or quarantine object rewritten by an erasure or a re-pseudonymisation
    (``ErasureRewrite``), with the hub-signed manifest linking the old and new objects."""

    @property
    def batch_id(self) -> str: ...

    @property
    def request_ids(self) -> list[Any]: ...

    @property
    def old_key(self) -> str: ...

    @property
    def old_sha256(self) -> str: ...

    @property
    def new_key(self) -> str: ...

    @property
    def new_sha256(self) -> str: ...

    @property
    def manifest(self) -> dict[str, Any]: ...

    @property
    def manifest_jws(self) -> str: ...
