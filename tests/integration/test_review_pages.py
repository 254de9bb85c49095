"""The /review pages over HTTP (the browser suite drives the same pages in Chromium)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.contracts_fixtures import World
from tests.support.web import form


def _login(client: TestClient, token: str) -> None:
    data = form(client, token=token, next="/review")
    resp = client.post("/login", data=data, follow_redirects=False)
    assert resp.status_code == 303


def _reviewer(world: World, sub: str = "comite.1") -> str:
    return world.as_reviewer(sub)["Authorization"].removeprefix("Bearer ")


def test_queue_lists_pending_requests_and_detail_shows_the_diff(world: World) -> None:
    cid = world.accepted(min_cell_size=15)["id"]
    _login(world.client, _reviewer(world))
    queue = world.client.get("/review", headers={"accept": "text/html"})
    assert queue.status_code == 200 and f"/review/{cid}" in queue.text
    detail = world.client.get(f"/review/{cid}", headers={"accept": "text/html"}).text
    assert "Taille minimale des cellules (k)" in detail
    assert "<del>10</del>" in detail and "<ins>15</ins>" in detail


def test_decision_without_reason_is_refused_and_nothing_recorded(world: World) -> None:
    cid = world.accepted()["id"]
    _login(world.client, _reviewer(world))
    resp = world.client.post(
        f"/review/{cid}/decision", data=form(world.client, verdict="approve", reason="ok")
    )
    assert resp.status_code == 400 and "Le motif est obligatoire" in resp.text
    resp = world.client.post(
        f"/review/{cid}/decision", data=form(world.client, reason="Sans décision choisie.")
    )
    assert resp.status_code == 400 and "Choisissez une décision" in resp.text
    assert (
        world.client.get(f"/api/v1/contracts/{cid}/reviews", headers=world.as_operator()).json()
        == []
    )


def test_decision_is_recorded_once(world: World) -> None:
    cid = world.accepted()["id"]
    _login(world.client, _reviewer(world))
    body = form(world.client, verdict="request_changes", reason="Réduire la durée de conservation.")
    resp = world.client.post(f"/review/{cid}/decision", data=body, follow_redirects=False)
    assert resp.status_code == 303
    page = world.client.get(resp.headers["location"], headers={"accept": "text/html"}).text
    assert "Décision enregistrée" in page and "Réduire la durée de conservation." in page
    queue = world.client.get("/review", headers={"accept": "text/html"}).text
    assert "Modifications demandées" in queue and f"/review/{cid}" in queue
    again = world.client.post(f"/review/{cid}/decision", data=body)
    assert again.status_code == 409 and "attend plus d" in again.text


def test_other_roles_cannot_reach_the_review_pages(world: World) -> None:
    resp = world.client.get("/review", headers={"accept": "text/html"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    _login(world.client, world.as_lab()["Authorization"].removeprefix("Bearer "))
    resp = world.client.get("/review", headers={"accept": "text/html"})
    assert resp.status_code == 403 and "réservée" in resp.text


def test_a_reviewer_from_a_party_sees_no_form_and_a_forced_post_is_refused(world: World) -> None:
    cid = world.accepted()["id"]
    insider = world.as_reviewer("juge.partie", org=world.lab_id)
    _login(world.client, insider["Authorization"].removeprefix("Bearer "))
    page = world.client.get(f"/review/{cid}", headers={"accept": "text/html"}).text
    assert 'id="conflit"' in page and "Enregistrer la décision" not in page
    body = form(world.client, verdict="approve", reason="J'approuve ma propre demande.")
    resp = world.client.post(f"/review/{cid}/decision", data=body)
    assert resp.status_code == 403 and "conflit d" in resp.text
    contract = world.client.get(f"/api/v1/contracts/{cid}", headers=world.as_operator()).json()
    assert contract["review_status"] == "pending"
