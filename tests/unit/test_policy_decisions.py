"""Shaping engine results into decisions: anything but {allow, reasons} denies."""

from __future__ import annotations

from typing import Any

import pytest

from hub.policy.decisions import data_keys, document_of, from_result, input_problem


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "gave no decision"),
        (True, "malformed decision"),
        ({"allow": "yes", "reasons": []}, "malformed decision"),
        ({"allow": True, "reasons": "ok"}, "malformed reasons"),
        ({"allow": True, "reasons": [1]}, "malformed reasons"),
        ({"allow": True, "reasons": [], "obligations": []}, "malformed obligations"),
        ({"allow": False, "reasons": []}, "refused without a reason"),
    ],
)
def test_malformed_results_deny(raw: Any, reason: str) -> None:
    decision = from_result("edh/audit/read", raw, "h")
    assert not decision.allow
    assert reason in decision.reasons[0]
    assert decision.bundle_hash == "h"


def test_well_formed_result_keeps_reasons_and_obligations() -> None:
    raw = {"allow": True, "reasons": ["ok"], "obligations": {"min_cell_size": 10}}
    decision = from_result("edh/sandbox/query", raw, "h")
    assert decision.allow and decision.reasons == ("ok",)
    assert decision.obligations == {"min_cell_size": 10}


def test_decision_names_map_to_documents() -> None:
    assert document_of("edh/ingest/upload") == "edh.decisions.ingest.upload"
    for bad in ("edh/ingest", "edh/../x/y", "EDH/a/b", "other/a/b", "edh/a/b/c"):
        assert document_of(bad) is None


def test_data_paths_are_validated() -> None:
    assert data_keys("edh/researchers") == ("edh", "researchers")
    for bad in ("", "/edh", "edh/", "edh//x", "edh/Researchers", "edh.x"):
        with pytest.raises(ValueError, match="invalid policy data path"):
            data_keys(bad)


def test_input_must_be_plain_json_object() -> None:
    assert input_problem("edh/audit/read", {"a": [1, "x", None, 2.5]}) is None
    assert "JSON object" in str(input_problem("edh/audit/read", ["a"]))
    assert "NaN" in str(input_problem("edh/audit/read", {"a": float("inf")}))
    assert "NaN" in str(input_problem("edh/audit/read", {"a": {1: "non-string key"}}))
    assert "NaN" in str(input_problem("edh/audit/read", {"a": {"set"}}))
    assert "unknown decision" in str(input_problem("nope", {}))
