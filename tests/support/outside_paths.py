"""Which files the tests may open: the repository, the Python installation, the operating
system and the temporary directories (see ``outside_reads``). Standard library only: it is
also loaded by every Python process the tests start (``child_hook/sitecustomize.py``)."""

from __future__ import annotations

import os
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SYSTEM_ROOTS = ("/usr", "/etc", "/proc", "/sys", "/dev", "/lib", "/lib64", "/var/lib", "/run")


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


def install_hook(on_outside: Callable[[str], None]) -> None:
    """Call ``on_outside`` with the absolute path of every file this process opens outside
    the allowed roots from now on (``sys.addaudithook``: ``open()``, ``os.open``...)."""
    roots, fenced, repo = allowed_roots(), fence(), repository_prefixes()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args:
            return
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str) and outside(path, roots, fenced, repo):
            on_outside(os.path.abspath(path))

    sys.addaudithook(hook)
