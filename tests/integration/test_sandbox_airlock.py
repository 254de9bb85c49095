"""The airlock: on a ``reviewed`` contract an exact result is held until two distinct output
checkers approve it; any rejection ends it; the researcher sees only the status until
release. Released values are compared with the lake's ground truth (read directly)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub.context import HubContext
from hub.db import session_scope
from hub.pseudonym.models import PupilUseDigest
from hub.pseudonym.service import use_digest, use_key
from hub.registry import service as registry
from hub.sandbox.airlock.models import OutputReview
from hub.sandbox.runtime import uninstall
from hub.trail.models import AuditEvent
from hub.trail.writer import Actor
from tests.support.sandbox_fixtures import (
    SandboxWorld,
    build_sandbox_world,
    on_release_grid,
    register_batch,
    suspend_contract,
    write_batch,
)

BY_SCHOOL = (
    "SELECT school_id, count(DISTINCT pupil_id) AS pupils, count(*) AS statements, "
    "sum(result_duration_s) AS duration FROM statements GROUP BY school_id ORDER BY school_id"
)
REVIEWS = "/api/v1/reviews/outputs"


@pytest.fixture
def airlock(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    """The sandbox world with contracts asking for reviewed exact release."""
    world = build_sandbox_world(client, hub_ctx, lake, release_mode="reviewed")
    yield world
    uninstall(hub_ctx)


def checker(world: SandboxWorld, sub: str, *roles: str) -> dict[str, str]:
    token = world.ctx.issuer.mint(sub, list(roles or ["output_checker"]))
    return {"Authorization": f"Bearer {token}"}


def lake_sql(
    world: SandboxWorld, sql: str, setup: tuple[str, ...] = (), contract: str = "c-alice"
) -> list[tuple[Any, ...]]:
    """Ground truth: ``sql`` over the contract's raw Parquet (view ``lake``), read
    directly, after the ``setup`` statements."""
    files = [str(p) for p in world.lake.glob(f"{world.provider}/{contract}/videos/*/*.parquet")]
    with duckdb.connect() as con:
        listed = ", ".join(f"'{f}'" for f in files)
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW lake AS SELECT * FROM read_parquet([{listed}])")
        for statement in setup:
            con.execute(statement)
        return con.execute(sql).fetchall()


def pupil_times(world: SandboxWorld, pupils: list[int]) -> str:
    """An SQL list of the timestamps of the given pupils' statements (attacker knowledge)."""
    names = ", ".join(f"sha256('c-alicepupil-{p}')" for p in pupils)
    rows = lake_sql(
        world,
        "SELECT strftime(CAST(timezone('UTC', \"timestamp\") AS TIMESTAMP), '%Y-%m-%d %H:%M:%S') "
        f"FROM lake WHERE actor_pseudonym IN ({names})",
    )
    return "(" + ", ".join(f"TIMESTAMP '{r[0]}'" for r in rows) + ")"


def held(world: SandboxWorld, sql: str) -> dict[str, Any]:
    """Submit ``sql`` as alice and wait until it is held; returns the job."""
    resp = world.submit(sql)
    assert resp.status_code == 202, resp.text
    job = world.wait(resp.json()["id"])
    assert job["status"] == "pending_review", job
    return job


def review(world: SandboxWorld, job_id: str, sub: str, action: str, comment: str = "ok") -> Any:
    return world.client.post(
        f"{REVIEWS}/{job_id}/{action}", json={"comment": comment}, headers=checker(world, sub)
    )


def release(world: SandboxWorld, sql: str) -> dict[str, Any]:
    """Hold ``sql``, have carol and dave approve it; returns the researcher's result."""
    job = held(world, sql)
    assert review(world, job["id"], "carol", "approve").status_code == 200
    assert review(world, job["id"], "dave", "approve").json()["status"] == "released"
    out = world.client.get(f"/api/v1/queries/{job['id']}/result", headers=world.headers())
    assert out.status_code == 200, out.text
    return dict(out.json())


