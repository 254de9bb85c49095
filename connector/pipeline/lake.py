"""The lake's Parquet layout ``edh-xapi-1`` (interface 2; see ``schemas/lake-statement.md``)."""

from __future__ import annotations

import ctypes
import io
import re
from array import array
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from connector.pipeline.arrow import ParquetWriter, pa
from contracts.minimisation import CLASS_TYPE, SCHOOL_TYPE

_TS = pa.timestamp("us", tz="UTC")
LAKE_SCHEMA = pa.schema(
    [
        ("statement_id", pa.string()),
        ("actor_pseudonym", pa.string()),
        ("verb_id", pa.string()),
        ("object_id", pa.string()),
        ("object_type", pa.string()),
        ("timestamp", _TS),
        ("stored", _TS),
        ("result_score_scaled", pa.float64()),
        ("result_score_raw", pa.float64()),
        ("result_success", pa.bool_()),
        ("result_completion", pa.bool_()),
        ("result_duration_s", pa.float64()),
        ("context_registration", pa.string()),
        ("context_platform", pa.string()),
        ("school_id", pa.string()),
        ("class_id", pa.string()),
        ("statement_json", pa.string()),
    ],
    metadata={b"edh.schema_version": b"edh-xapi-1"},
)
COLUMNS = tuple(LAKE_SCHEMA.names)
_EPOCH_DAY: Final = datetime(1970, 1, 1, tzinfo=UTC).toordinal()
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter (malloc.h)
_DURATION: Final = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


def use_system_allocator() -> None:
    """Make Arrow allocate with the C library's allocator for the rest of the process.

    Arrow's default pool (mimalloc) kept the pages of each batch's buffers after they were
    freed, so a long ``push`` grew batch after batch; with the system allocator it stays
    flat (Python's tracemalloc sees none of these buffers: docs/ingestion.md gives the
    process's figures; jemalloc with immediate decay measured no lower). Call it before the
    first batch is built. It sets the pool of pyarrow's calls only: Arrow's C++ default
    pool is chosen while pyarrow loads (``connector.pipeline.arrow``).

    With glibc, freed memory above 128 KiB also goes back to the system at once (its
    default threshold rises to the largest buffer freed, so a batch's Parquet buffers
    stayed in the heap: ~8 MB more at the peak).
    """
    pa.set_memory_pool(pa.system_memory_pool())
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc only
    if mallopt is not None:
        mallopt(_M_TRIM_THRESHOLD, 128 * 1024)


def micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch of a UTC datetime (exact; Arrow takes integers
    faster than it converts datetimes), from its fields: a third of the instructions of
    dividing ``ts - epoch`` by a microsecond, which builds two ``timedelta`` objects."""
    seconds = (ts.toordinal() - _EPOCH_DAY) * 86_400 + ts.hour * 3_600 + ts.minute * 60
    return (seconds + ts.second) * 1_000_000 + ts.microsecond


def duration_seconds(text: Any) -> float | None:
    """Seconds of an ISO 8601 duration such as ``PT1M30.5S`` (None when absent/invalid)."""
    if not isinstance(text, str):
        return None
    m = _DURATION.fullmatch(text)
    if m is None or text in ("P", "PT"):
        return None
    d, h, mi, s = (float(m.group(g) or 0) for g in "dhms")
    return d * 86400 + h * 3600 + mi * 60 + s


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _grouping_ids(context: dict[str, Any]) -> tuple[str | None, str | None]:
    school = klass = None
    activities = context.get("contextActivities")
    grouping = activities.get("grouping") if isinstance(activities, dict) else None
    if not isinstance(grouping, list):
        return None, None
    for activity in grouping:
        if not isinstance(activity, dict):
            continue
        definition: dict[str, Any] = activity.get("definition") or _EMPTY
        kind = definition.get("type")
        if kind == SCHOOL_TYPE:
            school = _text(activity.get("id"))
        elif kind == CLASS_TYPE:
            klass = _text(activity.get("id"))
    return school, klass


def _add_row(
    columns: list[list[Any]], st: dict[str, Any], timestamp: datetime, stored: datetime
) -> None:
    """Append a row's values to ``columns``, one list per column of :data:`COLUMNS` but
    ``statement_json``: Arrow takes each list as it is, where rows held as tuples had to
    be transposed first (``zip(*rows)``: ~5,000 instructions a row).

    The members read are objects when present (validation's checks), hence the local
    types: compiled (``scripts/compiled.py``), their look-ups are direct dict calls."""
    obj: dict[str, Any] = st.get("object") or _EMPTY
    definition: dict[str, Any] = obj.get("definition") or _EMPTY
    actor: dict[str, Any] = st["actor"]
    account: dict[str, Any] = actor.get("account") or _EMPTY
    result: dict[str, Any] = st.get("result") or _EMPTY
    score: dict[str, Any] = result.get("score") or _EMPTY
    context: dict[str, Any] = st.get("context") or _EMPTY
    school, klass = _grouping_ids(context) if "contextActivities" in context else (None, None)
    at = micros(timestamp)
    (ids, actors, verbs, objects, types, times, stored_times, scaled, raw, success, completion,
     durations, registrations, platforms, schools, classes) = columns  # fmt: skip
    ids.append(st["id"])
    actors.append(account.get("name"))
    verbs.append(st["verb"]["id"])
    objects.append(obj.get("id"))
    types.append(_text(definition.get("type")))
    times.append(at)
    stored_times.append(at if stored is timestamp else micros(stored))
    scaled.append(_number(score.get("scaled")))
    raw.append(_number(score.get("raw")))
    success.append(_flag(result.get("success")))
    completion.append(_flag(result.get("completion")))
    durations.append(duration_seconds(result.get("duration")))
    registrations.append(_text(context.get("registration")))
    platforms.append(_text(context.get("platform")))
    schools.append(school)
    classes.append(klass)


_EMPTY: Final[dict[str, Any]] = {}
_dumps: Final = orjson.dumps
"""Compiled (``scripts/compiled.py``), a ``Final`` module name is read from a C variable,
where ``orjson.dumps`` is an attribute look-up at each call."""
_VALUE_TYPES = [LAKE_SCHEMA.field(name).type for name in COLUMNS[:-1]]
_DICTIONARY_COLUMNS = [n for n in COLUMNS if n not in ("statement_id", "statement_json")]
"""Columns whose values repeat (verbs, objects, pupils...); an id or a statement's JSON is
unique per row, so a dictionary for it is built only to be thrown away."""


class RowBuffer:
    """One Parquet file, written as rows arrive; ``add`` takes a minimised, pseudonymised
    statement with ``id``, ``timestamp`` and ``stored`` already set.

    Rows wait as Python values, one list per column, only until :meth:`flush` (the batcher calls it
    on the file with the most pending rows whenever those of all a batch's files reach a
    bound); each flush builds the row group's Arrow columns in bulk and encodes them into
    the file, so memory holds compressed Parquet, not a batch of Python objects. Deterministic:
    the same rows flushed at the same points give the same bytes.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._columns: list[list[Any]] = [[] for _ in _VALUE_TYPES]
        self._json, self._json_ends = bytearray(), [0]
        self._sink = io.BytesIO()
        self._writer: ParquetWriter | None = None

    def add(self, st: dict[str, Any], timestamp: datetime, stored: datetime) -> None:
        """Append one row (the timestamps are passed parsed, as the batcher needs them)."""
        _add_row(self._columns, st, timestamp, stored)
        # Copied at once into one buffer: orjson's bytes object holds an 8 KiB block.
        self._json += _dumps(st)
        self._json_ends.append(len(self._json))
        self.rows += 1

    @property
    def pending(self) -> int:
        """Rows added since the last :meth:`flush`."""
        return len(self._json_ends) - 1

    def flush(self) -> None:
        """Encode the pending rows as a row group of the file (zstd, dictionaries)."""
        rows = self.pending
        if not rows:
            return
        columns = zip(self._columns, _VALUE_TYPES, strict=True)
        arrays = [pa.array(values, type=kind) for values, kind in columns]
        arrays.append(self._json_column())
        table = pa.Table.from_arrays(arrays, schema=LAKE_SCHEMA)
        if self._writer is None:
            self._writer = ParquetWriter(
                self._sink, LAKE_SCHEMA, compression="zstd", use_dictionary=_DICTIONARY_COLUMNS
            )
        self._writer.write_table(table, row_group_size=rows)
        self._columns = [[] for _ in _VALUE_TYPES]
        self._json, self._json_ends = bytearray(), [0]

    def _json_column(self) -> pa.Array:
        """The pending ``statement_json`` values as a string column, made from the
        buffer they were appended to and their end offsets (orjson writes UTF-8;
        ``OverflowError`` past 2 GiB pending). The offsets wait in a list: compiled, a list's
        ``append`` is a direct call, an ``array``'s a method call."""
        ends, data = pa.py_buffer(array("i", self._json_ends)), pa.py_buffer(self._json)
        return pa.StringArray.from_buffers(len(self._json_ends) - 1, ends, data)

    def to_parquet(self) -> bytes:
        """The Parquet bytes of every row added (closes the file: call it once)."""
        self.flush()
        assert self._writer is not None, "a RowBuffer is created for its first row"
        self._writer.close()
        data = self._sink.getvalue()
        self._sink = io.BytesIO()
        return data
