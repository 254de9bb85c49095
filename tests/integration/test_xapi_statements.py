"""The statement resource over HTTP: store, fetch, query, void, conflicts, headers."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from connector.spool import Spool

ACTOR = {"objectType": "Agent", "mbox": "mailto:pupil@example.org"}
OTHER = {"objectType": "Agent", "account": {"homePage": "http://ent.example", "name": "7"}}
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def make(**extra: Any) -> dict[str, Any]:
    return {
        "actor": ACTOR,
        "verb": {"id": COMPLETED, "display": {"en-US": "completed", "fr-FR": "a terminé"}},
        "object": {"id": "http://example.org/activity", "definition": {"name": {"en-US": "A"}}},
        **extra,
    }


def post(client: TestClient, body: Any) -> list[str]:
    response = client.post("/xapi/statements", json=body)
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()
    return ids


def test_post_single_and_array_return_ids(xapi: TestClient, xapi_version: str) -> None:
    given = str(uuid.uuid4())
    [single] = post(xapi, make(id=given))
    assert single == given
    many = post(xapi, [make(), make()])
    assert len(many) == 2 and all(uuid.UUID(i) for i in many)
    stored = xapi.get("/xapi/statements", params={"statementId": many[0]})
    assert stored.status_code == 200
    assert stored.headers["X-Experience-API-Version"] == xapi_version
    body = stored.json()
    assert body["id"] == many[0]
    assert body["version"] == ("2.0.0" if xapi_version == "2.0.0" else "1.0.0")
    assert body["timestamp"] == body["stored"]
    assert body["authority"]["account"]["name"] == "vendor-key"
    assert (
        "Last-Modified" in stored.headers
        and "X-Experience-API-Consistent-Through" in stored.headers
    )
    assert stored.headers["ETag"] == '"' + hashlib.sha1(stored.content).hexdigest() + '"'


def test_put_stores_under_the_given_id(xapi: TestClient) -> None:
    sid = str(uuid.uuid4())
    response = xapi.put("/xapi/statements", params={"statementId": sid}, json=make())
    assert response.status_code == 204
    assert xapi.get("/xapi/statements", params={"statementId": sid}).json()["id"] == sid
    mismatch = xapi.put(
        "/xapi/statements", params={"statementId": sid}, json=make(id=str(uuid.uuid4()))
    )
    assert mismatch.status_code == 400 and "statementId" in mismatch.json()["detail"]
    assert xapi.put("/xapi/statements", json=make()).status_code == 400


def test_same_id_same_content_is_a_no_op_different_content_conflicts(
    xapi: TestClient, spool: Spool
) -> None:
    sid = str(uuid.uuid4())
    assert xapi.put("/xapi/statements", params={"statementId": sid}, json=make()).status_code == 204
    assert xapi.put("/xapi/statements", params={"statementId": sid}, json=make()).status_code == 204
    assert post(xapi, make(id=sid)) == [sid]
    before = spool.get(sid)
    changed = make(id=sid, verb={"id": "http://adlnet.gov/expapi/verbs/failed"})
    conflict = xapi.post("/xapi/statements", json=[make(), changed])
    assert conflict.status_code == 409 and sid in conflict.json()["detail"]
    assert spool.counts()["statements"] == 1
    assert spool.get(sid) == before


def test_voiding_hides_the_target_from_queries(xapi: TestClient) -> None:
    [target] = post(xapi, make())
    [void] = post(
        xapi, make(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})
    )
    assert xapi.get("/xapi/statements", params={"statementId": target}).status_code == 404
    voided = xapi.get("/xapi/statements", params={"voidedStatementId": target})
    assert voided.status_code == 200 and voided.json()["id"] == target
    assert xapi.get("/xapi/statements", params={"voidedStatementId": void}).status_code == 404
    ids = [s["id"] for s in xapi.get("/xapi/statements").json()["statements"]]
    assert ids == [void]
    again = xapi.post(
        "/xapi/statements",
        json=make(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": void}),
    )
    assert again.status_code == 400


def _ids(client: TestClient, **params: str) -> list[str]:
    response = client.get("/xapi/statements", params=params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["statements"]]


def test_query_filters(xapi: TestClient) -> None:
    registration = str(uuid.uuid4())
    [a] = post(xapi, make(context={"registration": registration}))
    [b] = post(xapi, make(actor=OTHER, verb={"id": "http://adlnet.gov/expapi/verbs/failed"}))
    [c] = post(
        xapi,
        make(
            actor=OTHER,
            context={
                "instructor": ACTOR,
                "contextActivities": {"parent": [{"id": "http://example.org/course"}]},
            },
        ),
    )
    [ref] = post(
        xapi,
        make(
            actor=OTHER,
            verb={"id": "http://example.org/liked"},
            object={"objectType": "StatementRef", "id": a},
        ),
    )
    assert _ids(xapi, agent=json.dumps(ACTOR)) == [ref, a]
    assert _ids(xapi, agent=json.dumps(ACTOR), related_agents="true") == [ref, c, a]
    assert _ids(xapi, verb="http://adlnet.gov/expapi/verbs/failed") == [b]
    assert _ids(xapi, activity="http://example.org/course") == []
    assert _ids(xapi, activity="http://example.org/course", related_activities="true") == [c]
    assert _ids(xapi, registration=registration) == [ref, a]
    assert _ids(xapi, ascending="true") == [a, b, c, ref]
    stored_b = xapi.get("/xapi/statements", params={"statementId": b}).json()["stored"]
    assert _ids(xapi, since=stored_b, ascending="true") == [c, ref]
    assert _ids(xapi, until=stored_b, ascending="true") == [a, b]


def test_more_pages_through_a_stable_snapshot(xapi: TestClient) -> None:
    ids = post(xapi, [make() for _ in range(5)])
    first = xapi.get("/xapi/statements", params={"limit": "2", "ascending": "true"}).json()
    post(xapi, make())
    seen = [s["id"] for s in first["statements"]]
    more = first["more"]
    while more:
        page = xapi.get(more).json()
        seen += [s["id"] for s in page["statements"]]
        more = page["more"]
    assert seen == ids


def test_formats(xapi: TestClient) -> None:
    [sid] = post(xapi, make(actor={**ACTOR, "name": "Élève"}))
    ids = xapi.get("/xapi/statements", params={"statementId": sid, "format": "ids"}).json()
    assert (
        ids["actor"] == ACTOR
        and ids["verb"] == {"id": COMPLETED}
        and "definition" not in ids["object"]
    )
    canonical = xapi.get(
        "/xapi/statements",
        params={"statementId": sid, "format": "canonical"},
        headers={"Accept-Language": "fr-FR"},
    ).json()
    assert canonical["verb"]["display"] == {"fr-FR": "a terminé"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"ascending": "yes"}, "ascending"),
        ({"agent": "{not json"}, "agent"),
        ({"agent": json.dumps({"name": "no ifi"})}, "agent"),
        ({"verb": "not an iri"}, "verb"),
        ({"registration": "nope"}, "registration"),
        ({"since": "yesterday"}, "since"),
        ({"format": "pretty"}, "format"),
        ({"colour": "blue"}, "colour"),
        ({"statementId": "x"}, "statementId"),
        ({"statementId": str(uuid.uuid4()), "verb": COMPLETED}, "statementId"),
        ({"more": "garbage"}, "more"),
    ],
)
def test_bad_query_parameters_are_400(xapi: TestClient, params: dict[str, str], field: str) -> None:
    response = xapi.get("/xapi/statements", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["detail"]
    assert "X-Experience-API-Consistent-Through" in response.headers


def test_repeated_parameter_is_400(xapi: TestClient) -> None:
    response = xapi.get("/xapi/statements?limit=1&limit=2")
    assert response.status_code == 400 and "limit" in response.json()["detail"]


def test_unknown_statement_is_404(xapi: TestClient) -> None:
    assert (
        xapi.get("/xapi/statements", params={"statementId": str(uuid.uuid4())}).status_code == 404
    )


def test_query_of_agent_with_url_encoding(xapi: TestClient) -> None:
    [sid] = post(xapi, make(actor=OTHER))
    url = "/xapi/statements?agent=" + quote(json.dumps(OTHER))
    assert [s["id"] for s in xapi.get(url).json()["statements"]] == [sid]


def test_single_context_activities_are_returned_as_arrays(xapi: TestClient) -> None:
    parent = {"id": "http://example.org/course"}
    statement = make(context={"contextActivities": {"parent": parent}})
    [sid] = post(xapi, statement)
    got = xapi.get("/xapi/statements", params={"statementId": sid}).json()
    assert got["context"]["contextActivities"] == {"parent": [parent]}
    assert post(xapi, {**statement, "id": sid}) == [sid], "the same statement again is a no-op"
