"""Fail the test session when any file outside the repository is opened, by the tests or
by a Python process they start.

The repository must stand alone: its tests read only what it ships. A ``sys.addaudithook``
hook sees every ``open`` of this Python process (``open()``, ``os.open``, ``io.open``) and
records each path outside the allowlist of ``outside_paths``: the repository, the Python
installation, the operating system and the temporary directories (the folder holding the
repository is fenced off even when it lies in a temporary directory). Python processes the
tests start inherit ``PYTHONPATH`` with ``child_hook/``, whose ``sitecustomize`` installs
the same hook there and appends what it sees to the session's log file
(``EDH_TEST_OUTSIDE_READS_LOG``). At the end the session fails and lists them all. Under
pytest-xdist each worker sends what it saw to the controller, which fails the whole run.
Not seen: processes started with an environment of their own making (no ``PYTHONPATH``),
and programs that are not Python (Chromium, the broker).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.outside_paths import install_hook

WORKER_KEY = "outside_reads"
LOG_VARIABLE = "EDH_TEST_OUTSIDE_READS_LOG"
CHILD_HOOK = Path(__file__).resolve().parent / "child_hook"
_seen: set[str] = set()
_gathered: set[str] = set()


def _watch_children() -> None:
    """A fresh log for this session's child processes, and the hook on their path."""
    handle, log = tempfile.mkstemp(prefix="edh-outside-reads-", suffix=".log")
    os.close(handle)
    os.environ[LOG_VARIABLE] = log
    paths = [str(CHILD_HOOK), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)


def _children_reads() -> set[str]:
    """What the child processes logged (the log is removed)."""
    log = Path(os.environ.get(LOG_VARIABLE, ""))
    if not log.is_file():
        return set()
    found = set(log.read_text(encoding="utf-8").splitlines())
    log.unlink()
    return found


def pytest_configure(config: pytest.Config) -> None:
    install_hook(_seen.add)
    if getattr(config, "workerinput", None) is None:  # not an xdist worker: a session
        _watch_children()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: gather what a worker saw."""
    _gathered.update(node.workeroutput.get(WORKER_KEY, []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller judges
        workeroutput[WORKER_KEY] = sorted(_seen)
        return
    found = sorted(_seen | _gathered | _children_reads())
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "files opened outside the repository", red=True)
            for path in found:
                reporter.write_line(path)
