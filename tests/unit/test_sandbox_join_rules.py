"""Joins of per-pupil tables: the static rules, and the disclosure-control queries that the
rewrite builds for them, run on a real DuckDB against brute-force pupil counts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import duckdb
import pytest

from hub.sandbox.errors import QueryRefused
from hub.sandbox.fromclause import JOIN_HINT, KEEP_PUPIL
from hub.sandbox.rewrite import plan
from hub.sandbox.sqlcheck import CheckedQuery, check
from hub.sandbox.views import VIEW_NAMES

CTES = (
    "WITH a AS (SELECT pupil_id, school_id, count(*) AS n FROM statements GROUP BY ALL), "
    "b AS (SELECT pupil_id, avg(result_score_scaled) AS s FROM results "
    "WHERE result_score_scaled > 0.5 GROUP BY pupil_id) "
)
EXAMPLE = (
    CTES + "SELECT school_id, avg(s) AS mean_score, count(DISTINCT pupil_id) AS pupils "
    "FROM a JOIN b USING (pupil_id) WHERE n > 2 GROUP BY school_id"
)


def checked(sql: str) -> CheckedQuery:
    return check(sql, VIEW_NAMES, row_level=False)


def refused(sql: str) -> list[str]:
    with pytest.raises(QueryRefused) as err:
        checked(sql)
    return [str(r) for r in err.value.extra["reasons"]]


@pytest.mark.parametrize(
    "sql",
    [
        EXAMPLE,
        CTES + "SELECT school_id, avg(s) AS m FROM a LEFT JOIN b USING (pupil_id) GROUP BY 1",
        CTES + "SELECT school_id, count(*) AS c FROM a JOIN b USING (PUPIL_ID) GROUP BY 1",
        "SELECT verb, count(*) AS c FROM statements s JOIN results r USING (pupil_id) "
        "JOIN pupil_days d USING (pupil_id) GROUP BY 1",
        "SELECT r.verb, count(*) AS c FROM results r JOIN (statements s JOIN pupil_days d "
        "USING (pupil_id)) USING (pupil_id) GROUP BY 1",
    ],
)
def test_inner_and_left_joins_using_pupil_id_are_allowed(sql: str) -> None:
    query = checked(sql)
    assert query.aggregated


def test_a_join_inside_a_cte_keeps_pupil_id_for_the_outer_query() -> None:
    query = checked(
        CTES + ", j AS (SELECT a.*, s FROM a JOIN b USING (pupil_id)) "
        "SELECT school_id, avg(s) AS m FROM j GROUP BY 1"
    )
    assert query.tables == ("results", "statements")


@pytest.mark.parametrize(
    ("join", "fragment"),
    [
        ("a JOIN b ON a.school_id = b.s", "join conditions with ON"),
        ("a JOIN b ON a.pupil_id = b.pupil_id", "join conditions with ON"),
        ("a JOIN b USING (school_id)", "USING (school_id)"),
        ("a JOIN b USING (pupil_id, school_id)", "USING (pupil_id, school_id)"),
        ("a, b", "cross joins"),
        ("a CROSS JOIN b", "cross joins"),
        ("a NATURAL JOIN b", "NATURAL joins"),
        ("a POSITIONAL JOIN b", "POSITIONAL joins"),
        ("a ASOF JOIN b USING (pupil_id)", "ASOF joins"),
        ("a SEMI JOIN b USING (pupil_id)", "SEMI joins"),
        ("a ANTI JOIN b USING (pupil_id)", "ANTI joins"),
        ("a RIGHT JOIN b USING (pupil_id)", "RIGHT joins"),
        ("a FULL OUTER JOIN b USING (pupil_id)", "FULL joins"),
        ("a, LATERAL (SELECT a.n AS s)", "LATERAL"),
        ("a JOIN LATERAL (SELECT pupil_id, a.n AS s FROM b) c USING (pupil_id)", "by name"),
        ("a JOIN (SELECT pupil_id, s FROM b) c USING (pupil_id)", "by name"),
    ],
)
def test_other_joins_are_refused_with_the_way_to_write_them(join: str, fragment: str) -> None:
    reasons = refused(CTES + f"SELECT count(*) AS c FROM {join}")
    assert fragment in reasons[0] and JOIN_HINT in reasons[0], reasons


@pytest.mark.parametrize(
    "outer",
    [
        "SELECT school_id, count(*) AS c FROM a JOIN b USING (pupil_id) "
        "WHERE a.pupil_id > 5 GROUP BY 1",
        "SELECT school_id, count(*) AS c FROM a JOIN b USING (pupil_id) "
        "WHERE b.pupil_id IN (1, 2) GROUP BY 1",
        "SELECT school_id, count(*) AS c FROM a JOIN b USING (pupil_id) "
        "WHERE main.a.pupil_id = 1 GROUP BY 1",
        "SELECT school_id, sum(a.pupil_id % 2) AS c FROM a JOIN b USING (pupil_id) GROUP BY 1",
        "SELECT school_id, a.pupil_id, count(*) AS c FROM a JOIN b USING (pupil_id) GROUP BY 1, 2",
        "SELECT b.pupil_id AS x, count(*) AS c FROM a JOIN b USING (pupil_id) GROUP BY 1",
        "SELECT school_id, count(*) AS c FROM a JOIN b USING (pupil_id) "
        "WHERE a['pupil_id'] > 5 GROUP BY 1",
        "SELECT school_id, count(*) AS c FROM a JOIN b USING (pupil_id) "
        "WHERE (b).pupil_id > 5 GROUP BY 1",
        "SELECT school_id, count(DISTINCT a) AS c FROM a JOIN b USING (pupil_id) GROUP BY 1",
        "SELECT school_id, count(*) AS c FROM a JOIN b USING (pupil_id) WHERE #1 > 5 GROUP BY 1",
        "SELECT school_id, count(*) AS c FROM a JOIN b USING (pupil_id) GROUP BY 1, pupil_id",
    ],
)
def test_pupil_id_stays_unreleasable_and_unfilterable_through_a_join(outer: str) -> None:
    reasons = refused(CTES + outer)
    assert any(
        "pupil_id" in r or "whole-row" in r or "positional" in r or "single pupils" in r
        for r in reasons
    ), reasons


def test_whole_row_and_positional_references_are_refused_without_joins_too() -> None:
    base = "SELECT school_id, count(*) AS c FROM statements WHERE {} GROUP BY 1"
    assert any("whole-row" in r for r in refused(base.format("statements['pupil_id'] = 5")))
    assert "positional" in refused(base.format("#2 = 5"))[0]


@pytest.mark.parametrize(
    "sql",
    [
        "WITH s AS (SELECT school_id, count(*) AS n FROM statements GROUP BY 1) "
        "SELECT n > 100 AS big, count(*) AS c FROM s GROUP BY 1",
        "SELECT school_id, count(*) AS c FROM (SELECT * EXCLUDE (pupil_id) FROM statements) "
        "GROUP BY 1",
        "WITH statements AS (SELECT school_id FROM statements) "
        "SELECT school_id, count(*) AS c FROM statements GROUP BY 1",
        "SELECT count(*) AS c",
    ],
)
def test_an_aggregated_from_without_pupil_id_is_refused_at_check_time(sql: str) -> None:
    reasons = refused(sql)
    assert any("outer FROM has no pupil_id" in r and KEEP_PUPIL in r for r in reasons), reasons


def test_a_join_side_without_pupil_id_is_named() -> None:
    reasons = refused(
        "WITH s AS (SELECT school_id, count(*) AS n FROM statements GROUP BY 1), "
        "p AS (SELECT pupil_id, school_id FROM statements) "
        "SELECT n, count(*) AS c FROM p JOIN s USING (pupil_id) GROUP BY 1"
    )
    assert f"table 's' has no pupil_id: {KEEP_PUPIL}" in reasons


def test_a_row_level_query_need_not_keep_pupil_id() -> None:
    sql = "WITH s AS (SELECT school_id FROM statements) SELECT school_id FROM s"
    assert not check(sql, VIEW_NAMES, row_level=True).aggregated


def test_the_carry_analysis_is_linear_in_chained_ctes() -> None:
    ctes = ["c0 AS (SELECT pupil_id, verb FROM statements)"]
    ctes += [
        f"c{i} AS (SELECT pupil_id, x.verb FROM c{i - 1} x JOIN c{i - 1} y USING (pupil_id))"
        for i in range(1, 40)
    ]
    sql = "WITH " + ", ".join(ctes) + " SELECT verb, count(*) AS c FROM c39 GROUP BY 1"
    started = time.monotonic()
    assert checked(sql).tables == ("statements",)  # 2**39 paths without memoisation
    assert time.monotonic() - started < 5


# --- the rewritten queries on a real DuckDB --------------------------------------------

PUPILS = 60


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """Tables shaped like the views: pupil p is in school p % 3 and has p % 5 + 1 statements;
    pupils with p % 4 = 0 have no score above 0.5."""
    db = duckdb.connect(":memory:")
    db.execute(
        "CREATE TABLE statements AS SELECT p AS pupil_id, 'school-' || (p % 3) AS school_id, "
        "CASE WHEN p % 4 = 0 THEN 0.1 ELSE (p % 7) / 10.0 + 0.3 END AS result_score_scaled "
        f"FROM range({PUPILS}) t(p), range(5) u(j) WHERE j <= p % 5"
    )
    db.execute("CREATE VIEW results AS SELECT * FROM statements")
    yield db
    db.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, object]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _truth(con: duckdb.DuckDBPyConnection, join: str) -> dict[str, tuple[int, int]]:
    """Per school: distinct pupils in the joined FROM/WHERE, and those with a score."""
    rows = con.execute(
        CTES + f"SELECT school_id, count(DISTINCT pupil_id), count(DISTINCT pupil_id) "
        f"FILTER (WHERE s IS NOT NULL) FROM a {join} b USING (pupil_id) WHERE n > 2 GROUP BY 1"
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


@pytest.mark.parametrize("join", ["JOIN", "LEFT JOIN"])
@pytest.mark.parametrize("statistic", ["avg(s)", "stddev(s)"])
def test_control_columns_count_the_pupils_of_each_joined_cell(
    con: duckdb.DuckDBPyConnection, join: str, statistic: str
) -> None:
    sql = (
        CTES + f"SELECT school_id, {statistic} AS stat, count(DISTINCT pupil_id) AS pupils "
        f"FROM a {join} b USING (pupil_id) WHERE n > 2 GROUP BY school_id"
    )
    query = checked(sql)
    rewritten = plan(query)
    assert len(rewritten.queries) == (1 if statistic == "avg(s)" else 2)
    expected = {r["school_id"]: r for r in _rows(con, sql)}
    main = _rows(con, rewritten.main_sql)
    control = {r["__edh_k_0"]: r for r in _rows(con, rewritten.queries[-1])}
    truth = _truth(con, join)
    assert set(control) == set(truth) == set(expected) and len(main) == len(expected)
    for row in main:
        school = row["school_id"]
        cell = control[school]
        assert row["stat"] == pytest.approx(expected[school]["stat"])
        assert row["pupils"] == expected[school]["pupils"] == truth[school][0]
        assert cell["__edh_n"] == truth[school][0]  # pupils of the cell
        assert cell["__edh_n_0"] == truth[school][1]  # pupils with a score under the join
        assert cell["__edh_n_1"] == truth[school][0]
    if join == "LEFT JOIN":  # pupils p % 4 = 0 have no b row: fewer pupils with a score
        assert all(t[1] < t[0] for t in truth.values())


@pytest.mark.parametrize("counted", ["count(DISTINCT b.pupil_id)", "count(b.pupil_id)"])
def test_a_qualified_right_pupil_id_counts_only_matched_pupils(
    con: duckdb.DuckDBPyConnection, counted: str
) -> None:
    """After a LEFT JOIN, ``b.pupil_id`` is NULL where b had no row: it is not every pupil
    of the cell, so the rewrite must still test it pupil by pupil."""
    sql = (
        CTES + f"SELECT school_id, {counted} AS matched, count(DISTINCT pupil_id) AS pupils "
        "FROM a LEFT JOIN b USING (pupil_id) GROUP BY school_id"
    )
    rewritten = plan(checked(sql))
    expected = {r["school_id"]: r for r in _rows(con, sql)}
    control = {r["__edh_k_0"]: r for r in _rows(con, rewritten.queries[-1])}
    for row in _rows(con, rewritten.main_sql):
        school = row["school_id"]
        assert (row["matched"], row["pupils"]) == (
            expected[school]["matched"],
            expected[school]["pupils"],
        )
        matched_pupils = control[school]["__edh_n_0"]
        assert matched_pupils < control[school]["__edh_n_1"] == row["pupils"]