def test_two_approvals_release_the_exact_result(airlock: SandboxWorld) -> None:
    job = held(airlock, BY_SCHOOL)
    truth = lake_sql(
        airlock,
        "SELECT school_id, count(DISTINCT actor_pseudonym), count(*), sum(result_duration_s) "
        "FROM lake GROUP BY 1 ORDER BY 1",
    )
    seen = airlock.client.get(f"{REVIEWS}/{job['id']}", headers=checker(airlock, "carol")).json()
    assert [tuple(r) for r in seen["result"]["rows"]] == truth
    assert seen["sql"] == BY_SCHOOL and seen["status"] == "pending_review"
    assert [c["pupils"] for c in seen["findings"]["cells"]] == [50] * 4
    first = review(airlock, job["id"], "carol", "approve", "agrégats par école, rien d'individuel")
    assert first.status_code == 200 and first.json()["approvals"] == 1
    assert airlock.wait(job["id"])["status"] == "pending_review"
    second = review(airlock, job["id"], "dave", "approve", "d'accord")
    assert second.json()["status"] == "released"
    result = airlock.client.get(f"/api/v1/queries/{job['id']}/result", headers=airlock.headers())
    assert [tuple(r) for r in result.json()["rows"]] == truth
    assert airlock.wait(job["id"])["status"] == "released"
    with Session(airlock.ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.resource_id == job["id"])).all()
    actions = [(e.action, e.actor_sub) for e in events]
    assert ("sandbox.output.hold", "alice") in actions
    assert ("sandbox.output.approve", "carol") in actions
    assert ("sandbox.output.approve", "dave") in actions
    assert ("sandbox.output.release", "dave") in actions
    assert ("policy.edh/sandbox/review", "carol") in actions  # the read, audited
    approvals = [e for e in events if e.action == "sandbox.output.approve"]
    assert "agrégats par école, rien d'individuel" in approvals[0].reasons
    dpo = checker(airlock, "dpo-1", "dpo")
    seen_by_dpo = airlock.client.get(
        "/api/v1/audit/events", params={"action": "sandbox.output.approve"}, headers=dpo
    ).json()
    assert {e["actor_sub"] for e in seen_by_dpo["items"]} == {"carol", "dave"}


def test_the_researcher_sees_only_the_status_until_release(airlock: SandboxWorld) -> None:
    job = held(airlock, BY_SCHOOL)
    base = f"/api/v1/queries/{job['id']}"
    status = airlock.client.get(base, headers=airlock.headers())
    assert status.json()["status"] == "pending_review"
    durations = [
        r[0]
        for r in lake_sql(airlock, "SELECT sum(result_duration_s) FROM lake GROUP BY school_id")
    ]
    for path in ("/result", "/result?format=csv", "/result?format=parquet"):
        resp = airlock.client.get(base + path, headers=airlock.headers())
        assert resp.status_code == 409, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    report = airlock.client.get(base + "/report", headers=airlock.headers()).json()
    assert report == {"job_id": job["id"], "status": "pending_review", "decision": "pending_review"}
    listed = airlock.client.get(
        f"/api/v1/projects/{airlock.project()}/queries", headers=airlock.headers()
    )
    for text in (status.text, listed.text, str(report)):
        assert "school-0" not in text
        assert not [d for d in durations if f"{d:g}" in text or f"{int(d)}" in text]
    # the researcher cannot use the checkers' API to read it either
    mine = airlock.client.get(f"{REVIEWS}/{job['id']}", headers=airlock.headers())
    assert mine.status_code == 403
    page = airlock.client.get(f"/research/jobs/{job['id']}")  # no session: login first
    assert "school-0" not in page.text


def test_one_rejection_ends_it_with_its_reason(airlock: SandboxWorld) -> None:
    job = held(airlock, BY_SCHOOL)
    assert review(airlock, job["id"], "carol", "approve").status_code == 200
    rejected = review(airlock, job["id"], "dave", "reject", "durée totale trop fine")
    assert rejected.json()["status"] == "rejected"
    status = airlock.wait(job["id"])
    assert status["status"] == "rejected"
    assert status["reasons"] == ["rejected by output checking: durée totale trop fine"]
    resp = airlock.client.get(f"/api/v1/queries/{job['id']}/result", headers=airlock.headers())
    assert resp.status_code == 409
    late = review(airlock, job["id"], "erin", "approve")
    assert late.status_code == 403 and "not pending review" in late.text
    empty = airlock.client.post(
        f"{REVIEWS}/{job['id']}/reject", json={"comment": "  "}, headers=checker(airlock, "erin")
    )
    assert empty.status_code in (400, 422)
    assert empty.headers["content-type"].startswith("application/problem+json")


