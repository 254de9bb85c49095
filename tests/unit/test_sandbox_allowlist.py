"""Every function and construct is checked against an allowlist at every level of a query,
and the DP shape is checked on top (hub.sandbox.sqlcheck, hub.sandbox.dp.shape)."""

from __future__ import annotations

import pytest

from hub.sandbox import sqlcheck, views
from hub.sandbox.dp import shape
from hub.sandbox.errors import QueryRefused


def check(sql: str) -> sqlcheck.CheckedQuery:
    return sqlcheck.check(sql, views.VIEW_NAMES, row_level=False)


def refused(sql: str) -> list[str]:
    with pytest.raises(QueryRefused) as caught:
        check(sql)
    return [str(r) for r in caught.value.extra["reasons"]]


IN_A_CTE = "WITH c AS (SELECT pupil_id, {} AS v FROM statements) SELECT count(*) AS n FROM c"


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("error('boom')", "'error'"),
        ("repeat(verb_id, 1000)", "'repeat'"),
        ("verb_id || 'x'", "'||'"),
        ("regexp_replace(verb_id, 'a', 'b')", "'regexp_replace'"),
        ("list_transform([1], y -> y + 1)", "'list_transform'"),
        ("[1, 2]", "'list_value'"),
        ("{'a': 1}", "'struct_pack'"),
        ("hash(verb_id)", "'hash'"),
        ("CAST(verb_id AS BLOB)", "cast to blob"),
        ("verb_id COLLATE nocase", "collate"),
        ("string_agg(verb_id, ',') OVER (PARTITION BY pupil_id)", "'string_agg'"),
        ("sum(1) OVER (PARTITION BY class_id)", "partitioned by pupil_id"),
        ("row_number() OVER ()", "partitioned by pupil_id"),
        ("ln(result_score_scaled)", "'ln'"),  # raises on zero: a row's value could fail it
        ("log10(result_duration_s)", "'log10'"),
        ("(CASE WHEN result_score_scaled > 0.99 THEN 'a' ELSE '1' END) = 1", "text value"),
        ("verb IN ('played', 1)", "text value"),
        ("'a' BETWEEN 1 AND result_score_raw", "text value"),
    ],
)
def test_constructs_off_the_allowlist_are_refused_in_ctes_too(expression: str, named: str) -> None:
    reasons = refused(IN_A_CTE.format(expression))
    assert any(named in r for r in reasons), reasons


@pytest.mark.parametrize(
    "expression",
    [
        'row_number() OVER (PARTITION BY pupil_id ORDER BY "timestamp")',
        "lag(day) OVER (PARTITION BY pupil_id, verb ORDER BY day)",
        "date_trunc('week', day)",
        "CASE WHEN result_success THEN 1 ELSE 0 END",
        "TRY_CAST(result_score_raw AS INTEGER) BETWEEN 1 AND 5",
        "coalesce(result_score_scaled, 0) * 100",
        "verb IN ('played', 'paused') AND NOT (verb_id LIKE '%x%')",
        "(CASE WHEN result_score_scaled > 0.99 THEN 'a' ELSE 'b' END) = 'a'",
        "(CASE WHEN result_success THEN 1 ELSE 0 END) = 1",
    ],
)
def test_ordinary_per_pupil_features_pass(expression: str) -> None:
    check(IN_A_CTE.format(expression))


def plan(sql: str, max_cells: int = 12) -> shape.DpPlan:
    return shape.plan(check(sql), max_cells)


def test_the_dp_shape_bounds_each_pupil_to_one_cell_when_the_from_is_per_pupil() -> None:
    per_pupil = (
        "WITH p AS (SELECT pupil_id, any_value(school_id) AS school_id, count(*) AS "
        "n_statements FROM statements GROUP BY pupil_id) "
        "SELECT school_id, count(*) AS pupils, avg(n_statements) AS mean FROM p GROUP BY 1"
    )
    assert plan(per_pupil).max_cells == 1
    rows = "SELECT verb, count(DISTINCT pupil_id) AS pupils FROM statements GROUP BY verb"
    assert plan(rows).max_cells == 12
    clamped = "SELECT verb, sum(least(greatest(duration_s, 0), 60)) AS s FROM pupil_days GROUP BY 1"
    assert plan(clamped).measures[0].bounds == (0.0, 60.0)


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT verb, sum(result_score_scaled) + 1 AS s FROM statements GROUP BY 1", "whole"),
        ("SELECT verb, sum(class_id) AS s FROM statements GROUP BY 1", "public bounds"),
        ("SELECT verb, stddev(result_score_scaled) AS s FROM statements GROUP BY 1", "stddev"),
        ("SELECT verb, count(DISTINCT verb_id) AS s FROM statements GROUP BY 1", "DISTINCT"),
        (
            "SELECT verb, count(*) FILTER (WHERE day > '2026-01-01') AS s FROM statements "
            "GROUP BY 1",
            "FILTER",
        ),
        ("SELECT verb, count(*) AS n FROM statements GROUP BY 1 LIMIT 2", "LIMIT"),
        ("SELECT verb, count(*) AS n FROM statements GROUP BY ALL", "GROUP BY ALL"),
    ],
)
def test_queries_outside_the_dp_shape_are_refused_naming_why(sql: str, named: str) -> None:
    with pytest.raises(QueryRefused) as caught:
        plan(sql)
    assert named in caught.value.detail


def test_casts_cannot_fail_under_differential_privacy() -> None:
    sql = "SELECT verb, count(*) AS n FROM statements WHERE CAST(verb_id AS INTEGER) > 0 GROUP BY 1"
    assert "TRY_CAST(verb_id AS INTEGER)" in plan(sql).sql
