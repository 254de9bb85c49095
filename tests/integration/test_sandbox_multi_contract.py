"""A project spanning two contracts whose lakes hold the same pupils (a contract and its
renewal, both FINALIZED and in force): each pupil is two ``pupil_id`` values, one per
contract pseudonym, so every per-pupil bound of a release is per person times 2.

Ground truth comes from the lake files: the fixture's pseudonym of pupil ``i`` under a
contract is ``sha256(contract id || 'pupil-' || i)``, so the test maps every pseudonym of
both contracts back to its person and counts persons per cell.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from hub.context import HubContext
from hub.contracts.models import Contract
from hub.db import session_scope
from hub.sandbox.runtime import uninstall
from hub.storage.s3 import S3Store
from tests.support.sandbox_fixtures import (
    CHECKERS,
    SandboxWorld,
    build_sandbox_world,
    contract_doc,
    register_batch,
    store_contract,
    write_batch,
)
from tests.support.web import form

K = 10
RENEWAL = "c-alice-renewal"
PER_PUPIL = (
    "WITH p AS (SELECT pupil_id, any_value(school_id) AS school_id, "
    "avg(CAST(result_success AS DOUBLE)) AS success_rate FROM results GROUP BY pupil_id) "
    "SELECT school_id, count(*) AS pupils, avg(success_rate) AS success_rate "
    "FROM p GROUP BY school_id"
)  # L = 1: one row per pupil id
WEEKLY = (
    "WITH w AS (SELECT pupil_id, date_trunc('week', day) AS week, count(*) AS n "
    "FROM statements GROUP BY pupil_id, week) SELECT week, count(*) AS pupils FROM w GROUP BY week"
)  # L = the hub's max_cells_per_pupil (12)
# What main's code released for bob's single-contract project (ε = 1, δ = the hub's):
# the scales of each step and the noisy threshold; a single-contract project is unchanged.
SINGLE_CONTRACT = {
    PER_PUPIL: ([3.0, 1.5, 3.0], 40),
    WEEKLY: ([12.0], 188),
}


def add_renewal(world: SandboxWorld, pupils: int, sub: str = "alice") -> None:
    """A second FINALIZED contract of ``sub``'s project (its renewal: same provider,
    connector and dataset) whose batch holds the same ``pupils`` pupils as the first,
    pseudonymised under its own key (the contract id as salt, as ``write_batch`` does)."""
    store_renewal(world, sub)
    ship_renewal(world, pupils)


def store_renewal(world: SandboxWorld, sub: str = "alice") -> None:
    """The renewal contract alone, in force and still without data."""
    first = world.contracts[f"c-{sub}"]
    doc = contract_doc(
        RENEWAL,
        first["project_id"],
        world.provider,
        connector_ids=[world.connector],
        release_mode=first["release_mode"],
    )
    world.contracts[RENEWAL] = doc
    store_contract(world.ctx, doc, world.lab.lab_id)


def ship_renewal(world: SandboxWorld, pupils: int) -> None:
    """The renewal's first batch: pupils ``0 .. pupils - 1`` under the renewal's key."""
    path = write_batch(
        world.lake, world.provider, RENEWAL, "videos", statements=10 * pupils, pupils=pupils,
        salt=RENEWAL, seq=2,
    )  # fmt: skip
    register_batch(world.ctx, world.lake, world.connector, path)
    if isinstance(world.ctx.store, S3Store):
        world.ctx.store.put("lake/" + path.relative_to(world.lake).as_posix(), path.read_bytes())


def oracle(world: SandboxWorld, contracts: tuple[str, ...], pupils: int) -> dict[str, Any]:
    """Per school, from the lake files of ``contracts``: the distinct pseudonyms (what a
    query counts as pupils) and the distinct persons behind them."""
    person = {
        hashlib.sha256(f"{cid}pupil-{i}".encode()).hexdigest(): i
        for cid in contracts
        for i in range(pupils)
    }
    files = [
        f"'{p}'" for cid in contracts for p in world.lake.glob(f"{world.provider}/{cid}/*/*/*")
    ]
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT DISTINCT school_id, actor_pseudonym FROM read_parquet([{', '.join(files)}])"
        ).fetchall()
    ids: dict[str, set[str]] = {}
    persons: dict[str, set[int]] = {}
    for school, pseudonym in rows:
        ids.setdefault(school, set()).add(pseudonym)
        persons.setdefault(school, set()).add(person[pseudonym])
    return {
        "pupil_ids": {s: len(v) for s, v in ids.items()},
        "persons": {s: len(v) for s, v in persons.items()},
    }


@contextmanager
def renewed(
    client: TestClient, hub_ctx: HubContext, lake: Path, pupils: int, **modes: str
) -> Iterator[SandboxWorld]:
    """The sandbox world (``pupils`` under each contract) with alice's renewal shipped."""
    world = build_sandbox_world(client, hub_ctx, lake, pupils=pupils, **modes)
    add_renewal(world, pupils=pupils)
    yield world
    uninstall(hub_ctx)


