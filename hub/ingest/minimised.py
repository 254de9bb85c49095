"""Registration check: a lake file holds nothing the contract does not allow.

Uses the connector's own definition (``contracts.minimisation``): every column outside the
lake layout is refused; a column whose source field the contract does not allow must be
null in every row; and every row's ``statement_json`` must already be minimised (the
filter leaves it unchanged), so no copy of a refused field survives in the JSON.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.minimisation import COLUMN_PATHS, FieldFilter

LAKE_COLUMNS = frozenset({*COLUMN_PATHS, "statement_json"})


def minimisation_failures(data: bytes, key: str, allowed: Iterable[str]) -> list[str]:
    """The reasons ``data`` (a readable lake file) breaks the contract's allowed fields."""
    table = pq.read_table(io.BytesIO(data))
    fields = FieldFilter(allowed)
    reasons = [
        f"{key} has column {name}, which the lake layout does not define"
        for name in table.column_names
        if name not in LAKE_COLUMNS
    ]
    reasons += [
        f"{key} fills column {name}, which the contract does not allow"
        for name in table.column_names
        if name in LAKE_COLUMNS
        and not fields.may_fill(name)
        and table.column(name).null_count != table.num_rows
    ]
    if "statement_json" not in table.column_names:
        return [*reasons, f"{key} has no statement_json column"]
    if not _json_minimised(table.column("statement_json"), fields):
        reasons.append(f"{key} has statement_json fields the contract does not allow")
    return reasons


def _json_minimised(column: pa.ChunkedArray, fields: FieldFilter) -> bool:
    for text in column.to_pylist():
        try:
            statement = orjson.loads(text) if isinstance(text, str) else None
        except orjson.JSONDecodeError:
            return False
        if not isinstance(statement, dict) or not _unchanged(fields, statement):
            return False
    return True


def _unchanged(fields: FieldFilter, statement: dict[str, object]) -> bool:
    """Whether the filter leaves ``statement`` as it is; False (refused, fail closed) for a
    shape it cannot walk (nesting beyond the interpreter's recursion limit...)."""
    try:
        return fields.apply(statement) == statement
    except (TypeError, RecursionError):
        return False
