"""The 1.0.3 alternate request syntax (POST ?method=... with a form body)."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from connector.spool import Spool
from tests.support.connector_fixtures import XAPI_KEY, XAPI_SECRET, basic

STATEMENT = {
    "actor": {"mbox": "mailto:pupil@example.org"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "http://example.org/activity"},
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def bare(xapi: TestClient) -> TestClient:
    """A client sending no credentials nor version header: the form carries them."""
    return TestClient(xapi.app, raise_server_exceptions=False)


def _form(version: str = "1.0.3", **fields: str) -> dict[str, str]:
    return {
        "Authorization": basic(XAPI_KEY, XAPI_SECRET),
        "X-Experience-API-Version": version,
        **fields,
    }


def test_put_then_get_through_the_form(bare: TestClient, spool: Spool) -> None:
    sid = str(uuid.uuid4())
    put = bare.post(
        "/xapi/statements?method=PUT",
        data=_form(statementId=sid, content=json.dumps(STATEMENT)),
        headers=FORM,
    )
    assert put.status_code == 204, put.text
    got = bare.post("/xapi/statements?method=GET", data=_form(statementId=sid), headers=FORM)
    assert got.status_code == 200 and got.json()["id"] == sid
    assert got.headers["X-Experience-API-Version"] == "1.0.3"
    assert spool.counts()["statements"] == 1


@pytest.mark.parametrize(
    ("url", "data", "headers", "words"),
    [
        ("/xapi/statements?method=PUT&statementId=x", {}, FORM, "no other query parameter"),
        ("/xapi/statements?method=PATCH", {}, FORM, "method"),
        ("/xapi/statements?method=GET", {}, {"Content-Type": "text/plain"}, "Content-Type"),
        ("/xapi/statements?method=GET", {"X-Experience-API-Version": "2.0.0"}, FORM, "2.0"),
    ],
)
def test_malformed_alternate_requests_are_400(
    bare: TestClient, url: str, data: dict[str, str], headers: dict[str, str], words: str
) -> None:
    response = bare.post(url, data=_form(**data) if headers is FORM else None, headers=headers)
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_credentials_are_still_required(bare: TestClient) -> None:
    data = {"X-Experience-API-Version": "1.0.3"}
    response = bare.post("/xapi/statements?method=GET", data=data, headers=FORM)
    assert response.status_code == 401
