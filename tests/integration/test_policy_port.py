"""The PolicyEngine port's shared suite, run against every adapter with the real bundle."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from hub.policy.bundle import PolicyBundle
from hub.policy.inprocess import InProcessPolicyEngine
from hub.policy.port import PolicyEngine

TODAY = date(2026, 5, 4)


def _facts(revoked: bool = False, members: tuple[str, ...] = ("alice",)) -> dict[str, Any]:
    contract = {
        "id": "c1", "version": 1, "state": "FINALIZED", "provider_id": "p1",
        "project_id": "pr1", "datasets": ["video"], "allowed_fields": ["verb_id"],
        "min_cell_size": 15, "row_level": False, "rounding_base": 5, "purpose": "study",
        "valid_from": "2026-01-01", "valid_until": "2026-12-31", "retention_days": 180,
        "connector_ids": ["k1"],
    }  # fmt: skip
    researcher = {
        "id": "r1", "lab_id": "lab1", "accredited_from": "2026-01-01",
        "accredited_until": "2026-12-31", "revoked": revoked,
    }  # fmt: skip
    return {
        "contracts": {"c1": contract},
        "researchers": {"alice": researcher},
        "projects": {"pr1": {"lab_id": "lab1", "members": list(members), "purpose": "study"}},
        "connectors": {"k1": {"organisation_id": "p1", "revoked": False}},
    }


def _publish(engine: PolicyEngine, facts: dict[str, Any]) -> None:
    for name, document in facts.items():
        engine.put_data(f"edh/{name}", document)


def _query(today: date = TODAY) -> dict[str, Any]:
    return {
        "subject": {"sub": "alice", "role": "researcher", "org": "lab1"},
        "today": today.isoformat(),
        "project_id": "pr1",
        "contract_id": "c1",
        "purpose": "study",
        "tables": ["video"],
        "columns": [{"table": "video", "column": "verb_id"}],
        "row_level": False,
    }


def test_allow_carries_grounds_obligations_and_bundle_hash(
    policy_engine: PolicyEngine, policy_bundle: PolicyBundle
) -> None:
    _publish(policy_engine, _facts())
    decision = policy_engine.decide("edh/sandbox/query", _query())
    assert decision.allow, decision.reasons
    assert decision.reasons == ("the query is covered by the project's contract",)
    assert decision.obligations == {
        "min_cell_size": 15,
        "row_level": False,
        "rounding_base": 5,
        "release_mode": "differential_privacy",
        "epsilon_per_query": 1,
        "epsilon_max_per_query": 1,
        "epsilon_budget": 10,
    }
    assert decision.bundle_hash == policy_bundle.hash


def test_refusal_lists_every_reason(policy_engine: PolicyEngine) -> None:
    _publish(policy_engine, _facts())
    query = {**_query(), "tables": ["grades"], "row_level": True}
    decision = policy_engine.decide("edh/sandbox/query", query)
    assert not decision.allow
    assert decision.reasons == (
        "contract c1 does not allow row-level output",
        "tables not covered by contract c1: grades",
    )


def test_missing_data_documents_deny(policy_engine: PolicyEngine) -> None:
    decision = policy_engine.decide("edh/sandbox/query", _query())
    assert not decision.allow
    assert "policy data missing: researchers" in decision.reasons
    assert "policy data missing: contracts" in decision.reasons


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"revoked": True}, "the accreditation of researcher alice is revoked"),
        ({"members": ()}, "researcher alice is not a member of project pr1"),
    ],
)
def test_next_decision_sees_new_data(
    policy_engine: PolicyEngine, change: dict[str, Any], reason: str
) -> None:
    _publish(policy_engine, _facts())
    assert policy_engine.decide("edh/sandbox/query", _query()).allow
    _publish(policy_engine, _facts(**change))
    decision = policy_engine.decide("edh/sandbox/query", _query())
    assert decision.reasons == (reason,)


def test_expired_contract_denies_the_next_day(policy_engine: PolicyEngine) -> None:
    _publish(policy_engine, _facts())
    last_day = date(2026, 12, 31)
    assert policy_engine.decide("edh/sandbox/query", _query(last_day)).allow
    decision = policy_engine.decide("edh/sandbox/query", _query(last_day + timedelta(days=1)))
    assert not decision.allow
    assert any("not on 2027-01-01" in r for r in decision.reasons)


@pytest.mark.parametrize(
    ("decision", "input", "reason"),
    [
        ("edh/audit/read", ["not", "an", "object"], "must be a JSON object"),
        ("edh/audit/read", {"today": float("nan")}, "no NaN"),
        ("edh/audit/read", {"when": date(2026, 1, 1)}, "plain JSON"),
        ("edh/audit/nothing", {}, "no policy answers edh/audit/nothing"),
        ("edh/../../x", {}, "unknown decision"),
        ("edh/sandbox/access_deny", {}, "malformed decision"),
        ("edh/audit/read", {"subject": 42, "today": "soon"}, "input.today must be a date"),
    ],
)
def test_bad_input_fails_closed(
    policy_engine: PolicyEngine, decision: str, input: Any, reason: str
) -> None:
    outcome = policy_engine.decide(decision, input)
    assert not outcome.allow
    assert any(reason in r for r in outcome.reasons), outcome.reasons


def test_put_data_rejects_bad_paths(policy_engine: PolicyEngine) -> None:
    with pytest.raises(ValueError, match="invalid policy data path"):
        policy_engine.put_data("../etc", {})


def test_health_answers(policy_engine: PolicyEngine) -> None:
    policy_engine.health()


ERRORING = """# METADATA
# description: a policy whose evaluation fails
package edh.decisions.demo

boom := object.get(input.x, "y", 1)

twice := 1 if input.a

twice := 2 if input.a
"""


@pytest.mark.parametrize("decision", ["edh/demo/boom", "edh/demo/twice"])
def test_engine_errors_deny(decision: str) -> None:
    engine = InProcessPolicyEngine(PolicyBundle.from_sources({"demo.rego": ERRORING}))
    outcome = engine.decide(decision, {"x": "not an object", "a": True})
    assert not outcome.allow
    assert outcome.reasons[0].startswith("policy engine error:")


def test_in_process_overlapping_data_paths_are_refused() -> None:
    engine = InProcessPolicyEngine(PolicyBundle.load())
    engine.put_data("edh/researchers", {})
    with pytest.raises(ValueError, match="overlaps"):
        engine.put_data("edh", {"researchers": {}})
