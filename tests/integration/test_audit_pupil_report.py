"""The per-pupil report lists exactly the contracts and projects that hold and used one
pupil's data, through the pseudonymisation service, without exposing other pupils."""

from __future__ import annotations

from datetime import date
from html import escape

from sqlmodel import select

from contracts.batch_manifest import sign_manifest
from contracts.pseudonym import identifier_of
from hub.db import session_scope
from hub.registry.models import Project
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record
from tests.support.ingest_batches import presigned, recent_day, statements
from tests.support.ingest_fixtures import IngestSetup, finalize_contract
from tests.support.web import form

API = "/api/v1/audit/pupil-report"


def _ship(setup: IngestSetup) -> None:
    ship = presigned(setup, count=30)
    ship.upload_all()
    ship.client.complete(
        ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
    )


def _query(setup: IngestSetup, contract_id: str, sub: str, decision: Decision) -> None:
    draft = EventDraft(
        Actor(sub, "researcher"),
        "sandbox.query.release",
        Resource("query_job", f"job-{sub}"),
        decision,
        why=Why(contract_id=contract_id, project_id=setup.world.project_id),
    )
    with session_scope(setup.ctx.engine) as session:
        record(session, draft)


def test_report_lists_exactly_the_contracts_and_accesses_of_one_pupil(
    ingest: IngestSetup,
) -> None:
    _ship(ingest)
    other = finalize_contract(ingest.world, [ingest.connector_id])  # no data of the pupil
    _query(ingest, ingest.contract_id, "claire", Decision.ALLOW)
    _query(ingest, ingest.contract_id, "mallory", Decision.DENY)
    _query(ingest, other, "bob", Decision.ALLOW)
    identifier = identifier_of(statements(1)[0]["actor"])
    assert identifier is not None
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    report = ingest.client.post(API, json={"identifier": identifier}, headers=dpo).json()
    assert [(u["contract_id"], u["project_id"]) for u in report] == [
        (ingest.contract_id, ingest.world.project_id)
    ]
    assert [a["actor_sub"] for a in report[0]["accesses"]] == ["claire"]
    assert report[0]["first_day"] == recent_day()
    nobody = {"identifier": "account:https://ent.example|nobody-here"}
    assert ingest.client.post(API, json=nobody, headers=dpo).json() == []
    text = ingest.client.get("/api/v1/audit/export", params={"actor": "dpo.1"}, headers=dpo).text
    assert identifier not in text and "pupil-report" in text


def test_the_dpo_page_shows_the_report_with_names_and_french_dates(ingest: IngestSetup) -> None:
    _ship(ingest)
    identifier = identifier_of(statements(1)[0]["actor"])
    assert identifier is not None
    client = ingest.client
    token = ingest.ctx.issuer.mint("dpo.1", ["dpo"])
    assert client.post("/login", data=form(client, token=token), follow_redirects=False).is_redirect
    page = client.post("/audit/eleve", data=form(client, identifier=identifier))
    assert page.status_code == 200
    with session_scope(ingest.ctx.engine) as session:
        title = session.exec(
            select(Project.title).where(Project.id == ingest.world.project_id)
        ).one()
    shown = f'<span title="{ingest.world.project_id}">{escape(title)}</span>'
    assert shown in page.text  # the project's name, its identifier on hover
    french = date.fromisoformat(recent_day()).strftime("%d/%m/%Y")
    assert f"depuis le {french}" in page.text  # the lake's first day, in French
    assert identifier not in page.text.replace(f'value="{escape(identifier)}"', "")


def test_report_is_dpo_only_and_rejects_malformed_identifiers(ingest: IngestSetup) -> None:
    body = {"identifier": "account:https://ent.example|1"}
    op = ingest.world.auth("operator", sub="op")
    assert ingest.client.post(API, json=body, headers=op).status_code == 403
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    for bad in ({"identifier": "Jean Dupont"}, {"identifier": "x", "extra": 1}, {}):
        resp = ingest.client.post(API, json=bad, headers=dpo)
        assert resp.status_code == 400, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
    detail = ingest.client.post(API, json={"identifier": "Jean Dupont"}, headers=dpo).json()
    assert "canonical xAPI agent identifier" in detail["detail"]


def test_a_query_over_many_contracts_counts_for_each_of_them(ingest: IngestSetup) -> None:
    """The audit keeps every contract of a query (ids joined past 64 characters)."""
    _ship(ingest)
    others = [finalize_contract(ingest.world, [ingest.connector_id]) for _ in range(2)]
    joined = ",".join([*others, ingest.contract_id])
    assert joined.index(ingest.contract_id) > 64
    _query(ingest, joined, "claire", Decision.ALLOW)
    identifier = identifier_of(statements(1)[0]["actor"])
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    report = ingest.client.post(API, json={"identifier": identifier}, headers=dpo).json()
    assert [u["contract_id"] for u in report] == [ingest.contract_id]
    assert [(a["actor_sub"], a["contract_id"]) for a in report[0]["accesses"]] == [
        ("claire", joined)
    ]
