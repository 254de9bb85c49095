"""The Rego policies' own tests, run by the real OPA engine, and their rule coverage."""

from __future__ import annotations

import pytest

from hub.policy.bundle import SOURCE_POLICY_DIR, PolicyBundle
from hub.policy.port import PolicyEngineError
from hub.policy.rego_tests import RegoTestReport, rule_heads, run_rego_tests

BUNDLE = PolicyBundle.load()
COVERAGE_TARGET = 100.0


@pytest.fixture(scope="module")
def report() -> RegoTestReport:
    return run_rego_tests(BUNDLE)


@pytest.mark.parametrize("rule", BUNDLE.test_rules())
def test_rego_test_rule_passes(report: RegoTestReport, rule: str) -> None:
    failures = dict(report.failed)
    assert rule in report.passed, failures.get(rule, "not run")


def test_policy_rule_coverage_meets_target(report: RegoTestReport) -> None:
    hit = sum(report.rules.values())
    print(
        f"\npolicy rule coverage: {report.rule_coverage:.1f}% ({hit}/{len(report.rules)} rules, "
        f"{len(report.passed)} Rego tests passed, {len(report.failed)} failed)"
    )
    assert report.rule_coverage >= COVERAGE_TARGET, report.uncovered_rules()
    assert not any(report.missed_lines.values()), report.missed_lines


def test_every_policy_has_its_test_file_and_metadata() -> None:
    for name, source in BUNDLE.modules.items():
        assert name.replace(".rego", "_test.rego") in BUNDLE.tests, f"{name} has no test file"
        assert source.startswith("# METADATA"), f"{name} lacks a # METADATA description"
        assert "import rego.v1" not in source, f"{name}: Rego v1 needs no rego.v1 import"
    assert (SOURCE_POLICY_DIR / "README.md").is_file()


POLICY = """package edh.decisions.demo

covered := 1 if input.a

uncovered := 2 if input.b
"""


def test_coverage_reports_an_untested_rule() -> None:
    tests = "package edh.decisions.demo_test\n\nimport data.edh.decisions.demo\n\n"
    tests += 'test_covered if demo.covered == 1 with input as {"a": true}\n'
    bundle = PolicyBundle.from_sources({"demo.rego": POLICY, "demo_test.rego": tests})
    result = run_rego_tests(bundle)
    assert result.passed == ("edh.decisions.demo_test.test_covered",)
    assert result.rule_coverage == 50.0
    assert result.uncovered_rules() == ["demo.rego:5:uncovered"]
    assert result.missed_lines["demo.rego"] == [5]


def test_failing_and_erroring_rego_tests_are_reported() -> None:
    tests = "package edh.decisions.demo_test\n\nimport data.edh.decisions.demo\n\n"
    tests += 'test_wrong if demo.covered == 2 with input as {"a": true}\n\n'
    tests += 'test_error if object.get(input.a, "x", 1) with input as {"a": "s"}\n'
    bundle = PolicyBundle.from_sources({"demo.rego": POLICY, "demo_test.rego": tests})
    result = run_rego_tests(bundle)
    assert result.passed == ()
    failed = dict(result.failed)
    assert "undefined" in failed["edh.decisions.demo_test.test_wrong"]
    assert "object.get" in failed["edh.decisions.demo_test.test_error"]


def test_rule_heads_skip_package_imports_and_bodies() -> None:
    source = "package x\n\nimport data.y\n\ndefault a := false\n\na if {\n\tb\n} else := 1\n"
    assert rule_heads(source) == {5: "a", 7: "a"}


def test_bundle_hash_tracks_decision_modules_only() -> None:
    files = {"demo.rego": POLICY, "demo_test.rego": "package t\n"}
    first = PolicyBundle.from_sources(files)
    same = PolicyBundle.from_sources({**files, "demo_test.rego": "package t2\n"})
    changed = PolicyBundle.from_sources({**files, "demo.rego": POLICY + "\nextra := 3\n"})
    assert first.hash == same.hash != changed.hash
    assert len(first.hash) == 64


def test_empty_bundle_is_refused() -> None:
    with pytest.raises(PolicyEngineError, match="no Rego policy"):
        PolicyBundle.from_sources({"only_test.rego": "package t\n"})
