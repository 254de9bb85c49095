#!/usr/bin/env bash
# Quick start, command 2: install, start what the tests need, lint, type-check, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/test-services.sh
.venv/bin/ruff check hub connector contracts tests
.venv/bin/ruff format --check hub connector contracts tests
.venv/bin/mypy
exec .venv/bin/pytest "$@"
