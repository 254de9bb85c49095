"""The named views a project sees, as SQL the worker runs before locking DuckDB down.

``statements`` has one row per statement, with only the columns the project's contracts
allow (a column allowed by some contracts only is NULL for the others) and ``pupil_id``,
the per-project pseudonym ``hash(contract pseudonym) XOR hash(project key)``, a 64-bit
number (DuckDB's hash: fast, stable for the pinned DuckDB version; the key's hash is
folded once per query, so a row costs one string hash, no concatenation). It is never
released, so it need only separate projects and pupils, not resist inversion from
released values. Helper
views: ``pupil_days`` (one row per pupil and day) and ``results`` (statements with a
result).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.sandbox.scope import ContractPart, ProjectScope
from hub.sandbox.sqlast import walk

if TYPE_CHECKING:
    from hub.sandbox.sqlcheck import CheckedQuery

# lake column -> (view column, DuckDB type); order is the order of the view's columns.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("statement_id", "statement_id", "VARCHAR"),
    ("verb_id", "verb_id", "VARCHAR"),
    ("object_id", "object_id", "VARCHAR"),
    ("object_type", "object_type", "VARCHAR"),
    ("timestamp", "timestamp", "TIMESTAMP"),
    ("stored", "stored", "TIMESTAMP"),
    ("result_score_scaled", "result_score_scaled", "DOUBLE"),
    ("result_score_raw", "result_score_raw", "DOUBLE"),
    ("result_success", "result_success", "BOOLEAN"),
    ("result_completion", "result_completion", "BOOLEAN"),
    ("result_duration_s", "result_duration_s", "DOUBLE"),
    ("context_registration", "context_registration", "VARCHAR"),
    ("context_platform", "context_platform", "VARCHAR"),
    ("school_id", "school_id", "VARCHAR"),
    ("class_id", "class_id", "VARCHAR"),
)
RESULT_COLUMNS = ("result_score_scaled", "result_success", "result_completion", "result_duration_s")
STATEMENTS = "statements"
VIEW_NAMES = frozenset({STATEMENTS, "pupil_days", "results"})


@dataclass(frozen=True)
class ViewSet:
    """Each view's DDL (in the order to run) and columns, for docs and errors."""

    definitions: dict[str, str]
    columns: dict[str, tuple[str, ...]]

    @property
    def ddl(self) -> tuple[str, ...]:
        """Every view's DDL, in order."""
        return tuple(self.definitions.values())

    def ddl_for(self, tables: Iterable[str]) -> tuple[str, ...]:
        """The DDL a query naming ``tables`` needs: ``statements`` (the other views read
        it) and those views. DuckDB binds a view as it creates it (reading its files'
        metadata), so a view the query does not name would only cost the job time."""
        wanted = {STATEMENTS, *tables}
        return tuple(sql for name, sql in self.definitions.items() if name in wanted)


def build(scope: ProjectScope) -> ViewSet:
    """The views of ``scope`` (see the module docstring)."""
    allowed = scope.columns
    cols = [c for c in COLUMNS if c[0] in allowed]
    selects = [_part_select(p, cols, scope.pseudonym_key) for p in scope.parts]
    statements = "CREATE VIEW statements AS " + " UNION ALL ".join(selects)
    names = ["statement_id" if "statement_id" in allowed else None, "pupil_id"]
    statement_cols = [n for n in names if n] + [c[1] for c in cols if c[0] != "statement_id"]
    statement_cols += (
        ["day", "verb", "contract_id"] if "verb_id" in allowed else ["day", "contract_id"]
    )
    ddl = {STATEMENTS: statements, "pupil_days": _pupil_days(allowed)}
    columns = {STATEMENTS: tuple(statement_cols), "pupil_days": _pupil_day_cols(allowed)}
    result_cols = [c for c in RESULT_COLUMNS if c in allowed]
    if result_cols:
        context = [c for c in _RESULT_CONTEXT if c in statement_cols]
        ddl["results"] = _results(context, result_cols)
        columns["results"] = ("pupil_id", "day", *context, *result_cols)
    return ViewSet(definitions=ddl, columns=columns)