def test_checkers_are_distinct_and_never_the_submitter(airlock: SandboxWorld) -> None:
    job = held(airlock, BY_SCHOOL)
    assert review(airlock, job["id"], "carol", "approve").status_code == 200
    twice = review(airlock, job["id"], "carol", "approve")
    assert twice.status_code == 403 and "already reviewed" in twice.text
    own = airlock.client.post(
        f"{REVIEWS}/{job['id']}/approve",
        json={"comment": "ok"},
        headers=checker(airlock, "alice", "researcher", "output_checker"),
    )
    assert own.status_code == 403 and "their own query" in own.text
    both = checker(airlock, "alice", "researcher", "output_checker")
    peek = airlock.client.get(f"{REVIEWS}/{job['id']}", headers=both)
    assert peek.status_code == 403 and "school-0" not in peek.text
    for role in ("researcher", "dpo", "operator", "ethics_reviewer"):
        headers = checker(airlock, "zoe", role)
        assert airlock.client.get(REVIEWS, headers=headers).status_code == 403
        denied = airlock.client.post(
            f"{REVIEWS}/{job['id']}/approve", json={"comment": "ok"}, headers=headers
        )
        assert denied.status_code == 403
    assert airlock.wait(job["id"])["status"] == "pending_review"
    with Session(airlock.ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.decision == "deny")).all()
    assert any(e.actor_sub == "carol" and "already reviewed" in " ".join(e.reasons) for e in events)
    assert sum(1 for e in events if e.actor_sub == "zoe") >= 8
    assert review(airlock, job["id"], "dave", "approve").json()["status"] == "released"


def test_cells_under_k_are_dropped_whole(airlock: SandboxWorld) -> None:
    """Class 1: per-pupil keys and an isolating WHERE. The checker sees no row resting on
    fewer than k pupils, keys included (oracle: group sizes computed from the lake)."""
    per_pupil_key = (
        "WITH p AS (SELECT pupil_id, sum(result_duration_s) AS total FROM statements "
        "GROUP BY pupil_id) SELECT total, count(*) AS pupils FROM p GROUP BY total"
    )
    sizes = dict(
        lake_sql(
            airlock,
            "SELECT total, count(*) FROM (SELECT actor_pseudonym, sum(result_duration_s) AS total "
            "FROM lake GROUP BY 1) GROUP BY total",
        )
    )
    assert any(n < 10 for n in sizes.values())
    job = held(airlock, per_pupil_key)
    seen = airlock.client.get(f"{REVIEWS}/{job['id']}", headers=checker(airlock, "carol")).json()
    for total, pupils in seen["result"]["rows"]:
        assert sizes[total] >= 10 and pupils == sizes[total]
    small = {t for t, n in sizes.items() if n < 10}
    assert not small & {r[0] for r in seen["result"]["rows"]}
    assert seen["findings"]["summary"]["rows_dropped"] >= len(small)
    single = held(
        airlock,
        'WITH p AS (SELECT pupil_id, min("timestamp") AS first_seen FROM statements '
        "GROUP BY pupil_id) SELECT first_seen, count(DISTINCT pupil_id) AS n FROM p "
        "GROUP BY first_seen HAVING count(DISTINCT pupil_id) = 1",
    )
    seen = airlock.client.get(f"{REVIEWS}/{single['id']}", headers=checker(airlock, "carol"))
    assert seen.json()["result"]["rows"] == [] and seen.json()["findings"]["cells"] == []
    assert seen.json()["findings"]["summary"]["rows_dropped"] > 0
    isolate = pupil_times(airlock, [0, 4, 8])  # three pupils of school-0
    job = held(
        airlock,
        "SELECT school_id, count(*) AS n FROM statements "
        f"WHERE school_id <> 'school-0' OR \"timestamp\" IN {isolate} GROUP BY 1",
    )
    seen = airlock.client.get(f"{REVIEWS}/{job['id']}", headers=checker(airlock, "carol")).json()
    keys = [r[0] for r in seen["result"]["rows"]]
    assert "school-0" not in keys and len(keys) == 2  # plus one secondary drop
    assert "school-0" not in str(seen["findings"])
    assert all(c["pupils"] >= 10 for c in seen["findings"]["cells"])


