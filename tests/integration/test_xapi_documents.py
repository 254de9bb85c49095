"""Document resources (state, activity profile, agent profile) with ETag concurrency,
and the activities/agents lookups."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from fastapi.testclient import TestClient

AGENT = json.dumps({"objectType": "Agent", "mbox": "mailto:pupil@example.org"})
ACTIVITY = "http://example.org/activity"
STATE = {"activityId": ACTIVITY, "agent": AGENT}
RESOURCES = {
    "state": ("/xapi/activities/state", STATE, "stateId"),
    "activity profile": ("/xapi/activities/profile", {"activityId": ACTIVITY}, "profileId"),
    "agent profile": ("/xapi/agents/profile", {"agent": AGENT}, "profileId"),
}


@pytest.mark.parametrize("name", RESOURCES)
def test_put_get_post_delete_round_trip(xapi: TestClient, name: str) -> None:
    path, owner, doc = RESOURCES[name]
    params = {**owner, doc: "progress"}
    put = xapi.put(path, params=params, json={"page": 1}, headers={"If-None-Match": "*"})
    assert put.status_code == 204, put.text
    got = xapi.get(path, params=params)
    assert got.status_code == 200 and got.json() == {"page": 1}
    assert got.headers["ETag"] == '"' + hashlib.sha1(got.content).hexdigest() + '"'
    assert "Last-Modified" in got.headers
    merged = xapi.post(
        path, params=params, json={"score": 3}, headers={"If-Match": got.headers["ETag"]}
    )
    assert merged.status_code == 204, merged.text
    assert xapi.get(path, params=params).json() == {"page": 1, "score": 3}
    assert xapi.get(path, params=owner).json() == ["progress"]
    assert xapi.delete(path, params=params).status_code == 204
    assert xapi.get(path, params=params).status_code == 404


@pytest.mark.parametrize("name", RESOURCES)
def test_preconditions(xapi: TestClient, name: str) -> None:
    path, owner, doc = RESOURCES[name]
    params = {**owner, doc: "doc"}
    assert (
        xapi.put(
            path,
            params=params,
            content=b"v1",
            headers={"Content-Type": "text/plain", "If-None-Match": "*"},
        ).status_code
        == 204
    )
    etag = xapi.get(path, params=params).headers["ETag"]
    stale = xapi.put(
        path,
        params=params,
        content=b"v2",
        headers={"Content-Type": "text/plain", "If-Match": '"' + "0" * 40 + '"'},
    )
    assert stale.status_code == 412
    exists = xapi.put(
        path,
        params=params,
        content=b"v2",
        headers={"Content-Type": "text/plain", "If-None-Match": "*"},
    )
    assert exists.status_code == 412
    assert xapi.get(path, params=params).content == b"v1"
    fresh = xapi.put(
        path, params=params, content=b"v2", headers={"Content-Type": "text/plain", "If-Match": etag}
    )
    assert fresh.status_code == 204
    assert xapi.get(path, params=params).headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("name", ["activity profile", "agent profile"])
def test_profile_put_over_existing_without_header_is_409(xapi: TestClient, name: str) -> None:
    path, owner, doc = RESOURCES[name]
    params = {**owner, doc: "doc"}
    created = xapi.put(path, params=params, json={"a": 1}, headers={"If-None-Match": "*"})
    assert created.status_code == 204
    conflict = xapi.put(path, params=params, json={"a": 2})
    assert conflict.status_code == 409 and "If-Match" in conflict.json()["detail"]
    assert xapi.get(path, params=params).json() == {"a": 1}


def test_state_put_overwrite_and_registration_scopes(xapi: TestClient, xapi_version: str) -> None:
    """1.0.3 lets a state PUT overwrite without preconditions; 2.0.0 answers 409."""
    path = "/xapi/activities/state"
    registration = str(uuid.uuid4())
    assert xapi.put(path, params={**STATE, "stateId": "s"}, json={"a": 1}).status_code == 204
    overwrite = xapi.put(path, params={**STATE, "stateId": "s"}, json={"a": 2}).status_code
    assert overwrite == (204 if xapi_version.startswith("1.0") else 409)
    assert (
        xapi.put(
            path, params={**STATE, "stateId": "r", "registration": registration}, json={}
        ).status_code
        == 204
    )
    assert xapi.get(path, params=STATE).json() == ["r", "s"]
    assert xapi.get(path, params={**STATE, "registration": registration}).json() == ["r"]
    assert xapi.delete(path, params={**STATE, "registration": registration}).status_code == 204
    assert xapi.get(path, params=STATE).json() == ["s"]
    assert xapi.delete(path, params=STATE).status_code == 204
    assert xapi.get(path, params=STATE).json() == []


def test_post_merges_only_json_objects(xapi: TestClient) -> None:
    params = {**STATE, "stateId": "s"}
    xapi.put(
        "/xapi/activities/state",
        params=params,
        content=b"text",
        headers={"Content-Type": "text/plain"},
    )
    refused = xapi.post("/xapi/activities/state", params=params, json={"a": 1})
    assert refused.status_code == 400
    assert xapi.get("/xapi/activities/state", params=params).content == b"text"
    not_object = xapi.post("/xapi/activities/state", params={**STATE, "stateId": "t"}, json=[1])
    assert not_object.status_code == 400
    bad_json = xapi.put(
        "/xapi/activities/state",
        params={**STATE, "stateId": "t"},
        content=b"{oops",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["detail"]
    assert xapi.get("/xapi/activities/state", params={**STATE, "stateId": "t"}).status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/xapi/activities/state", {"agent": AGENT, "stateId": "s"}, "activityId"),
        ("/xapi/activities/state", {"activityId": ACTIVITY, "stateId": "s"}, "agent"),
        (
            "/xapi/activities/state",
            {**STATE, "stateId": "s", "registration": "nope"},
            "registration",
        ),
        ("/xapi/activities/state", {**STATE, "stateId": "s", "colour": "x"}, "colour"),
        ("/xapi/activities/profile", {"activityId": "not an iri", "profileId": "p"}, "activityId"),
        ("/xapi/agents/profile", {"agent": "{}", "profileId": "p"}, "agent"),
        ("/xapi/agents/profile", {"agent": AGENT}, "profileId"),
    ],
)
def test_bad_document_parameters_are_400(
    xapi: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    response = xapi.put(path, params=params, json={})
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_activities_lookup_returns_the_latest_definition(xapi: TestClient) -> None:
    definition = {
        "name": {"fr-FR": "Fractions"},
        "type": "http://adlnet.gov/expapi/activities/lesson",
    }
    statement = {
        "actor": json.loads(AGENT),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": ACTIVITY, "definition": definition},
    }
    assert xapi.post("/xapi/statements", json=statement).status_code == 200
    got = xapi.get("/xapi/activities", params={"activityId": ACTIVITY}).json()
    assert got == {"objectType": "Activity", "id": ACTIVITY, "definition": definition}
    assert xapi.get("/xapi/activities").status_code == 400


def test_agents_lookup_returns_a_person(xapi: TestClient) -> None:
    got = xapi.get("/xapi/agents", params={"agent": AGENT})
    assert got.json() == {"objectType": "Person", "mbox": ["mailto:pupil@example.org"]}
    assert xapi.get("/xapi/agents", params={"agent": '{"name": "x"}'}).status_code == 400


def test_head_answers_like_get_without_a_body(xapi: TestClient) -> None:
    params = {**STATE, "stateId": "s"}
    assert xapi.put("/xapi/activities/state", params=params, json={"a": 1}).status_code == 204
    got = xapi.get("/xapi/activities/state", params=params)
    head = xapi.head("/xapi/activities/state", params=params)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == got.headers["ETag"]
    statements = xapi.head("/xapi/statements")
    assert statements.status_code == 200 and statements.content == b""
    assert "X-Experience-API-Consistent-Through" in statements.headers
