"""``scripts/compiled.py`` (the mypyc build of the pipeline's hot modules) as a module, and
the session guard refusing to run tests against extensions older than their sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compiled.py"


def load() -> ModuleType:
    """A fresh copy of the build script's module (tests may repoint its paths)."""
    spec = importlib.util.spec_from_file_location("edh_compiled_build", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config: pytest.Config) -> None:
    """A compiled module shadows its edited source: no test may run the old code."""
    problems = load().problems()
    if problems:
        raise pytest.UsageError(
            "stale compiled modules (run scripts/bootstrap.sh): " + "; ".join(problems)
        )
