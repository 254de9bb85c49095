"""Escape attempts against the sandbox API: files, network, secrets, settings, catalog,
path tricks, resource exhaustion. None may get through; the hub must stay healthy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from hub.context import HubContext
from tests.support.sandbox_fixtures import MEMORY_HOG, RUNAWAY, SandboxWorld, build_sandbox_world

STATIC_ATTEMPTS = {
    "syntax error": "SELEC count(*) FROM statements",
    "two statements": "SELECT count(*) FROM statements; SELECT 1",
    "ddl": "CREATE TABLE t AS SELECT * FROM statements",
    "drop view": "DROP VIEW statements",
    "dml": "DELETE FROM statements",
    "insert": "INSERT INTO statements VALUES (1)",
    "pragma": "PRAGMA database_list",
    "pragma function": "SELECT count(*) FROM pragma_database_list()",
    "attach": "ATTACH '/tmp/x.db' AS x",
    "copy out": "COPY (SELECT * FROM statements) TO '/tmp/leak.csv'",
    "install": "INSTALL httpfs",
    "load by path": "LOAD '/tmp/evil.duckdb_extension'",
    "read_csv": "SELECT count(*) FROM read_csv('/etc/passwd')",
    "read_text": "SELECT content FROM read_text('/etc/hostname')",
    "read_parquet of lake": "SELECT count(*) FROM read_parquet('../lake/**/*.parquet')",
    "replacement scan": "SELECT count(*) FROM '/etc/passwd'",
    "glob": "SELECT count(*) FROM glob('/**')",
    "s3 path trick": "SELECT count(*) FROM read_parquet('s3://b/x/../y/z.parquet')",
    "http": "SELECT count(*) FROM read_json('http://169.254.169.254/latest/meta-data')",
    "create secret": "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "read secrets": "SELECT count(*) FROM duckdb_secrets()",
    "which secret": "SELECT which_secret('s3://b/x', 's3'), count(*) FROM statements",
    "set": "SET enable_external_access = true",
    "reset": "RESET lock_configuration",
    "current_setting": "SELECT current_setting('memory_limit'), count(*) FROM statements",
    "getenv": "SELECT getenv('HOME'), count(*) FROM statements",
    "view definitions": "SELECT count(*) FROM duckdb_views()",
    "information schema": "SELECT count(*) FROM information_schema.views",
    "sqlite_master": "SELECT count(*) FROM sqlite_master",
    "pg_catalog": "SELECT count(*) FROM pg_catalog.pg_views",
    "qualified view": "SELECT count(*) FROM memory.main.statements",
    "query function": "SELECT count(*) FROM query('SELECT * FROM duckdb_settings()')",
    "cross join": "SELECT count(*) FROM statements a, statements b, statements c",
    "range": "SELECT count(*) FROM range(1000000000000)",
    "infinite recursion": (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    ),
    "explain": "EXPLAIN SELECT count(*) FROM statements",
    "checkpoint": "CHECKPOINT",
    "export": "EXPORT DATABASE '/tmp/x'",
    "prepared": "PREPARE p AS SELECT 1",
    "macro": "CREATE MACRO f(x) AS x",
    "detach": "DETACH memory",
    "use": "USE system",
    "call": "CALL pragma_version()",
    "json serialize": "SELECT json_execute_serialized_sql('x'), count(*) FROM statements",
    "struct forge": (
        "WITH t AS (SELECT {'pupil_id': verb_id} AS s FROM statements) SELECT count(*) FROM t"
    ),
}


def test_static_escape_attempts_are_all_refused_with_a_reason(sandbox: SandboxWorld) -> None:
    through = []
    for name, sql in STATIC_ATTEMPTS.items():
        resp = sandbox.submit(sql)
        body = resp.json()
        if resp.status_code != 400 or body.get("type") != "urn:edh:problem:query-refused":
            through.append(f"{name}: {resp.status_code} {body}")
        elif not body.get("detail") or not body.get("reasons"):
            through.append(f"{name}: refused without a reason")
    assert not through, "\n".join(through)
    assert sandbox.client.get("/health").status_code == 200
    job, _ = sandbox.run("SELECT count(DISTINCT pupil_id) AS n FROM statements")
    assert job["status"] == "released"


def test_project_key_never_appears_in_answers(sandbox: SandboxWorld) -> None:
    from hub.sandbox.scope import project_key
    from hub.secrets import SANDBOX_PROJECT_LABEL, derive_key

    key = derive_key(sandbox.runtime.ctx.settings.hub_secret, SANDBOX_PROJECT_LABEL)
    secret = project_key(key, sandbox.project())
    answers = []
    for sql in (
        "SELECT count(*) FROM statements GROUP BY no_such_column",
        "SELECT pupil_id || 'x' AS p, count(*) FROM statements GROUP BY 1",
        "SELECT count(*) FROM statements WHERE verb_id = 1",
        "SELECT sum(pupil_id) FROM statements",
        "SELECT count(*) FROM duckdb_views()",
    ):
        resp = sandbox.submit(sql)
        answers.append(resp.text)
        if resp.status_code == 202:
            job = sandbox.wait(resp.json()["id"])
            answers.append(str(job))
            answers.append(
                sandbox.client.get(job["links"]["report"], headers=sandbox.headers()).text
            )
    assert all(secret not in a for a in answers)
    assert any("no_such_column" in a for a in answers)


def _runtime_world(
    client: TestClient, hub_ctx: HubContext, lake: Path, **kw: object
) -> SandboxWorld:
    return build_sandbox_world(client, hub_ctx, lake, deadline_s=1.0, **kw)


def test_runaway_query_is_stopped_at_its_deadline(
    client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    world = _runtime_world(client, hub_ctx, lake)
    try:
        job, cause = world.held_failure(RUNAWAY)  # held for the checkers, like a result
        assert "deadline" in cause
        # Stopped, not run to completion (it would take minutes). The "within 1 s of the
        # deadline" goal is measured alone, without co-running tests, by the sandbox benchmark.
        ran = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
        assert ran.total_seconds() < 60  # wall clock from its start, worker spawn included
        again, _ = world.run("SELECT count(DISTINCT pupil_id) AS n FROM statements")
        assert again["status"] == "released"
    finally:
        world.runtime.close()


def test_memory_exhaustion_fails_cleanly(
    client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    world = _runtime_world(client, hub_ctx, lake)
    world.runtime.settings.memory_limit = "64MB"
    world.runtime.settings.max_temp_directory_size = "0KB"
    world.runtime.settings.deadline_s = 20
    try:
        _, cause = world.held_failure(MEMORY_HOG)
        assert cause == (
            "the query failed: OutOfMemoryException "
            "(out of memory: the memory or temp-space limit was reached)"
        )
    finally:
        world.runtime.close()


def test_row_limit_applies_to_row_level_projects(
    client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    world = _runtime_world(client, hub_ctx, lake, row_level=True)
    try:
        _, cause = world.held_failure("SELECT verb, school_id FROM statements")
        assert "more than 1000 rows" in cause
        job, result = world.run("SELECT verb, school_id FROM statements LIMIT 3")
        assert job["status"] == "released" and result["columns"] == ["verb", "school_id"]
    finally:
        world.runtime.close()
