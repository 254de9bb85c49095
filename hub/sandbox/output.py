"""Released results as JSON values, CSV and Parquet."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def jsonable(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows with dates as ISO 8601 text, decimals as floats, NaN/inf as null."""
    return [[_value(v) for v in row] for row in rows]


def _value(v: Any) -> Any:
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list | tuple):
        return [_value(x) for x in v]
    return v


def to_csv(columns: list[str], rows: list[list[Any]]) -> str:
    """CSV with a header row; suppressed cells are empty."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def to_parquet(columns: list[str], rows: list[list[Any]]) -> bytes:
    """Parquet bytes of the released table (types inferred from the released values)."""
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