def test_findings_dominance_and_differencing_against_released_values(
    airlock: SandboxWorld,
) -> None:
    """Classes 3 and 5: a dominated sum, a cell one pupil away from a released one, and
    the same pupils with a shifted value are all flagged to the checker, with the
    earlier values quoted, and so are two results held at the same time."""
    target = pupil_times(airlock, [0])
    dominated = held(
        airlock,
        'SELECT school_id, sum(CASE WHEN "timestamp" IN '
        f"{target} THEN 1000000 ELSE 1 END) AS s, count(*) AS n FROM statements GROUP BY 1",
    )
    seen = airlock.client.get(
        f"{REVIEWS}/{dominated['id']}", headers=checker(airlock, "carol")
    ).json()
    codes = {f["code"] for c in seen["findings"]["cells"] for f in c["findings"]}
    assert "dominance_nk" in codes
    assert review(airlock, dominated["id"], "carol", "reject", "dominance").status_code == 200
    base = "SELECT count(DISTINCT pupil_id) AS pupils, sum(result_duration_s) AS d FROM statements"
    first = release(airlock, base + " WHERE school_id = 'school-0'")
    truth = lake_sql(
        airlock,
        "SELECT count(DISTINCT actor_pseudonym), sum(result_duration_s) FROM lake "
        "WHERE school_id = 'school-0'",
    )
    assert [tuple(r) for r in first["rows"]] == truth
    minus_one = held(
        airlock, base + f" WHERE school_id = 'school-0' AND \"timestamp\" NOT IN {target}"
    )
    seen = airlock.client.get(
        f"{REVIEWS}/{minus_one['id']}", headers=checker(airlock, "carol")
    ).json()
    found = seen["findings"]["cells"][0]["findings"]
    assert [f["code"] for f in found] == ["differencing"]
    assert found[0]["params"]["job_id"] == first["job_id"]
    shifted = held(
        airlock,
        "SELECT count(DISTINCT pupil_id) AS pupils, sum(result_duration_s + 1000) AS d "
        "FROM statements WHERE school_id = 'school-0'",
    )
    seen = airlock.client.get(
        f"{REVIEWS}/{shifted['id']}", headers=checker(airlock, "carol")
    ).json()
    found = seen["findings"]["cells"][0]["findings"]
    same = [f["params"] for f in found if f["code"] == "same_pupils"]
    assert same == [
        {
            "job_id": first["job_id"],
            "status": "released",
            "values": {"pupils": truth[0][0], "d": truth[0][1]},
        }
    ]
    # held at the same time: each is compared with the other, whichever is read first
    again = airlock.client.get(f"{REVIEWS}/{minus_one['id']}", headers=checker(airlock, "dave"))
    pending = [f["params"] for f in again.json()["findings"]["cells"][0]["findings"]]
    assert {"job_id": shifted["id"], "status": "pending_review", "k": 10} in pending


