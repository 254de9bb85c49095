"""The SQL rules, on DuckDB's own parse tree (no worker involved)."""

from __future__ import annotations

import pytest

from hub.sandbox.errors import QueryRefused
from hub.sandbox.rewrite import group_keys, plan
from hub.sandbox.sqlcheck import check
from hub.sandbox.views import VIEW_NAMES


def refused(sql: str, row_level: bool = False) -> list[str]:
    with pytest.raises(QueryRefused) as err:
        check(sql, VIEW_NAMES, row_level=row_level)
    return [str(r) for r in err.value.extra["reasons"]]


def test_exactly_one_select() -> None:
    assert refused("SELECT 1; SELECT 2") == ["single-statement"]
    assert refused("UPDATE statements SET verb = 'x'") == ["select-only"]
    assert refused("SELEC 1") == ["syntax"]
    assert refused("") == ["single-statement"]


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELECT count(*) FROM read_parquet('/x')", "table functions"),
        ("SELECT count(*) FROM statements a JOIN statements b USING (verb)", "joins"),
        ("SELECT count(*) FROM statements WHERE verb IN (SELECT verb FROM results)", "subquery"),
        ("SELECT count(*) FROM (SELECT 1 UNION SELECT 2)", "set operations"),
        ("SELECT count(*) FROM statements TABLESAMPLE 10%", "TABLESAMPLE"),
        ("SELECT count(*) FROM statements AS t(a)", "alias lists"),
        ("SELECT count(*) FROM main.statements", "unknown table"),
        ("SELECT count(*) FROM secrets", "unknown table"),
        ("SELECT count(*) FROM statements WHERE verb = $1", "parameters"),
        ("SELECT * REPLACE (verb AS pupil_id) FROM statements", "REPLACE"),
        ("SELECT COLUMNS('pupil.*') FROM statements", "COLUMNS"),
        ("SELECT upper(pupil_id) AS x, count(*) FROM statements GROUP BY 1", "pupil_id may only"),
        ("SELECT pupil_id AS who FROM statements", "renamed"),
        ("SELECT verb_id AS pupil_id FROM statements", "only the pupil_id column"),
        ("SELECT verb, count(*) OVER () FROM statements", "window"),
        ("SELECT verb FROM statements", "row-level output"),
        ("SELECT verb, string_agg(verb, ',') FROM statements GROUP BY 1", "cannot be released"),
        ("SELECT count(*) FROM statements GROUP BY pupil_id", "single pupils"),
        ("SELECT verb, count(*) FROM statements GROUP BY ROLLUP (verb)", "ROLLUP"),
        (
            "WITH p AS (SELECT pupil_id, verb FROM statements GROUP BY ROLLUP (pupil_id, verb)) "
            "SELECT verb, count(*) AS n FROM p GROUP BY verb",
            "ROLLUP",
        ),
        ("SELECT getenv('HOME') AS h, count(*) FROM statements", "not allowed"),
    ],
)
def test_rules(sql: str, fragment: str) -> None:
    assert any(fragment in r for r in refused(sql)), refused(sql)


def test_row_level_projects_still_never_see_pseudonyms() -> None:
    ok = check("SELECT verb, day FROM statements", VIEW_NAMES, row_level=True)
    assert not ok.aggregated
    assert any("never released" in r for r in refused("SELECT pupil_id FROM statements", True))


def test_allowed_query_reports_what_it_touches() -> None:
    q = check(
        "WITH p AS (SELECT pupil_id, school_id, count(*) AS n FROM statements "
        "GROUP BY pupil_id, school_id) SELECT school_id, avg(n) AS m, count(*) AS c, max(n) "
        "FROM p GROUP BY ALL",
        VIEW_NAMES,
        row_level=False,
    )
    assert q.tables == ("statements",)
    assert {"pupil_id", "school_id", "n"} <= set(q.columns)
    assert [q.item_kind(i) for i in range(4)] == ["key", "statistic", "count", "individual"]


def test_rewrite_resolves_group_keys_and_keeps_researcher_columns_first() -> None:
    q = check(
        "SELECT date_trunc('week', day) AS w, verb, sum(result_duration_s) AS d "
        "FROM statements s WHERE school_id = 'a' GROUP BY w, 2",
        VIEW_NAMES,
        row_level=False,
    )
    keys = group_keys(q.node, q)
    assert [k.get("function_name") or k["column_names"][-1] for k in keys] == ["date_trunc", "verb"]
    one_pass = plan(q)
    assert one_pass.width == 3 and one_pass.keys == 2 and one_pass.dominance == (True,)
    assert len(one_pass.queries) == 1 and one_pass.main_sql.startswith("SELECT __edh_k_0 AS w")
    assert "sum(__edh_p_0) AS d" in one_pass.main_sql
    assert "WHERE (school_id = 'a')" in one_pass.main_sql
    assert "max(__edh_pc_0, 2) AS __edh_m_0" in one_pass.main_sql
    spread = check(
        "SELECT verb, stddev(result_duration_s) AS sd FROM statements GROUP BY verb",
        VIEW_NAMES,
        row_level=False,
    )
    main, control = plan(spread).queries
    assert main.endswith("GROUP BY verb") and "verb AS __edh_k_0" in main
    assert "max(__edh_pc_0, 2) AS __edh_m_0" in control and "count_star() AS __edh_n" in control
