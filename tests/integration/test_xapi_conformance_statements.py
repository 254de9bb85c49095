"""Conformance hardening of the statement resource, checked against the requirements of the
ADL LRS conformance test suite (1.0.3 and 2.0.0) that the first implementation missed."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from connector.spool import Spool

ACTOR = {"objectType": "Agent", "mbox": "mailto:pupil@example.org"}
OAUTH_CONSUMER = {"account": {"homePage": "http://lms.example.org/oauth", "name": "consumer"}}
QUIZ = "http://example.org/quiz"


def make(**extra: Any) -> dict[str, Any]:
    return {
        "actor": ACTOR,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": QUIZ},
        **extra,
    }


def group(*members: dict[str, Any], **ifi: Any) -> dict[str, Any]:
    return {"objectType": "Group", "member": list(members), **ifi}


def refused(client: TestClient, body: Any, field: str) -> None:
    response = client.post("/xapi/statements", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    ("authority", "field"),
    [
        (group(ACTOR, OAUTH_CONSUMER, openid="http://openid.example.org/1"), "authority"),
        (group(ACTOR), "authority.member"),
        (group(ACTOR, OAUTH_CONSUMER, {"mbox": "mailto:third@example.org"}), "authority.member"),
    ],
)
def test_group_authority_must_be_anonymous_with_two_agents(
    xapi: TestClient, spool: Spool, authority: dict[str, Any], field: str
) -> None:
    refused(xapi, make(authority=authority), field)
    assert spool.counts()["statements"] == 0


def test_an_oauth_pair_authority_is_accepted_then_replaced(xapi: TestClient) -> None:
    response = xapi.post("/xapi/statements", json=make(authority=group(ACTOR, OAUTH_CONSUMER)))
    assert response.status_code == 200, response.text
    [sid] = response.json()
    stored = xapi.get("/xapi/statements", params={"statementId": sid}).json()
    assert stored["authority"]["account"]["name"] == "vendor-key"


def choice(*ids: str) -> dict[str, Any]:
    return {
        "id": QUIZ,
        "definition": {
            "interactionType": "choice",
            "correctResponsesPattern": ["a"],
            "choices": [{"id": i, "description": {"fr-FR": i}} for i in ids],
        },
    }


def test_interaction_component_ids_must_be_distinct(xapi: TestClient, spool: Spool) -> None:
    refused(xapi, make(object=choice("a", "b", "a")), "object.definition.choices")
    sub = {**make(object=choice("a", "a")), "objectType": "SubStatement"}
    refused(xapi, [make(), make(object=sub)], "statement[1].object.object.definition.choices")
    assert spool.counts()["statements"] == 0
    assert xapi.post("/xapi/statements", json=make(object=choice("a", "b"))).status_code == 200


def test_id_and_canonical_formats_leave_extensions_as_stored(xapi: TestClient) -> None:
    extension = {
        "verb": {"label": "look-alike"},
        "object": {"k": 1},
        "name": {"en": "a", "fr": "b"},
    }
    body = make(result={"extensions": {"http://example.org/ext": extension}})
    [sid] = xapi.post("/xapi/statements", json=body).json()
    for fmt in ("ids", "canonical"):
        response = xapi.get("/xapi/statements", params={"statementId": sid, "format": fmt})
        assert response.status_code == 200, response.text
        assert response.json()["result"]["extensions"] == {"http://example.org/ext": extension}


def activity(name: dict[str, str]) -> dict[str, Any]:
    return {"id": QUIZ, "definition": {"name": name}}


def test_canonical_format_returns_the_lrs_definition_in_one_language(xapi: TestClient) -> None:
    old = make(object=activity({"en-US": "Quiz", "fr-FR": "Quiz v1"}))
    old["context"] = {"contextActivities": {"parent": activity({"en-US": "old parent"})}}
    [sid] = xapi.post("/xapi/statements", json=old).json()
    newer = make(object=activity({"en-US": "Final quiz", "fr-FR": "Quiz final"}))
    assert xapi.post("/xapi/statements", json=newer).status_code == 200
    response = xapi.get(
        "/xapi/statements",
        params={"statementId": sid, "format": "canonical"},
        headers={"Accept-Language": "fr-FR, en;q=0.5"},
    )
    body = response.json()
    assert body["object"]["definition"]["name"] == {"fr-FR": "Quiz final"}
    parent = body["context"]["contextActivities"]["parent"][0]
    assert parent["definition"]["name"] == {"fr-FR": "Quiz final"}
    exact = xapi.get("/xapi/statements", params={"statementId": sid}).json()
    assert exact["object"] == old["object"]


def test_canonical_format_keeps_non_activity_objects(xapi: TestClient) -> None:
    agent_object = make(object={"objectType": "Agent", "mbox": "mailto:peer@example.org"})
    [sid] = xapi.post("/xapi/statements", json=agent_object).json()
    got = xapi.get("/xapi/statements", params={"statementId": sid, "format": "canonical"})
    assert got.json()["object"] == agent_object["object"]
    query = xapi.get("/xapi/statements", params={"format": "canonical", "limit": "5"})
    assert query.status_code == 200 and len(query.json()["statements"]) == 1


def test_refused_statements_leave_the_stored_ones_unchanged(xapi: TestClient) -> None:
    [sid] = xapi.post("/xapi/statements", json=make(object=choice("a", "b"))).json()
    before = xapi.get("/xapi/statements", params={"statementId": sid}).json()
    duplicate = copy.deepcopy(before)
    duplicate["object"]["definition"]["choices"].append({"id": "a"})
    refused(xapi, duplicate, "choices")
    assert xapi.get("/xapi/statements", params={"statementId": sid}).json() == before


def test_agent_filter_matches_groups_that_have_the_agent_as_member(xapi: TestClient) -> None:
    peer = {"mbox": "mailto:peer@example.org"}
    as_actor = make(actor=group(ACTOR, peer))
    as_object = make(actor=peer, object=group(ACTOR, mbox="mailto:class@example.org"))
    in_context = make(actor=peer, context={"team": group(ACTOR)})
    ids = xapi.post("/xapi/statements", json=[as_actor, as_object, in_context]).json()
    found = xapi.get("/xapi/statements", params={"agent": orjson.dumps(ACTOR).decode()})
    assert {s["id"] for s in found.json()["statements"]} == set(ids[:2])
    related = {"agent": orjson.dumps(ACTOR).decode(), "related_agents": "true"}
    everywhere = xapi.get("/xapi/statements", params=related).json()["statements"]
    assert {s["id"] for s in everywhere} == set(ids)


def test_interaction_properties_need_an_interaction_type(xapi: TestClient, spool: Spool) -> None:
    for definition in (
        {"correctResponsesPattern": ["true"]},
        {"choices": [{"id": "a"}], "correctResponsesPattern": ["a"]},
    ):
        body = make(object={"id": QUIZ, "definition": definition})
        refused(xapi, body, "object.definition.interactionType")
    assert spool.counts()["statements"] == 0
    typed = {"interactionType": "true-false", "correctResponsesPattern": ["true"]}
    assert (
        xapi.post(
            "/xapi/statements", json=make(object={"id": QUIZ, "definition": typed})
        ).status_code
        == 200
    )


def test_activity_definition_gathers_what_every_statement_said(xapi: TestClient) -> None:
    english = {"name": {"en-US": "example meeting"}, "type": "http://example.org/meeting"}
    french = {"name": {"fr-FR": "réunion"}, "description": {"fr-FR": "hebdomadaire"}}
    batch = [make(object={"id": QUIZ, "definition": d}) for d in (english, french)]
    assert xapi.post("/xapi/statements", json=batch).status_code == 200
    later = {"name": {"en-US": "weekly meeting"}, "extensions": {"http://example.org/x": 1}}
    response = xapi.post("/xapi/statements", json=make(object={"id": QUIZ, "definition": later}))
    assert response.status_code == 200
    got = xapi.get("/xapi/activities", params={"activityId": QUIZ}).json()
    assert got == {
        "objectType": "Activity",
        "id": QUIZ,
        "definition": {
            "name": {"en-US": "weekly meeting", "fr-FR": "réunion"},
            "description": {"fr-FR": "hebdomadaire"},
            "type": "http://example.org/meeting",
            "extensions": {"http://example.org/x": 1},
        },
    }


@pytest.mark.parametrize(
    "agent",
    [
        {"mbox_sha1sum": "abc"},
        {"openid": "not an iri"},
        {"account": {"homePage": "http://example.org", "name": 7}},
        {"mbox": "mailto:pupil@example.org", "colour": "blue"},
    ],
)
@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/xapi/statements", {}),
        ("/xapi/agents", {}),
        ("/xapi/agents/profile", {"profileId": "p"}),
        ("/xapi/activities/state", {"activityId": QUIZ, "stateId": "s"}),
    ],
)
def test_agent_parameters_are_validated_like_statement_agents(
    xapi: TestClient, agent: dict[str, Any], path: str, extra: dict[str, str]
) -> None:
    params = {"agent": orjson.dumps(agent).decode(), **extra}
    response = xapi.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("agent: ")


def test_unsupported_methods_are_405_in_the_requested_version(
    xapi: TestClient, xapi_version: str
) -> None:
    agent = orjson.dumps(ACTOR).decode()
    for method, path, params in (
        ("DELETE", "/xapi/statements", {}),
        ("POST", "/xapi/activities", {"activityId": QUIZ}),
        ("PUT", "/xapi/agents", {"agent": agent}),
    ):
        response = xapi.request(method, path, params=params)
        assert response.status_code == 405, (method, path)
        assert response.headers["X-Experience-API-Version"] == xapi_version
    unauthorized = xapi.get("/xapi/statements", headers={"Authorization": "Basic eDp5"})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["X-Experience-API-Version"] == xapi_version
