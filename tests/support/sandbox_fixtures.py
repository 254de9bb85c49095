"""Sandbox fixtures: a lake of simulated xAPI statements (interface 2 layout) and contracts."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlmodel import select

from contracts.model import (
    DEFAULT_EPSILON_BUDGET,
    DEFAULT_EPSILON_PER_QUERY,
    ContractTerms,
    LegalBasis,
    ReleaseMode,
)
from hub.config import Settings
from hub.context import HubContext
from hub.contracts.models import Contract, ContractVersion
from hub.db import session_scope
from hub.ingest.models import IngestBatch
from hub.registry import schemas as rs
from hub.registry import service as registry
from hub.sandbox.runtime import SandboxRuntime, install, uninstall
from hub.sandbox.scope import LAKE_COLUMNS, RegistryContracts
from hub.settings.sandbox import SandboxSettings
from hub.storage.s3 import S3Store
from hub.trail.writer import Actor
from tests.support.factories import new_siren
from tests.support.web import form

VERBS = (
    "http://adlnet.gov/expapi/verbs/initialized",
    "https://w3id.org/xapi/video/verbs/played",
    "https://w3id.org/xapi/video/verbs/paused",
    "http://adlnet.gov/expapi/verbs/completed",
)
ALL_FIELDS = list(LAKE_COLUMNS)
# An allowed query that runs for hours (an 8-way self-join: 10^8 rows a pupil).
RUNAWAY = (
    "SELECT a.school_id, count(*) AS n FROM statements a "
    + " ".join(f"JOIN statements {t} USING (pupil_id)" for t in "bcdefgh")
    + " GROUP BY 1"
)
# An allowed query whose hash table outgrows a small memory limit (10^4 groups a pupil).
MEMORY_HOG = (
    "WITH x AS (SELECT pupil_id, a.statement_id AS s1, b.statement_id AS s2, "
    "c.statement_id AS s3, d.statement_id AS s4 FROM statements a "
    + " ".join(f"JOIN statements {t} USING (pupil_id)" for t in "bcde")
    + " GROUP BY pupil_id, s1, s2, s3, s4) SELECT count(*) AS n FROM x"
)
PURPOSE = "Engagement with educational videos"
CHECKERS = ("carol", "dave")  # two distinct output checkers (the airlock's rule)
RELEASED = ("succeeded", "released")  # a job's status once its result is out (DP, airlock)


def write_batch(
    lake: Path,
    provider: str,
    contract: str,
    dataset: str,
    *,
    statements: int,
    pupils: int,
    schools: int = 4,
    day: str = "2026-09-01",
    seq: int = 1,
    salt: str = "",
    days: int = 28,
) -> Path:
    """One Parquet batch under the lake layout; pupil ``i`` is in school ``i % schools``;
    statement ``s`` is pupil ``s % pupils``'s, on day ``(s // pupils) % days`` from ``day``.

    Pupil pseudonyms are ``sha256(salt || 'pupil-' || i)`` (contract-scoped in the lake).
    """
    folder = lake / provider / contract / dataset / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"conn-1-{seq:012d}-0.parquet"
    verbs = ", ".join(f"'{v}'" for v in VERBS)
    sql = f"""
    COPY (
      SELECT
        uuid()::VARCHAR AS statement_id,
        sha256('{salt}' || 'pupil-' || (i % {pupils})) AS actor_pseudonym,
        [{verbs}][1 + (i // {pupils}) % 4] AS verb_id,
        'https://example.org/videos/' || (i % 7) AS object_id,
        'https://w3id.org/xapi/video/activity-type/video' AS object_type,
        (TIMESTAMPTZ '{day} 08:00:00+00' + to_seconds(i % 86400)
           + to_days((i // {pupils}) % {days})) AS "timestamp",
        TIMESTAMPTZ '{day} 23:00:00+00' AS stored,
        CASE WHEN i % 3 = 0 THEN ((i * 7919) % 101) / 100.0 END AS result_score_scaled,
        CASE WHEN i % 3 = 0 THEN ((i * 7919) % 101)::DOUBLE END AS result_score_raw,
        CASE WHEN i % 3 = 0 THEN (i * 7919) % 101 >= 50 END AS result_success,
        CASE WHEN i % 5 = 0 THEN true END AS result_completion,
        ((i * 31) % 600)::DOUBLE AS result_duration_s,
        NULL::VARCHAR AS context_registration,
        'https://lms.example.org' AS context_platform,
        'school-' || ((i % {pupils}) % {schools}) AS school_id,
        'class-' || ((i % {pupils}) % {schools * 3}) AS class_id,
        '{{}}' AS statement_json
      FROM range({statements}) t(i)
    ) TO '{path}' (FORMAT parquet)
    """
    with duckdb.connect() as con:
        con.execute(sql)
    return path


def approve_held(client: TestClient, ctx: HubContext, job_id: str) -> None:
    """Two distinct output checkers (``CHECKERS``) approve the held job ``job_id`` (the
    airlock's rule)."""
    for checker in CHECKERS:
        token = ctx.issuer.mint(checker, ["output_checker"])
        resp = client.post(
            f"/api/v1/reviews/outputs/{job_id}/approve",
            json={"comment": "agrégats vérifiés"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status_code == 200, resp.text


def contract_doc(
    contract_id: str,
    project_id: str,
    provider: str = "prov-1",
    dataset: str = "videos",
    **overrides: Any,
) -> dict[str, Any]:
    """A FINALIZED contract document (interface 3 shape) valid around today."""
    today = date.today()
    doc: dict[str, Any] = {
        "id": contract_id,
        "version": 1,
        "state": "FINALIZED",
        "provider_id": provider,
        "project_id": project_id,
        "datasets": [dataset],
        "allowed_fields": list(ALL_FIELDS),
        "min_cell_size": 10,
        "row_level": False,
        "rounding_base": None,
        # exact results through the airlock by default (``SandboxWorld.run`` has two output
        # checkers approve them); tests of differential privacy ask for it
        "release_mode": "reviewed",
        "purpose": PURPOSE,
        "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "retention_days": 365,
        "connector_ids": ["conn-1"],
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """An empty lake directory."""
    path = tmp_path / "lake"
    path.mkdir()
    return path


@dataclass
class Lab:
    """A lab with two accredited researchers, each leading a project, plus an outsider."""

    lab_id: str
    projects: dict[str, str]  # researcher subject -> project id
    outsider: str = "mallory"


def register_lab(ctx: HubContext) -> Lab:
    """Register a lab, researchers ``alice`` and ``bob`` (one project each) and ``mallory``
    (accredited, in no project), through the registry service."""
    today = date.today()
    actor = Actor("admin", "operator")
    with session_scope(ctx.engine) as session:
        lab = registry.create_org(
            session, actor, rs.OrganisationIn(name="Labo", siren=new_siren(), kind=rs.OrgKind.LAB)
        )
        projects = {}
        for sub in ("alice", "bob", "mallory"):
            accreditation = rs.AccreditationIn(
                granted_by="CASD", valid_from=today, valid_until=today + timedelta(days=90)
            )
            body = rs.ResearcherIn(
                subject=sub,
                name=sub.title(),
                email=f"{sub}@lab.example.fr",
                organisation_id=lab.id,
                accreditation=accreditation,
            )
            researcher = registry.create_researcher(session, actor, body)
            if sub != "mallory":
                project = rs.ProjectIn(
                    title=f"Projet {sub}",
                    purpose=PURPOSE,
                    lab_id=lab.id,
                    members=[researcher.id],
                )
                projects[sub] = registry.create_project(session, actor, project, None).id
    return Lab(lab_id=lab.id, projects=projects)


def new_connector(ctx: HubContext) -> tuple[str, str]:
    """A provider organisation and its connector (fresh Ed25519 key); returns their ids."""
    pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    actor = Actor("admin", "operator")
    with session_scope(ctx.engine) as session:
        org = rs.OrganisationIn(name="Éditeur", siren=new_siren(), kind=rs.OrgKind.PROVIDER)
        org_id = registry.create_org(session, actor, org).id
        body = rs.ConnectorIn(name="conn", organisation_id=org_id, public_key=pem)
        return org_id, registry.create_connector(session, actor, body).id


def store_contract(ctx: HubContext, doc: dict[str, Any], lab_id: str) -> None:
    """Store ``doc`` (interface 3 shape) as a FINALIZED contract of the contracts area, so
    that the contract service and the policy engine both see it (fixture data: the
    signing lifecycle itself is tested by the contracts area)."""
    terms = ContractTerms(
        project_id=doc["project_id"],
        purpose=doc["purpose"],
        legal_basis=[LegalBasis.PUBLIC_TASK],
        allowed_fields=doc["allowed_fields"],
        min_cell_size=doc["min_cell_size"],
        row_level=doc["row_level"],
        row_level_reason="fixture" if doc["row_level"] else None,
        rounding_base=doc["rounding_base"],
        retention_days=doc["retention_days"],
        valid_from=date.fromisoformat(doc["valid_from"]),
        valid_until=date.fromisoformat(doc["valid_until"]),
        connector_ids=doc["connector_ids"],
        provider_id=doc["provider_id"],
        datasets=doc["datasets"],
        release_mode=doc.get("release_mode", ReleaseMode.DIFFERENTIAL_PRIVACY),
        epsilon_per_query=doc.get("epsilon_per_query", DEFAULT_EPSILON_PER_QUERY),
        epsilon_budget=doc.get("epsilon_budget", DEFAULT_EPSILON_BUDGET),
        epsilon_max_per_query=doc.get("epsilon_max_per_query"),
    )
    with session_scope(ctx.engine) as session:
        session.add(
            Contract(
                id=doc["id"],
                provider_id=doc["provider_id"],
                lab_id=lab_id,
                project_id=doc["project_id"],
                state=doc["state"],
                valid_from=terms.valid_from,
                valid_until=terms.valid_until,
                created_by="fixture",
                finalized_at=datetime.now(UTC),
            )
        )
        session.flush()
        version = ContractVersion(
            contract_id=doc["id"],
            version=1,
            terms=terms.model_dump(mode="json"),
            digest="0" * 64,
            author_sub="fixture",
            author_party="lab",
        )
        session.add(version)


def suspend_contract(ctx: HubContext, contract_id: str) -> None:
    """Suspend a stored contract (as the contracts area does: ``suspended_at`` set)."""
    with session_scope(ctx.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        contract.suspended_at = datetime.now(UTC)
        contract.suspension_reason = "incident"
        session.add(contract)


def register_batch(
    ctx: HubContext, lake: Path, connector_id: str, path: Path, status: str = "registered"
) -> None:
    """Record ``path`` (a file under ``lake``) as one batch in the ingest registry, with
    the SHA-256 of its current bytes."""
    provider, contract, dataset = path.relative_to(lake).parts[:3]
    key = "lake/" + path.relative_to(lake).as_posix()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with session_scope(ctx.engine) as session:
        sequence = len(session.exec(select(IngestBatch)).all()) + 1
        session.add(
            IngestBatch(
                connector_id=connector_id,
                sequence=sequence,
                contract_id=contract,
                provider_id=provider,
                dataset_id=dataset,
                status=status,
                files=[{"key": key, "date": path.parent.name[5:], "index": 0, "sha256": digest}],
            )
        )


@dataclass
class SandboxWorld:
    """A hub with a lab, contracts (static documents), a lake and the sandbox runtime."""

    client: TestClient
    ctx: HubContext
    lab: Lab
    lake: Path
    contracts: dict[str, dict[str, Any]]
    runtime: SandboxRuntime
    connector: str
    provider: str

    def headers(self, sub: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ctx.issuer.mint(sub, ['researcher'])}"}

    def login(self, sub: str = "alice") -> None:
        """Open a web session (cookie) for ``sub`` on the client."""
        token = self.ctx.issuer.mint(sub, ["researcher"])
        data = form(self.client, token=token, next="/research")
        resp = self.client.post("/login", data=data, follow_redirects=False)
        assert resp.status_code == 303

    def project(self, sub: str = "alice") -> str:
        return self.lab.projects[sub]

    def submit(self, sql: str, sub: str = "alice", project: str | None = None) -> Any:
        """POST the query; returns the response."""
        pid = project or self.project(sub)
        return self.client.post(
            f"/api/v1/projects/{pid}/queries", json={"sql": sql}, headers=self.headers(sub)
        )

    def wait(self, job_id: str, sub: str = "alice", timeout: float = 30) -> dict[str, Any]:
        """Poll until the job leaves queued/running; returns its last status."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.client.get(f"/api/v1/queries/{job_id}", headers=self.headers(sub)).json()
            if body["status"] not in ("queued", "running") or time.monotonic() > deadline:
                return dict(body)
            time.sleep(0.05)

    def approve(self, job_id: str, sub: str = "alice") -> dict[str, Any]:
        """Have two distinct output checkers (``carol``, ``dave``) approve the held job
        ``job_id``, the airlock's rule; returns the job's status as ``sub`` sees it."""
        approve_held(self.client, self.ctx, job_id)
        return self.wait(job_id, sub)

    def held_failure(self, sql: str, sub: str = "alice") -> tuple[dict[str, Any], str]:
        """Submit ``sql``, whose run fails on a reviewed project: the researcher sees it
        held like a result; returns (the job as ``sub`` sees it, the cause the first
        output checker reads)."""
        resp = self.submit(sql, sub)
        assert resp.status_code == 202, resp.text
        job = self.wait(resp.json()["id"], sub)
        assert job["status"] == "pending_review" and job["resources"] == {}, job
        token = self.ctx.issuer.mint(CHECKERS[0], ["output_checker"])
        shown = self.client.get(
            f"/api/v1/reviews/outputs/{job['id']}", headers={"Authorization": f"Bearer {token}"}
        )
        assert shown.status_code == 200, shown.text
        return job, str(shown.json()["findings"]["failure"])

    def run(self, sql: str, sub: str = "alice") -> tuple[dict[str, Any], dict[str, Any]]:
        """Submit and wait; an exact result held in the airlock is approved (``approve``)
        first. Returns (job status, JSON result or report when none)."""
        resp = self.submit(sql, sub)
        assert resp.status_code == 202, resp.text
        job = self.wait(resp.json()["id"], sub)
        if job["status"] == "pending_review":
            job = self.approve(job["id"], sub)
        kind = "result" if job["status"] in RELEASED else "report"
        out = self.client.get(f"/api/v1/queries/{job['id']}/{kind}", headers=self.headers(sub))
        return job, out.json()

    def report(self, job_id: str, sub: str = "alice") -> dict[str, Any]:
        resp = self.client.get(f"/api/v1/queries/{job_id}/report", headers=self.headers(sub))
        return dict(resp.json())


def sandbox_settings(**values: Any) -> SandboxSettings:
    """The environment's sandbox settings (the tests' fast release grid, tests/conftest.py)
    with ``values``."""
    return Settings().sandbox.model_copy(update=values)


def on_release_grid(seconds: float) -> bool:
    """True when a reported time is a whole number of the environment's release ticks."""
    ticks = seconds / Settings().sandbox.release_tick_s
    return seconds > 0 and abs(ticks - round(ticks)) < 1e-6


def build_sandbox_world(
    client: TestClient | None,
    ctx: HubContext,
    lake: Path,
    *,
    deadline_s: float = 10.0,
    pupils: int = 200,
    **contract_overrides: Any,
) -> SandboxWorld:
    """Contracts ``c-alice`` and ``c-bob`` (same provider), one batch each: 10 statements
    from each of ``pupils`` pupils (200: 50 in each of 4 schools). When the hub's store is
    S3, the batches are uploaded to its bucket and the sandbox reads them from there."""
    lab = register_lab(ctx)
    provider, connector = new_connector(ctx)
    contracts = {}
    for sub, pid in lab.projects.items():
        cid = f"c-{sub}"
        doc = contract_doc(cid, pid, provider, connector_ids=[connector], **contract_overrides)
        contracts[cid] = doc
        store_contract(ctx, doc, lab.lab_id)
        path = write_batch(
            lake, provider, cid, "videos", statements=10 * pupils, pupils=pupils, salt=cid
        )
        register_batch(ctx, lake, connector, path)
        if isinstance(ctx.store, S3Store):  # the hub's lake is the bucket: upload the batch
            ctx.store.put("lake/" + path.relative_to(lake).as_posix(), path.read_bytes())
    local = None if isinstance(ctx.store, S3Store) else lake
    settings = sandbox_settings(lake_dir=local, deadline_s=deadline_s, max_rows=1000)
    runtime = install(SandboxRuntime(ctx, settings, RegistryContracts()))
    return SandboxWorld(client, ctx, lab, lake, contracts, runtime, connector, provider)  # type: ignore[arg-type]


@pytest.fixture
def sandbox(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    """The default sandbox world (k = 10, no rounding, no row-level output)."""
    world = build_sandbox_world(client, hub_ctx, lake)
    yield world
    uninstall(hub_ctx)
