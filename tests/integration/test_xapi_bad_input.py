"""Bad input on every surface gets a 400 (or 401/413) with a reason, and loses nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connector.spool import Spool
from tests.support.connector_fixtures import XAPI_KEY, basic

GOOD = {
    "actor": {"mbox": "mailto:pupil@example.org"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "http://example.org/activity"},
}


@pytest.fixture
def accepted(xapi: TestClient, spool: Spool) -> list[dict[str, Any]]:
    """Statements accepted before the bad request; the test checks they are intact."""
    response = xapi.post("/xapi/statements", json=[GOOD, GOOD])
    assert response.status_code == 200
    return [r.statement for r in spool.read_after(0, 10)]


def _intact(spool: Spool, accepted: list[dict[str, Any]]) -> None:
    assert [r.statement for r in spool.read_after(0, 10)] == accepted


def _problem(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("version", "words"),
    [
        (None, "header required"),
        ("0.95", "unsupported"),
        ("3.0.0", "unsupported"),
        ("1.0.x", "unsupported"),
    ],
)
def test_missing_or_unsupported_version_is_400(
    xapi: TestClient, spool: Spool, accepted: list[dict[str, Any]], version: str | None, words: str
) -> None:
    headers = {"Authorization": xapi.headers["Authorization"]}
    if version is not None:
        headers["X-Experience-API-Version"] = version
    client = TestClient(xapi.app, raise_server_exceptions=False, headers=headers)
    _problem(client.post("/xapi/statements", json=GOOD), 400, words)
    _problem(client.get("/xapi/statements"), 400, words)
    _intact(spool, accepted)


def test_about_needs_no_credentials(xapi: TestClient) -> None:
    response = TestClient(xapi.app).get("/xapi/about")
    assert response.status_code == 200
    assert response.json()["version"] == ["1.0.3", "2.0.0"]
    assert response.headers["X-Experience-API-Version"] == "2.0.0"
    older = TestClient(xapi.app).get("/xapi/about", headers={"X-Experience-API-Version": "1.0"})
    assert older.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer abc",
        "Basic !!!",
        basic(XAPI_KEY, "wrong"),
        basic("other", "vendor-secret-for-tests"),
    ],
)
def test_wrong_credentials_are_401(
    xapi: TestClient, spool: Spool, accepted: list[dict[str, Any]], authorization: str | None
) -> None:
    headers = {"X-Experience-API-Version": "2.0.0"}
    if authorization:
        headers["Authorization"] = authorization
    client = TestClient(xapi.app, raise_server_exceptions=False, headers=headers)
    response = client.post("/xapi/statements", json=GOOD)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/xapi/statements").status_code == 401
    _intact(spool, accepted)


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"", "application/json", "not valid JSON"),
        (b"42", "application/json", "must be a JSON object"),
        (b'[{"actor": {}}]', "application/json", "statement[0]"),
        (b"actor=x", "application/x-www-form-urlencoded", "Content-Type"),
        (
            b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n",
            'multipart/mixed; boundary="b"',
            "closing",
        ),
        (b"--b\r\nno blank line", 'multipart/mixed; boundary="b"', "blank line"),
        (b"x", "multipart/mixed", "boundary"),
    ],
)
def test_malformed_bodies_are_400(
    xapi: TestClient,
    spool: Spool,
    accepted: list[dict[str, Any]],
    body: bytes,
    content_type: str,
    words: str,
) -> None:
    response = xapi.post("/xapi/statements", content=body, headers={"Content-Type": content_type})
    _problem(response, 400, words)
    _intact(spool, accepted)


def test_one_bad_statement_refuses_the_whole_batch(
    xapi: TestClient, spool: Spool, accepted: list[dict[str, Any]]
) -> None:
    bad = {**GOOD, "result": {"score": {"scaled": 3}}}
    _problem(
        xapi.post("/xapi/statements", json=[GOOD, bad]), 400, "statement[1].result.score.scaled"
    )
    _intact(spool, accepted)


def test_duplicate_ids_in_a_batch_are_400(
    xapi: TestClient, spool: Spool, accepted: list[dict[str, Any]]
) -> None:
    sid = str(uuid.uuid4())
    _problem(
        xapi.post("/xapi/statements", json=[{**GOOD, "id": sid}, {**GOOD, "id": sid}]), 400, "twice"
    )
    _intact(spool, accepted)


def test_post_refuses_query_parameters(
    xapi: TestClient, spool: Spool, accepted: list[dict[str, Any]]
) -> None:
    _problem(xapi.post("/xapi/statements?statementId=x", json=GOOD), 400, "statementId")
    _intact(spool, accepted)


def test_oversized_bodies_are_413(
    xapi: TestClient, spool: Spool, accepted: list[dict[str, Any]]
) -> None:
    huge = [GOOD] * 40_000
    _problem(xapi.post("/xapi/statements", json=huge), 413, "larger than")

    def chunks() -> Any:
        for _ in range(300):
            yield b" " * 10_000

    _problem(xapi.post("/xapi/statements", content=chunks()), 413, "larger than")
    _intact(spool, accepted)


def test_openapi_documents_every_xapi_route(xapi: TestClient) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = xapi.get("/openapi.json").json()
    assert {"/xapi/statements", "/xapi/about", "/xapi/activities/state"} <= set(schema["paths"])
