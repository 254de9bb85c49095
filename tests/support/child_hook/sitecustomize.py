"""Loaded at start-up by every Python process the tests start (``tests/support/
outside_reads.py`` puts this folder on ``PYTHONPATH``): while ``EDH_TEST_OUTSIDE_READS_LOG``
names a file, each file this process opens outside the repository is appended to it."""

from __future__ import annotations

import importlib.util
import os

_VARIABLE = "EDH_TEST_OUTSIDE_READS_LOG"
_PATHS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "outside_paths.py"
)


def _append(path: str) -> None:
    log = os.environ.get(_VARIABLE)  # read at each event: a nested test session sets its own
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(path + "\n")


def _install() -> None:
    spec = importlib.util.spec_from_file_location("_edh_outside_paths", _PATHS)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install_hook(_append)


if os.environ.get(_VARIABLE):
    _install()