RESEARCH_QUESTIONS = {
    "weekly activity": (
        "SELECT date_trunc('week', day) AS week, count(DISTINCT pupil_id) AS active_pupils, "
        "count(*) AS statements FROM statements GROUP BY 1 ORDER BY 1"
    ),
    "completion by school": (
        "SELECT school_id, count(DISTINCT pupil_id) AS pupils, "
        "avg(CASE WHEN result_completion THEN 1.0 ELSE 0.0 END) AS completion_rate "
        "FROM statements GROUP BY school_id ORDER BY school_id"
    ),
    "scores by verb": (
        "SELECT verb, count(DISTINCT pupil_id) AS pupils, avg(result_score_scaled) AS score "
        "FROM results GROUP BY verb ORDER BY verb"
    ),
    "dropout per school": (
        "WITH last_seen AS (SELECT pupil_id, school_id, max(day) AS last_day, "
        "sum(n_statements) AS statements FROM pupil_days GROUP BY pupil_id, school_id) "
        "SELECT school_id, CASE WHEN date_diff('day', last_day, DATE '2026-09-27') > 3 "
        "THEN 'inactive > 3 days' ELSE 'active' END AS status, count(*) AS pupils, "
        "avg(statements) AS mean_statements FROM last_seen GROUP BY ALL ORDER BY 1, 2"
    ),
    "join of per-pupil tables": (
        "WITH activity AS (SELECT pupil_id, school_id, count(*) AS n FROM statements "
        "GROUP BY ALL), scores AS (SELECT pupil_id, avg(result_score_scaled) AS score "
        "FROM results GROUP BY pupil_id) SELECT school_id, avg(score) AS mean_score, "
        "count(DISTINCT pupil_id) AS pupils FROM activity JOIN scores USING (pupil_id) "
        "WHERE n > 5 GROUP BY school_id ORDER BY school_id"
    ),
}
# The project's views rebuilt from the raw lake: the oracle runs the researcher's SQL on them.
ORACLE_VIEWS = (
    "CREATE VIEW statements AS SELECT actor_pseudonym AS pupil_id, verb_id, school_id, "
    'class_id, object_id, CAST("timestamp" AS TIMESTAMP) AS "timestamp", '
    "result_score_scaled, result_success, result_completion, result_duration_s, "
    'CAST(CAST("timestamp" AS TIMESTAMP) AS DATE) AS day, '
    "regexp_extract(verb_id, '[^/#]+$') AS verb FROM lake",
    "CREATE VIEW pupil_days AS SELECT pupil_id, day, school_id, count(*) AS n_statements, "
    "sum(result_duration_s) AS duration_s FROM statements GROUP BY pupil_id, day, school_id",
    "CREATE VIEW results AS SELECT * FROM statements WHERE result_score_scaled IS NOT NULL "
    "OR result_success IS NOT NULL OR result_completion IS NOT NULL "
    "OR result_duration_s IS NOT NULL",
)


def test_research_questions_are_released_exactly_on_400_pupils(airlock: SandboxWorld) -> None:
    """Productivity: every documented research question, on a project of 400 pupils, is
    held whole (no row dropped) and released exactly after two approvals."""
    path = write_batch(
        airlock.lake, airlock.provider, "c-alice", "videos", statements=8000, pupils=400,
        seq=2, salt="c-alice",
    )  # fmt: skip
    register_batch(airlock.ctx, airlock.lake, airlock.connector, path)
    assert lake_sql(airlock, "SELECT count(DISTINCT actor_pseudonym) FROM lake") == [(400,)]
    for name, sql in RESEARCH_QUESTIONS.items():
        result = release(airlock, sql)
        want = lake_sql(airlock, sql, setup=ORACLE_VIEWS)
        assert len(result["rows"]) == len(want) >= 2, name
        assert _close(result["rows"], want), (name, result["rows"], want)


def _close(got: list[list[Any]], want: list[tuple[Any, ...]]) -> bool:
    """Released rows equal the oracle's (floats to 1e-9 relative, dates as ISO text)."""
    for g, w in zip(got, want, strict=True):
        for a, b in zip(g, w, strict=True):
            b = b.isoformat() if hasattr(b, "isoformat") else b
            if not (a == pytest.approx(b, rel=1e-9) if isinstance(b, float) else a == b):
                return False
    return True


def test_a_revocation_or_suspension_stops_a_held_result(airlock: SandboxWorld) -> None:
    """The facts are decided again at each review and at the release: a researcher revoked
    after the hold gets nothing, and a suspended contract stops every review."""
    job = held(airlock, BY_SCHOOL)
    assert review(airlock, job["id"], "carol", "approve").status_code == 200
    with session_scope(airlock.ctx.engine) as session:
        alice = registry.researcher_by_subject(session, "alice")
        assert alice is not None
        registry.revoke_researcher(session, Actor("admin", "operator"), alice.id, "misconduct")
    refused = review(airlock, job["id"], "dave", "approve")
    assert refused.status_code == 403 and "revoked" in refused.text
    assert airlock.wait(job["id"])["status"] == "pending_review"
    with Session(airlock.ctx.engine) as session:
        reviews = session.exec(select(OutputReview).where(OutputReview.job_id == job["id"])).all()
    assert [r.checker for r in reviews] == ["carol"]  # the refused approval left nothing
    suspend_contract(airlock.ctx, "c-alice")
    stopped = review(airlock, job["id"], "erin", "reject", "contrat suspendu")
    assert stopped.status_code == 403 and "SUSPENDED" in stopped.text


