"""One regression test per cause of the last ADL LRS conformance suite failures (issue 16):
XAPI-00169, XAPI-00171, durations to 0.01 s (xAPI 2.0 §4.2.7), 1.0.3 profile PUTs without a
precondition and the version answered to a request that names none."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from connector.config import ConnectorSettings
from connector.spool import Spool
from connector.xapi.app import create_app
from tests.integration.test_xapi_attachments import _rs256, send_signed

ACTOR = {"objectType": "Agent", "mbox": "mailto:pupil@example.org"}
LESSON = "http://example.org/lesson"
DISPLAY = {"en": "answered", "en-GB": "answered (GB)", "fr-FR": "a répondu"}


def make(**extra: Any) -> dict[str, Any]:
    return {
        "actor": ACTOR,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": DISPLAY},
        "object": {"objectType": "Activity", "id": LESSON},
        **extra,
    }


def stored(client: TestClient, statement: dict[str, Any], **params: str) -> dict[str, Any]:
    response = client.post("/xapi/statements", json=statement)
    assert response.status_code == 200, response.text
    [sid] = response.json()
    found = client.get("/xapi/statements", params={"statementId": sid, **params})
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en-GB", {"en-GB": "answered (GB)"}),
        ("en-US, en-GB;q=0.5", {"en": "answered"}),  # no en-US: the en entry, not en-GB
        ("fr", {"fr-FR": "a répondu"}),
        ("de", {"en": "answered"}),  # nothing wanted: the first entry
    ],
)
def test_canonical_prefers_the_exact_language_tag(
    xapi: TestClient, accept: str, expected: dict[str, str]
) -> None:  # XAPI-00169
    [sid] = xapi.post("/xapi/statements", json=make()).json()
    response = xapi.get(
        "/xapi/statements",
        params={"statementId": sid, "format": "canonical"},
        headers={"Accept-Language": accept},
    )
    assert response.json()["verb"]["display"] == expected


def test_ids_format_reduces_activities_to_their_id(xapi: TestClient) -> None:  # XAPI-00171
    context = {"contextActivities": {"parent": [{"objectType": "Activity", "id": LESSON}]}}
    body = stored(xapi, make(context=context), format="ids")
    assert body["object"] == {"id": LESSON}
    assert body["context"]["contextActivities"]["parent"] == [{"id": LESSON}]
    exact = stored(xapi, make(), format="exact")
    assert exact["object"] == {"objectType": "Activity", "id": LESSON}  # kept as stored


def timed(duration: str, sid: str) -> dict[str, Any]:
    return make(id=sid, result={"duration": duration})


def test_reposting_an_id_compares_durations_to_hundredths(xapi: TestClient, spool: Spool) -> None:
    sid = str(uuid.uuid4())
    assert xapi.post("/xapi/statements", json=timed("PT1.1237S", sid)).status_code == 200
    assert xapi.post("/xapi/statements", json=timed("PT1.12S", sid)).status_code == 200
    assert xapi.post("/xapi/statements", json=timed("PT1.1299S", sid)).status_code == 200
    assert xapi.post("/xapi/statements", json=timed("PT1.13S", sid)).status_code == 409
    assert spool.counts()["statements"] == 1
    body = xapi.get("/xapi/statements", params={"statementId": sid}).json()
    assert body["result"]["duration"] == "PT1.1237S"  # stored as first sent


def test_durations_in_a_sub_statement_compare_to_hundredths(xapi: TestClient) -> None:
    sid = str(uuid.uuid4())
    inner = {**make(result={"duration": "P1DT2H3M4.5678S"}), "objectType": "SubStatement"}
    inner.pop("id", None)
    assert xapi.post("/xapi/statements", json=make(id=sid, object=inner)).status_code == 200
    same = {**inner, "result": {"duration": "P1DT2H3M4.56S"}}
    assert xapi.post("/xapi/statements", json=make(id=sid, object=same)).status_code == 200
    other = {**inner, "result": {"duration": "P1DT2H3M4.57S"}}
    assert xapi.post("/xapi/statements", json=make(id=sid, object=other)).status_code == 409


def test_a_signature_payload_matches_to_hundredths_of_a_second(xapi: TestClient) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload = make(result={"duration": "PT1.1237S"})
    token = _rs256(payload, key, key)
    accepted = send_signed(xapi, make(result={"duration": "PT1.12S"}), token)
    assert accepted.status_code == 200, accepted.text
    refused = send_signed(xapi, make(result={"duration": "PT1.13S"}), token)
    assert refused.status_code == 400 and "does not match" in refused.json()["detail"]


PROFILES = [
    ("/xapi/activities/profile", {"activityId": LESSON, "profileId": "p"}),
    ("/xapi/agents/profile", {"agent": '{"mbox": "mailto:pupil@example.org"}', "profileId": "p"}),
]


@pytest.mark.parametrize(("path", "params"), PROFILES, ids=["activity", "agent"])
def test_a_1_0_3_profile_put_on_a_new_document_needs_a_precondition(
    xapi: TestClient, xapi_version: str, path: str, params: dict[str, str]
) -> None:
    bare = xapi.put(path, params=params, json={"a": 1})
    if xapi_version == "1.0.3":
        assert bare.status_code == 400
        assert bare.headers["content-type"] == "application/problem+json"
        assert xapi.get(path, params=params).status_code == 404  # nothing stored
    else:
        assert bare.status_code == 204
    created = xapi.put(path, params=params, json={"a": 2}, headers={"If-None-Match": "*"})
    assert created.status_code in (204, 412)  # 412: 2.0.0 created it above
    assert xapi.put(path, params=params, json={"a": 3}).status_code == 409


@pytest.mark.parametrize("unversioned", ["1.0.3", "2.0.0"])
def test_a_request_naming_no_version_is_answered_with_the_setting(
    connector_settings: ConnectorSettings, spool: Spool, unversioned: str
) -> None:
    settings = connector_settings.model_copy(
        update={
            "xapi": connector_settings.xapi.model_copy(update={"unversioned_answer": unversioned})
        }
    )
    with TestClient(create_app(settings, spool), raise_server_exceptions=False) as client:
        response = client.get("/xapi/statements")
        named = client.get("/xapi/statements", headers={"X-Experience-API-Version": "1.0.3"})
    assert response.status_code in (400, 401)
    assert response.headers["X-Experience-API-Version"] == unversioned
    assert named.headers["X-Experience-API-Version"] == "1.0.3"
    assert ConnectorSettings().xapi.unversioned_answer == "2.0.0"  # the documented default
