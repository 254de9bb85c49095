"""Fail the test session when any file outside the repository is opened.

The repository must stand alone: its tests read only what it ships. A ``sys.addaudithook``
hook sees every ``open`` of this Python process (``open()``, ``os.open``, ``io.open``) and
records each path that is outside an allowlist: the repository, the Python installation
(virtualenv, base prefix), the operating system (``/usr``, ``/etc``, ``/proc``, ``/sys``,
``/dev``, ``/lib``, ``/var/lib``) and the temporary directories. The folder holding the
repository is fenced off even when it lies in a temporary directory (a clone in
``/tmp/x/repo`` must not read ``/tmp/x/shared``), unless it is a temporary root itself.
At the end the session fails and lists them. Under pytest-xdist each worker sends what it
saw to the controller, which fails the whole run. Files read by child processes (Chromium,
the broker) are not seen.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_ROOTS = ("/usr", "/etc", "/proc", "/sys", "/dev", "/lib", "/lib64", "/var/lib", "/run")
WORKER_KEY = "outside_reads"
_seen: set[str] = set()
_gathered: set[str] = set()


def allowed_roots() -> tuple[str, ...]:
    """Directory prefixes (with a trailing separator) the tests may open files under."""
    roots = {str(REPO), os.path.realpath(REPO), tempfile.gettempdir(), "/tmp", "/var/tmp"}
    roots |= {sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values()}
    roots |= set(SYSTEM_ROOTS)
    return tuple(sorted(os.path.join(root, "") for root in roots if root))


def repository_prefixes() -> tuple[str, ...]:
    return tuple({os.path.join(str(REPO), ""), os.path.join(os.path.realpath(REPO), "")})


def fence() -> str | None:
    """The folder holding the repository (its siblings are never allowed), or None when
    that folder is a temporary root or ``/`` (the allowlist alone decides then)."""
    parent = os.path.join(str(REPO.parent), "")
    temporary_roots = {
        os.path.join(t, "") for t in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/")
    }
    return None if parent in temporary_roots else parent


def outside(
    path: str, roots: tuple[str, ...], fenced: str | None = None, repo: tuple[str, ...] = ()
) -> bool:
    """True when the absolute form of ``path`` lies under none of ``roots``, or under
    ``fenced`` but not in ``repo``."""
    full = os.path.join(os.path.abspath(path), "")
    if fenced is not None and full.startswith(fenced) and not full.startswith(repo):
        return True
    return not full.startswith(roots)


def _install_hook() -> None:
    roots, fenced, repo = allowed_roots(), fence(), repository_prefixes()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args:
            return
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str) and outside(path, roots, fenced, repo):
            _seen.add(os.path.abspath(path))

    sys.addaudithook(hook)


def pytest_configure(config: pytest.Config) -> None:
    _install_hook()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: gather what a worker saw."""
    _gathered.update(node.workeroutput.get(WORKER_KEY, []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller judges
        workeroutput[WORKER_KEY] = sorted(_seen)
        return
    found = sorted(_seen | _gathered)
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "files opened outside the repository", red=True)
            for path in found:
                reporter.write_line(path)
