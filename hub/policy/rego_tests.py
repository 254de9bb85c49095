"""Runs the bundle's Rego ``test_`` rules with the real OPA engine and measures coverage.

Rule coverage counts every rule head of the decision modules (a line starting with a
rule name at column 1) that some test evaluated; line coverage is OPA's own report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opa_bindings import OpaEngine, OpaError

from hub.policy.bundle import PolicyBundle

_RULE_HEAD = re.compile(r"^(?:default\s+)?([a-z_][A-Za-z0-9_]*)\b")
_NOT_RULES = frozenset({"package", "import", "else"})


@dataclass
class Coverage:
    """Covered and uncovered rows per decision module, merged over every test run."""

    covered: dict[str, set[int]] = field(default_factory=dict)
    not_covered: dict[str, set[int]] = field(default_factory=dict)

    def merge(self, report: dict[str, Any] | None) -> None:
        """Add one OPA coverage report (``engine.last_coverage``)."""
        for name, info in ((report or {}).get("files") or {}).items():
            self._add(self.covered, name, info.get("covered"))
            self._add(self.not_covered, name, info.get("not_covered"))

    @staticmethod
    def _add(target: dict[str, set[int]], name: str, ranges: Iterable[Any] | None) -> None:
        rows = target.setdefault(name, set())
        for rng in ranges or ():
            rows.update(range(rng["start"]["row"], rng["end"]["row"] + 1))

    def missed_lines(self, name: str) -> set[int]:
        """Rows OPA reported as never evaluated by any test."""
        return self.not_covered.get(name, set()) - self.covered.get(name, set())


@dataclass(frozen=True)
class RegoTestReport:
    """Outcome of :func:`run_rego_tests`."""

    passed: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    rules: dict[str, bool]
    missed_lines: dict[str, list[int]]

    @property
    def rule_coverage(self) -> float:
        """Percentage of decision-module rules evaluated by at least one test."""
        return 100.0 * sum(self.rules.values()) / len(self.rules) if self.rules else 0.0

    def uncovered_rules(self) -> list[str]:
        return sorted(rule for rule, hit in self.rules.items() if not hit)


def rule_heads(source: str) -> dict[int, str]:
    """Row → rule name of every rule definition starting at column 1."""
    heads: dict[int, str] = {}
    for row, line in enumerate(source.splitlines(), start=1):
        match = _RULE_HEAD.match(line)
        if match and match.group(1) not in _NOT_RULES:
            heads[row] = match.group(1)
    return heads


def _run_one(engine: OpaEngine, rule: str, coverage: Coverage) -> str | None:
    """Evaluate one test rule; ``None`` when it passed, else why it failed."""
    try:
        result = engine.eval_document(rule, coverage=True)
    except OpaError as exc:
        return str(exc)
    finally:
        coverage.merge(engine.last_coverage)
    return None if result is True else f"evaluated to {result!r}"


def run_rego_tests(bundle: PolicyBundle) -> RegoTestReport:
    """Evaluate every ``test_`` rule of ``bundle`` and the coverage of its rules."""
    engine = OpaEngine()
    try:
        for name, source in {**bundle.modules, **bundle.tests}.items():
            engine.add_policy(name, source)
        coverage = Coverage()
        passed, failed = [], []
        for rule in bundle.test_rules():
            problem = _run_one(engine, rule, coverage)
            if problem is None:
                passed.append(rule)
            else:
                failed.append((rule, problem))
    finally:
        engine.close()
    rules: dict[str, bool] = {}
    for name, source in bundle.modules.items():
        hit = coverage.covered.get(name, set())
        for row, rule in rule_heads(source).items():
            rules[f"{name}:{row}:{rule}"] = row in hit
    missed = {n: sorted(coverage.missed_lines(n)) for n in bundle.modules}
    return RegoTestReport(tuple(passed), tuple(failed), rules, missed)