def test_hostile_review_input_answers_problem_json(airlock: SandboxWorld) -> None:
    job = held(airlock, BY_SCHOOL)
    url, headers = f"{REVIEWS}/{job['id']}/approve", checker(airlock, "carol")
    for body in (b"{", b"[]", b'{"comment": 5}', b'{"comment": "ok", "extra": 1}', b"null"):
        resp = airlock.client.post(
            url, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert 400 <= resp.status_code < 500, (body, resp.status_code)
        assert resp.headers["content-type"].startswith("application/problem+json")
    long = airlock.client.post(url, json={"comment": "x" * 5000}, headers=headers)
    assert long.status_code in (400, 422)
    unknown = airlock.client.get(f"{REVIEWS}/no-such-job", headers=headers)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert airlock.client.get(f"{REVIEWS}/{job['id']}", headers=headers).json()["reviews"] == []


def test_concurrent_approvals_release_once(airlock: SandboxWorld) -> None:
    """Three checkers approve at the same moment: the hold's row is locked, so exactly two
    approvals are recorded, the result is released once, the third is refused."""
    job = held(airlock, BY_SCHOOL)
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(lambda sub: review(airlock, job["id"], sub, "approve"), ["c1", "c2", "c3"])
        )
    assert sorted(a.status_code for a in answers) == [200, 200, 403]
    with Session(airlock.ctx.engine) as session:
        reviews = session.exec(select(OutputReview).where(OutputReview.job_id == job["id"])).all()
        releases = session.exec(
            select(AuditEvent).where(
                AuditEvent.resource_id == job["id"], AuditEvent.action == "sandbox.output.release"
            )
        ).all()
    assert len(reviews) == 2 and len(releases) == 1
    assert airlock.wait(job["id"])["status"] == "released"


def test_offset_isolation_is_flagged_on_the_exact_cell(airlock: SandboxWorld) -> None:
    """Class 3: every pupil gets the same offset and one pupil their own value on top; k
    and dominance pass, and the total minus the offsets is that pupil's value (checked
    against the lake). The cell is held with an ``isolation`` finding, the others not."""
    target = pupil_times(airlock, [0])
    job = held(
        airlock,
        f'SELECT school_id, sum(CASE WHEN "timestamp" IN {target} THEN result_duration_s '
        "ELSE 0 END + 1000) AS s, count(DISTINCT pupil_id) AS pupils "
        "FROM statements GROUP BY school_id ORDER BY school_id",
    )
    seen = airlock.client.get(f"{REVIEWS}/{job['id']}", headers=checker(airlock, "carol")).json()
    rows = {r[0]: r for r in seen["result"]["rows"]}
    ((secret,),) = lake_sql(
        airlock, "SELECT sum(result_duration_s) FROM lake WHERE actor_pseudonym = "
        "sha256('c-alicepupil-0')",
    )  # fmt: skip
    assert rows["school-0"][1] - 50 * 10 * 1000 == secret  # what approving would leak
    flagged = [
        seen["result"]["rows"][c["row"]][0]
        for c in seen["findings"]["cells"]
        if any(f["code"] == "isolation" and f["column"] == "s" for f in c["findings"])
    ]
    assert flagged == ["school-0"]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (  # class 2: a window over a class lists its pupils' values, carried as a key
            "WITH c AS (SELECT pupil_id, class_id, string_agg(CAST(result_score_scaled AS "
            "VARCHAR), ',') OVER (PARTITION BY class_id) AS v FROM statements) "
            "SELECT v, count(DISTINCT pupil_id) AS n FROM c GROUP BY v",
            "string_agg",
        ),
        (  # class 2: a window over a class, below the outermost level
            "WITH c AS (SELECT pupil_id, max(result_score_scaled) OVER (PARTITION BY class_id) "
            "AS top FROM statements) SELECT top, count(DISTINCT pupil_id) AS n FROM c GROUP BY top",
            "partitioned by pupil_id",
        ),
        (  # class 2: a list of values inside a CTE
            "WITH c AS (SELECT pupil_id, list(result_score_scaled) AS l FROM statements "
            "GROUP BY pupil_id) SELECT count(*) AS n FROM c",
            "list",
        ),
        (  # class 4: error() carries data
            "SELECT count(*) AS n FROM statements WHERE error('x' || statement_id) IS NULL",
            "error",
        ),
        (  # class 7: a string built past the memory limit
            "WITH c AS (SELECT pupil_id, repeat('x', 1500000000) AS s FROM statements) "
            "SELECT count(*) AS n FROM c WHERE length(s) > 0",
            "repeat",
        ),
    ],
)
def test_attack_shapes_are_refused_before_anything_is_held(
    airlock: SandboxWorld, sql: str, named: str
) -> None:
    """The allowlist applies at every level on the reviewed path too: refused at
    submission, naming the construct, and nothing reaches the airlock."""
    resp = airlock.submit(sql)
    assert resp.status_code == 400, resp.text
    assert any(named in r for r in resp.json()["reasons"]), resp.json()
    listed = airlock.client.get(REVIEWS, headers=checker(airlock, "carol"))
    assert listed.status_code == 200 and listed.json() == []


