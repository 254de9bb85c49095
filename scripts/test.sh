#!/usr/bin/env bash
# Quick start, command 2: install, start what the tests need, lint, type-check, check the
# import layers, run every test.
# With arguments, runs only `pytest ARGS` (after the same set-up).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/test-services.sh
# The peer the xAPI benchmarks measure in the same run (Ralph), in a side environment.
.venv/bin/python -m tests.benchmarks.ralph
if [ "$#" -gt 0 ]; then
  exec .venv/bin/pytest "$@"
fi
.venv/bin/ruff check hub connector contracts demo tests
.venv/bin/ruff format --check hub connector contracts demo tests
.venv/bin/mypy
# One-way layers: the import contracts in pyproject.toml (docs/architecture.md).
.venv/bin/lint-imports
# Functional tests on both cores; benchmarks afterwards, alone, so their numbers mean something.
.venv/bin/pytest -n 2 --dist loadfile --ignore=tests/benchmarks
# The production topology on loopback, broken on purpose (docs/operations.md, "Cluster harness").
scripts/cluster.sh --kills 20 --seconds 60
exec .venv/bin/pytest tests/benchmarks -s -rxX
