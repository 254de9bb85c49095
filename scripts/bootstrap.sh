#!/usr/bin/env bash
# Install the project and its tools into .venv (idempotent; re-runs when pyproject.toml changes).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml requirements/constraints.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[hub,dev]"
  # The in-process OPA engine declares Python >= 3.14 but works on 3.11 (see docs/architecture.md).
  .venv/bin/python -m pip install -q --no-deps --ignore-requires-python \
    "opa-golib-python-bindings==0.4.4"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The pipeline's hot modules as C extensions (mypyc), rebuilt whenever a source changed;
# pure Python where the build fails (scripts/compiled.py).
.venv/bin/python scripts/compiled.py build
