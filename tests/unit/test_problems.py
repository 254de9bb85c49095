"""One problem+json shape for the hub and the connector (``contracts.problems``)."""

from __future__ import annotations

import json

from connector.errors import ConnectorError, InvalidStatement
from connector.xapi.errors import problem as connector_problem
from contracts.problems import PROBLEM_JSON, Problem
from hub.errors import HubError, NotFound
from hub.errors import problem as hub_problem


def test_both_trees_are_rooted_in_the_shared_problem() -> None:
    assert issubclass(HubError, Problem) and issubclass(ConnectorError, Problem)
    assert not issubclass(HubError, ConnectorError) and not issubclass(ConnectorError, HubError)


def test_hub_and_connector_answer_the_same_shape() -> None:
    hub_error, lrs_error = NotFound("no such batch"), InvalidStatement("actor: missing")
    answers = (
        hub_problem(hub_error.status, hub_error.slug, hub_error.title, hub_error.detail, "/a"),
        connector_problem(lrs_error.status, lrs_error.slug, lrs_error.title, "actor", "/x"),
    )
    bodies = [json.loads(bytes(a.body)) for a in answers]
    assert [a.headers["content-type"] for a in answers] == [PROBLEM_JSON, PROBLEM_JSON]
    assert set(bodies[0]) == set(bodies[1]) == {"type", "title", "status", "detail", "instance"}
    assert bodies[0]["type"] == "urn:edh:problem:not-found" and bodies[0]["status"] == 404
    assert bodies[1]["type"] == "urn:edh:problem:invalid-statement" and bodies[1]["status"] == 400


def test_each_side_keeps_its_own_challenge() -> None:
    hub_401 = hub_problem(401, "unauthorized", "Authentication required", "token missing", "/a")
    lrs_401 = connector_problem(401, "unauthorized", "Authentication required", "no auth", "/x")
    assert hub_401.headers["www-authenticate"] == "Bearer"
    assert lrs_401.headers["www-authenticate"] == 'Basic realm="xapi"'
    assert hub_problem(503, "x", "y", "z", "/a").headers["retry-after"] == "5"
