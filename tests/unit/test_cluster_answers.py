"""The cluster harness judges every answer its researchers get (tests/cluster/research.py):
a kind of answer a valid query should never get is a violation of the run."""

from __future__ import annotations

from collections import Counter

from contracts.problems import problem_response
from hub.errors import HubError, ServiceUnavailable
from hub.sandbox.dp.budget import BudgetSpent
from hub.sandbox.errors import QueryRefused
from tests.cluster.research import answer_kind, unexpected_answers


def _answer(error: HubError) -> tuple[int, bytes]:
    response = problem_response(
        error.status, error.slug, error.title, error.detail, "/q", **error.extra
    )
    return response.status_code, bytes(response.body)


def test_refusals_are_told_apart_by_their_reason() -> None:
    altered = QueryRefused("1 lake object(s) ...", reasons=["lake-object-altered"])
    syntax = QueryRefused("syntax error", reasons=["syntax"])
    spent = BudgetSpent("the budget is spent", reasons=["privacy budget spent"])
    kinds = [answer_kind(*_answer(e)) for e in (altered, syntax, spent)]
    assert kinds == [
        "400 query-refused: lake-object-altered",
        "400 query-refused: syntax",
        "409 privacy-budget-spent",
    ]
    assert answer_kind(503, b"") == "503"
    assert answer_kind(404, b"<html>") == "404 not problem+json"
    assert answer_kind(0, b"") == "0"


def test_only_outages_spent_budgets_and_altered_objects_are_expected() -> None:
    answers = Counter(
        {
            "202": 40,
            "0": 3,
            answer_kind(*_answer(ServiceUnavailable("down"))): 2,
            "409 privacy-budget-spent": 9,
            "400 query-refused: lake-object-altered": 2,
            "400 query-refused: syntax": 1,
            "500": 1,
        }
    )
    assert unexpected_answers(answers) == [
        "1 query submissions answered 400 query-refused: syntax",
        "1 query submissions answered 500",
    ]