def _part_select(part: ContractPart, cols: list[tuple[str, str, str]], key: str) -> str:
    exprs = [f"xor(hash(actor_pseudonym), hash('{key}')) AS pupil_id"]
    for lake_col, view_col, sql_type in cols:
        source = f'CAST("{lake_col}" AS {sql_type})' if lake_col in part.columns else "NULL"
        exprs.append(f'CAST({source} AS {sql_type}) AS "{view_col}"')
    ts = 'CAST("timestamp" AS TIMESTAMP)' if "timestamp" in part.columns else "NULL"
    exprs.append(f"CAST({ts} AS DATE) AS day")
    if any(c[0] == "verb_id" for c in cols):
        verb = "regexp_extract(verb_id, '[^/#]+$')" if "verb_id" in part.columns else "NULL"
        exprs.append(f"CAST({verb} AS VARCHAR) AS verb")
    contract = part.contract_id.replace("'", "''")
    exprs.append(f"CAST('{contract}' AS VARCHAR) AS contract_id")
    source = _source(part.paths)
    return f"SELECT {', '.join(exprs)} FROM {source}"  # noqa: S608 (hub-built names only)


def _source(paths: tuple[str, ...]) -> str:
    if not paths:
        empty = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, _, t in COLUMNS)
        return f"(SELECT CAST(NULL AS VARCHAR) AS actor_pseudonym, {empty} WHERE false)"
    quoted = ", ".join(f"'{p}'" for p in paths)
    return f"read_parquet([{quoted}], hive_partitioning = false)"


def _pupil_day_cols(allowed: frozenset[str]) -> tuple[str, ...]:
    extra = ["school_id"] if "school_id" in allowed else []
    duration = ["duration_s"] if "result_duration_s" in allowed else []
    return ("pupil_id", "day", *extra, "n_statements", *duration)


def _pupil_days(allowed: frozenset[str]) -> str:
    keys = "pupil_id, day" + (", school_id" if "school_id" in allowed else "")
    duration = ", sum(result_duration_s) AS duration_s" if "result_duration_s" in allowed else ""
    return (
        f"CREATE VIEW pupil_days AS SELECT {keys}, count(*) AS n_statements{duration} "  # noqa: S608
        f"FROM statements GROUP BY {keys}"
    )


_RESULT_CONTEXT = ("verb", "object_id", "school_id", "class_id", "timestamp")


def _results(context: list[str], result_cols: list[str]) -> str:
    cols = ", ".join(f'"{c}"' for c in [*context, *result_cols])
    any_result = " OR ".join(f"{c} IS NOT NULL" for c in result_cols)
    select = f"SELECT pupil_id, day, {cols} FROM statements WHERE {any_result}"  # noqa: S608
    return f"CREATE VIEW results AS {select}"


# view column -> the lake field it is computed from (None: derived from no field), for
# the columns not named like their field
DERIVED: dict[str, str | None] = {
    "pupil_id": "actor_pseudonym",
    "day": "timestamp",
    "verb": "verb_id",
    "duration_s": "result_duration_s",
    "n_statements": None,
    "contract_id": None,
}


def field_refusals(checked: CheckedQuery, view_set: ViewSet, scope: ProjectScope) -> list[str]:
    """One reason per column the query names that neither the views nor the query itself
    define: a lake field the contracts do not allow (naming the contracts) or an unknown
    name (naming the views' columns)."""
    known = set().union(*view_set.columns.values())
    defined = {str(n.get("alias", "")).lower() for n, _, _ in walk(checked.node) if "alias" in n}
    lake = {view_col for _, view_col, _ in COLUMNS} | set(DERIVED)
    reasons = []
    for column in checked.columns:
        if column in known or column in defined:
            continue
        if column in lake:
            field = DERIVED.get(column, column)
            denied = [p.contract_id for p in scope.parts if field not in p.columns]
            reasons.append(
                f"field {column!r} is not allowed by contract {', '.join(denied)} "
                "(not in its allowed_fields)"
            )
        else:
            reasons.append(f"unknown column {column!r}: the views have {', '.join(sorted(known))}")
    return reasons