@pytest.fixture
def dp(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    with renewed(client, hub_ctx, lake, 400, release_mode="differential_privacy") as world:
        yield world


def _preview(world: SandboxWorld, sql: str, sub: str) -> dict[str, Any]:
    url = f"/api/v1/projects/{world.project(sub)}/queries/preview"
    resp = world.client.post(url, json={"sql": sql}, headers=world.headers(sub))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _scales(report: dict[str, Any]) -> list[float]:
    return [float(s["scale"]) for s in report["steps"]]


def _threshold(report: dict[str, Any]) -> int:
    return int(next(s["threshold"] for s in report["steps"] if "threshold" in s))


@pytest.mark.parametrize("sql", [PER_PUPIL, WEEKLY])
def test_two_contracts_double_every_noise_scale_and_a_single_contract_is_unchanged(
    dp: SandboxWorld, sql: str
) -> None:
    """Same query, same ε: alice's project (two contracts, the same 400 persons under
    both) gets exactly twice the noise scale of bob's (one contract), in the release
    report and in the preview; bob's report is what main's code released."""
    single_job, _ = dp.run(sql, sub="bob")
    double_job, double = dp.run(sql)
    assert single_job["status"] == double_job["status"] == "succeeded", (single_job, double_job)
    single, twice = dp.report(single_job["id"], "bob"), dp.report(double_job["id"])
    scales, threshold = SINGLE_CONTRACT[sql]
    assert _scales(single) == pytest.approx(scales, rel=1e-12)
    assert _threshold(single) == threshold
    assert _scales(twice) == pytest.approx([2 * s for s in scales], rel=1e-12)
    assert single["epsilon"] == pytest.approx(1.0) and twice["epsilon"] == pytest.approx(1.0)
    per_pupil = single["max_cells_per_pupil"]
    assert (single["pseudonyms_per_person"], single["max_cells_per_person"]) == (1, per_pupil)
    assert twice["max_cells_per_pupil"] == per_pupil  # per pseudonym, as before
    assert (twice["pseudonyms_per_person"], twice["max_cells_per_person"]) == (2, 2 * per_pupil)
    assert (single["min_pupil_ids_per_cell"], twice["min_pupil_ids_per_cell"]) == (K, 2 * K)
    assert sorted(double_job["contract_ids"]) == ["c-alice", RENEWAL]
    # the preview states the same calibration before anything runs
    ahead, alone = _preview(dp, sql, "alice"), _preview(dp, sql, "bob")
    assert [m["scale"] for m in ahead["measures"] if "scale" in m] == pytest.approx(
        [2 * m["scale"] for m in alone["measures"] if "scale" in m], rel=1e-12
    )
    assert (ahead["pseudonyms_per_person"], ahead["max_cells_per_person"]) == (2, 2 * per_pupil)
    assert alone["threshold"] == threshold
    # δ computed for 2 * L cells, up to 2 per cell: above twice the single threshold
    assert _threshold(twice) == ahead["threshold"] > 2 * threshold
    dp.login()
    fields = {"project_id": dp.project(), "sql": sql}
    page = dp.client.post("/research/preview", data=form(dp.client, **fields)).text
    assert "les données lues viennent de 2 contrats" in page
    assert f"calibré sur {2 * per_pupil} cellules par personne" in page
    if sql == PER_PUPIL:  # the counts are of pseudonyms: twice the persons (lake oracle)
        truth = oracle(dp, ("c-alice", RENEWAL), 400)
        assert truth["persons"] == {f"school-{s}": 100 for s in range(4)}
        for school, pupils, _ in double["rows"]:
            assert abs(pupils - truth["pupil_ids"][school]) < 60  # scale 6: P(miss) < e^-10
            assert truth["pupil_ids"][school] == 2 * truth["persons"][school]


@pytest.fixture
def fresh_renewal(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    """Alice's project with its renewal FINALIZED and in force, but no batch of it yet."""
    world = build_sandbox_world(
        client, hub_ctx, lake, pupils=400, release_mode="differential_privacy"
    )
    store_renewal(world)
    yield world
    uninstall(hub_ctx)


def test_a_renewal_counts_once_its_data_is_read(fresh_renewal: SandboxWorld) -> None:
    """A renewal without data adds no pseudonym: alice's release is calibrated as bob's
    single contract; once its first batch is registered, every scale doubles."""
    job, _ = fresh_renewal.run(PER_PUPIL)
    assert job["status"] == "succeeded", job
    assert sorted(job["contract_ids"]) == ["c-alice", RENEWAL]
    scales, threshold = SINGLE_CONTRACT[PER_PUPIL]
    report = fresh_renewal.report(job["id"])
    assert _scales(report) == pytest.approx(scales, rel=1e-12)
    assert (report["pseudonyms_per_person"], _threshold(report)) == (1, threshold)
    assert _preview(fresh_renewal, PER_PUPIL, "alice")["pseudonyms_per_person"] == 1
    ship_renewal(fresh_renewal, pupils=400)
    job, _ = fresh_renewal.run(PER_PUPIL)
    report = fresh_renewal.report(job["id"])
    assert _scales(report) == pytest.approx([2 * s for s in scales], rel=1e-12)
    assert report["pseudonyms_per_person"] == 2
    assert _preview(fresh_renewal, PER_PUPIL, "alice")["pseudonyms_per_person"] == 2


@pytest.fixture
def reviewed(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    """36 persons (9 per school, k - 1) under both of alice's contracts; bob: one."""
    with renewed(client, hub_ctx, lake, 36) as world:
        yield world


def _checker_view(world: SandboxWorld, job_id: str) -> dict[str, Any]:
    token = world.ctx.issuer.mint(CHECKERS[0], ["output_checker"])
    shown = world.client.get(
        f"/api/v1/reviews/outputs/{job_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert shown.status_code == 200, shown.text
    return dict(shown.json())


def test_a_cell_of_k_minus_1_persons_under_two_contracts_is_dropped(
    reviewed: SandboxWorld,
) -> None:
    """Each school holds 18 pupil ids (≥ k) but 9 persons (< k): every row is dropped
    whole on the exact path; the whole cohort (72 ids, 36 persons) still comes out, and
    the checkers read that the project spans 2 contracts."""
    truth = oracle(reviewed, ("c-alice", RENEWAL), 36)
    assert truth["persons"] == {f"school-{s}": K - 1 for s in range(4)}
    assert truth["pupil_ids"] == {f"school-{s}": 2 * (K - 1) for s in range(4)}
    by_school = (
        "SELECT school_id, count(DISTINCT pupil_id) AS pupils FROM statements GROUP BY school_id"
    )
    resp = reviewed.submit(by_school)
    assert resp.status_code == 202, resp.text
    job = reviewed.wait(resp.json()["id"])
    assert job["status"] == "pending_review", job
    found = _checker_view(reviewed, job["id"])["findings"]
    assert found["summary"]["rows_held"] == 0 and found["summary"]["rows_dropped"] == 4
    assert (found["k"], found["pseudonyms_per_person"], found["min_pupil_ids"]) == (K, 2, 2 * K)
    assert "18" not in str(found["cells"])  # no count under k * c is quoted
    job, result = reviewed.run("SELECT count(DISTINCT pupil_id) AS pupils FROM statements")
    assert job["status"] == "released" and result["rows"] == [[72]], (job, result)
    assert sum(truth["persons"].values()) == 36 >= 2 * K
    token = reviewed.ctx.issuer.mint(CHECKERS[1], ["output_checker"])
    data = form(reviewed.client, token=token, next="/")
    assert reviewed.client.post("/login", data=data, follow_redirects=False).status_code == 303
    pending = reviewed.submit(by_school).json()["id"]
    assert reviewed.wait(pending)["status"] == "pending_review"
    page = reviewed.client.get(f"/controle-sorties/{pending}").text
    assert (
        "les données lues viennent de 2 contrats" in page and "à partir de 20 pseudonymes" in page
    )


def test_a_single_contract_project_keeps_k(reviewed: SandboxWorld) -> None:
    """Bob's project (one contract): a cell of 18 persons, 18 pupil ids (between k and
    2k) is released, the threshold staying k pupil ids."""
    sql = (
        "SELECT count(DISTINCT pupil_id) AS pupils FROM statements "
        "WHERE school_id IN ('school-0', 'school-1')"
    )
    resp = reviewed.submit(sql, sub="bob")
    assert resp.status_code == 202, resp.text
    job = reviewed.wait(resp.json()["id"], sub="bob")
    found = _checker_view(reviewed, job["id"])["findings"]
    assert (found["k"], found["pseudonyms_per_person"], found["min_pupil_ids"]) == (K, 1, K)
    assert found["summary"]["rows_held"] == 1
    assert reviewed.approve(job["id"], sub="bob")["status"] == "released"


@pytest.fixture
def ending(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    """60 persons (15 per school, 5 per class) under both of alice's contracts."""
    with renewed(client, hub_ctx, lake, 60) as world:
        yield world


def test_differencing_spans_a_contract_leaving_the_scope(ending: SandboxWorld) -> None:
    """Released while both contracts were read: school-0's pupils of the first contract
    and class-1's of both (25 ids). Once the renewal ends, school-0 alone (15 ids, c = 1)
    differs from it by 10 ids: 5 persons of class-1 (lake oracle), under k. The held
    result is flagged against the released one (k times the 2 contracts either read),
    where its own k * c (10) let it pass."""
    both = (
        "SELECT count(DISTINCT pupil_id) AS pupils FROM statements "
        "WHERE (school_id = 'school-0' AND contract_id = 'c-alice') OR class_id = 'class-1'"
    )
    first, result = ending.run(both)
    assert first["status"] == "released" and result["rows"] == [[25]], (first, result)
    with session_scope(ending.ctx.engine) as session:
        renewal = session.get(Contract, RENEWAL)
        assert renewal is not None
        renewal.state = "TERMINATED"
    resp = ending.submit("SELECT count(DISTINCT pupil_id) AS pupils FROM statements "
                         "WHERE school_id = 'school-0'")  # fmt: skip
    assert resp.status_code == 202, resp.text
    job = ending.wait(resp.json()["id"])
    assert job["status"] == "pending_review", job
    found = _checker_view(ending, job["id"])["findings"]
    assert (found["pseudonyms_per_person"], found["contracts"]) == (1, ["c-alice"])
    flags = [f for f in found["cells"][0]["findings"] if f["code"] == "differencing"]
    assert [(f["params"]["job_id"], f["params"]["k"]) for f in flags] == [(first["id"], 2 * K)]
    released = _ids(ending, {"c-alice": "school_id = 'school-0' OR class_id = 'class-1'",
                             RENEWAL: "class_id = 'class-1'"}, 60)  # fmt: skip
    held = _ids(ending, {"c-alice": "school_id = 'school-0'"}, 60)
    assert (len(released), len(held)) == (25, 15)
    apart = released ^ held
    assert len(apart) == 10 and len({person for _, person in apart}) == 5 < K


def _ids(world: SandboxWorld, where: dict[str, str], pupils: int) -> set[tuple[str, int]]:
    """From the lake files: the (pseudonym, person) pairs of each contract's rows that
    match its condition (the ground truth behind a count of pupil ids)."""
    found = set()
    with duckdb.connect() as con:
        for contract, condition in where.items():
            person = {hashlib.sha256(f"{contract}pupil-{i}".encode()).hexdigest(): i
                      for i in range(pupils)}  # fmt: skip
            files = [f"'{p}'" for p in world.lake.glob(f"{world.provider}/{contract}/*/*/*")]
            rows = con.execute(
                f"SELECT DISTINCT actor_pseudonym FROM read_parquet([{', '.join(files)}]) "
                f"WHERE {condition}"
            ).fetchall()
            found |= {(pseudonym, person[pseudonym]) for (pseudonym,) in rows}
    return found
