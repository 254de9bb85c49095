"""Streaming batcher: raw statements in, Parquet files per day partition out.

Items are ``(cursor, statement)`` pairs where ``cursor`` is the source position *after*
the item (a line number, a spool sequence number): a batch ends at a cursor, so a
restarted connector rebuilds the very same batch from its saved cursor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import orjson

from connector.pipeline.lake import RowBuffer
from connector.pipeline.pseudonymise import Pseudonymiser
from connector.pipeline.register import ErasedPupil, ErasureFilter
from connector.pipeline.validate import InvalidStatement, validate_times
from contracts.canonical import sha256_hex
from contracts.minimisation import FieldFilter

_ID_NAMESPACE = uuid.UUID("6f1c1f9e-7d0b-4c55-9a55-0e0b1d8f6a11")
PENDING_ROWS: Final = 2048
"""Rows a batch holds as Python objects before encoding some into a file's row group."""


@dataclass(frozen=True)
class BuiltFile:
    """One Parquet file of a batch: the day it covers, its index, bytes and digest."""

    date: str
    index: int
    data: bytes
    sha256: str
    rows: int


@dataclass(frozen=True)
class Rejection:
    """A statement refused by validation: where it was and why."""

    cursor: int
    reason: str


@dataclass
class BuiltBatch:
    """The output of one batch: files, row count, time range, rejections, end cursor, and
    statements dropped because they name an erased pupil."""

    files: list[BuiltFile]
    row_count: int
    time_from: datetime | None
    time_to: datetime | None
    end_cursor: int
    rejected: list[Rejection] = field(default_factory=list)
    dropped: int = 0
    expired: int = 0


def oldest_kept_day(retention_days: int | None) -> date | None:
    """The first UTC day a contract keeping ``retention_days`` accepts today (the hub's
    rule: an older day is past retention); ``None``: no limit known."""
    if retention_days is None:
        return None
    return datetime.now(UTC).date() - timedelta(days=retention_days)


class PastRetention(Exception):
    """The statement's day is older than the contract keeps: it is never shipped."""


class Transformer:
    """Validate → drop what is past retention → pseudonymise → drop erased pupils →
    minimise one statement."""

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        fields: FieldFilter,
        erased: ErasureFilter | None = None,
        oldest_day: date | None = None,
    ) -> None:
        """``erased``: the hub's erasure register for the contract; ``oldest_day``: the
        first (UTC) day the contract's retention still keeps."""
        self.pseudonymiser = pseudonymiser
        self.fields = fields
        self.erased = erased
        self.oldest_day = oldest_day
        self.context_agents = fields.reaches("context.instructor") or fields.reaches("context.team")
        """Whether minimisation may keep the context's instructor or team: only then are
        they pseudonymised (``Pseudonymiser.statement``)."""

    def __call__(self, raw: Any) -> tuple[dict[str, Any], datetime, datetime]:
        """The lake-ready statement and its parsed timestamp and stored time.

        Raises ``InvalidStatement``, ``PastRetention`` for a statement of a day before
        ``oldest_day``, or ``ErasedPupil`` when it names an erased pupil. A
        missing ``id`` is derived from the content (UUID v5, stable across retries); a
        missing ``timestamp``/``stored`` takes the other one.
        """
        st, given, stored_at = validate_times(raw)
        # Validated: a present timestamp or stored is non-empty text, parsed once.
        if given is not None:
            ts_text, ts = st["timestamp"], given
        elif stored_at is not None:
            ts_text, ts = st["stored"], stored_at
        else:
            raise InvalidStatement("timestamp or stored is required")
        timestamp = _utc(ts)
        if self.oldest_day is not None and timestamp.date() < self.oldest_day:
            raise PastRetention
        pseudonymised = self.pseudonymiser.statement(st, context_agents=self.context_agents)
        if self.erased:
            self.erased.check(st, self.pseudonymiser.pseudonym)
        out = self.fields.apply(pseudonymised)
        out["id"] = st.get("id") or str(uuid.uuid5(_ID_NAMESPACE, orjson.dumps(st).decode()))
        out["timestamp"] = ts_text
        if stored_at is None:
            out["stored"] = ts_text
            return out, timestamp, timestamp
        out["stored"] = st["stored"]
        return out, timestamp, _utc(stored_at)


_UTC: Final = UTC
"""UTC as a constant: compiled (``scripts/compiled.py``), a ``Final`` module name is read
from a C variable, any other from the module's dict at each use."""


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC: itself when it is already (``fromisoformat`` gives UTC's one
    ``tzinfo`` for a zero offset), without the method call and its argument parsing."""
    return moment if moment.tzinfo is _UTC else moment.astimezone(_UTC)


_NEVER_LOW = datetime.max.replace(tzinfo=UTC)
_NEVER_HIGH = datetime.min.replace(tzinfo=UTC)


class _Accumulator:
    def __init__(self) -> None:
        self.buffers: dict[date, RowBuffer] = {}
        self.rows = 0
        self.pending = 0
        self.low = _NEVER_LOW
        self.high = _NEVER_HIGH
        self.rejected: list[Rejection] = []
        self.dropped = 0
        self.expired = 0

    def add(self, st: dict[str, Any], ts: datetime, stored: datetime) -> None:
        day = ts.date()
        buffer = self.buffers.get(day)
        if buffer is None:
            buffer = self.buffers[day] = RowBuffer()
        buffer.add(st, ts, stored)
        self.rows += 1
        self.pending += 1
        if self.pending >= PENDING_ROWS:
            self._flush_largest()
        if ts < self.low:
            self.low = ts
        if ts > self.high:
            self.high = ts

    def _flush_largest(self) -> None:
        """Encode the file with the most pending rows: pending rows stay under the bound,
        and row groups stay large (in statements of a few days, today's file is flushed
        whole rather than every day's file in slivers)."""
        largest = max(self.buffers.values(), key=lambda each: each.pending)
        self.pending -= largest.pending
        largest.flush()

    def seal(self, cursor: int) -> BuiltBatch:
        files = []
        for index, day in enumerate(sorted(self.buffers)):
            buffer = self.buffers.pop(day)
            data = buffer.to_parquet()
            files.append(BuiltFile(day.isoformat(), index, data, sha256_hex(data), buffer.rows))
        low, high = (self.low, self.high) if self.rows else (None, None)
        return BuiltBatch(
            files, self.rows, low, high, cursor, self.rejected, self.dropped, self.expired
        )


def build_batches(
    items: Iterable[tuple[int, Any]], transform: Transformer, batch_size: int
) -> Iterator[BuiltBatch]:
    """Group items into batches of at most ``batch_size`` statements (accepted or rejected).

    Deterministic: the same items give byte-identical files. A batch may hold no file when
    every statement of it was rejected (its cursor still advances).
    """
    acc, seen, cursor = _Accumulator(), 0, 0
    for cursor, raw in items:
        try:
            st, ts, stored = transform(raw)
            acc.add(st, ts, stored)  # compiled, a direct call (``*args`` goes through Python's)
        except InvalidStatement as exc:
            acc.rejected.append(Rejection(cursor, str(exc)))
        except ErasedPupil:
            acc.dropped += 1
        except PastRetention:
            acc.expired += 1
        seen += 1
        if seen >= batch_size:
            yield acc.seal(cursor)
            acc, seen = _Accumulator(), 0
    if seen:
        yield acc.seal(cursor)