def test_failures_and_resources_of_exact_queries_carry_no_data(airlock: SandboxWorld) -> None:
    """Classes 4 and 6 on the reviewed path: an overflow's run is held for the checkers,
    who read the error class, never the row's value; the researcher sees the status only;
    reported times (with the release) are on the release grid, memory is not shown."""
    job, cause = airlock.held_failure(
        "WITH p AS (SELECT pupil_id, 9223372036854775807 + count(*) AS big FROM statements "
        "GROUP BY pupil_id) SELECT count(*) AS n FROM p WHERE big > 0"
    )
    assert cause == "the query failed: OutOfRangeException (a value is out of range)"
    assert job["reasons"] == [] and airlock.report(job["id"])["decision"] == "pending_review"
    held_job = held(airlock, BY_SCHOOL)
    assert airlock.wait(held_job["id"])["resources"] == {}  # shown with the release
    resources = airlock.approve(held_job["id"])["resources"]
    assert on_release_grid(resources["query_s"])
    assert {"peak_memory_bytes", "rows_scanned", "peak_temp_bytes"}.isdisjoint(resources)


def test_a_release_records_the_use_of_every_pupil_in_scope(airlock: SandboxWorld) -> None:
    """The pupil's rights record lists airlock releases as it lists releases under
    differential privacy: at the second approval, never before, never on a rejection.
    Oracle: the pseudonyms in the contract's lake files, digested independently."""
    key = use_key(airlock.ctx.settings)
    pseudonyms = {r[0] for r in lake_sql(airlock, "SELECT DISTINCT actor_pseudonym FROM lake")}
    expected = {use_digest(key, "c-alice", p) for p in pseudonyms}
    assert len(expected) == 200

    def recorded(job_id: str) -> list[PupilUseDigest]:
        with Session(airlock.ctx.engine) as session:
            query = select(PupilUseDigest).where(PupilUseDigest.job_id == job_id)
            return list(session.exec(query).all())

    rejected = held(airlock, BY_SCHOOL)
    assert review(airlock, rejected["id"], "carol", "reject", "non").status_code == 200
    job = held(airlock, BY_SCHOOL)
    seen = airlock.client.get(f"{REVIEWS}/{job['id']}", headers=checker(airlock, "carol"))
    assert "scope" not in seen.json()["findings"] and str(airlock.lake) not in seen.text
    assert review(airlock, job["id"], "carol", "approve").status_code == 200
    assert recorded(job["id"]) == []  # one approval releases nothing
    assert review(airlock, job["id"], "dave", "approve").json()["status"] == "released"
    rows = recorded(job["id"])
    assert {r.digest for r in rows} == expected and len(rows) == len(expected)
    assert {(r.contract_id, r.project_id) for r in rows} == {("c-alice", airlock.project())}
    assert recorded(rejected["id"]) == []
    with Session(airlock.ctx.engine) as session:  # what the DPO's per-pupil report lists
        first = session.exec(
            select(PupilUseDigest).where(PupilUseDigest.digest == sorted(expected)[0])
        ).all()
    assert [r.job_id for r in first] == [job["id"]]
