"""A source checkout's compiled modules run only while they match their sources.

``scripts/compiled.py build`` compiles the pipeline's hot modules in place and records
each source's sha256 in ``.venv/compiled-modules.json``. An extension module shadows the
``.py`` beside it, so after a hot module is edited, and until ``scripts/bootstrap.sh``
rebuilds, the old compiled code would run (in ``edh-connector`` or the hub as in the
tests). :func:`use_sources_if_stale` (run by ``import contracts``, which ``connector``
imports first, before any hot module loads) then imports every recorded module from its
source, with a warning: what runs is what the checkout says, only slower. Every one, not
only the edited one: a compiled module calls the others of the build directly, not
through their modules. An installed wheel has no record beside its packages:
``contracts/__init__.py`` pays one ``stat`` and never imports this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from types import ModuleType


class SourcesFinder:
    """Finds the recorded modules' sources before the import system finds their
    extensions (first on ``sys.meta_path``)."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources
        """Module name -> path of its source."""

    def find_spec(
        self, name: str, path: object = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        source = self.sources.get(name)
        return spec_from_file_location(name, source) if source else None


def use_sources_if_stale(record: str) -> None:
    """Imports the modules the build ``record`` names from their sources when one of them
    changed since the build."""
    root = os.path.dirname(os.path.dirname(record))
    with open(record, "rb") as fh:
        recorded: dict[str, str] = json.load(fh)["sources"]
    changed = [s for s, digest in recorded.items() if _sha256(os.path.join(root, s)) != digest]
    if not changed:
        return
    sources = {s.removesuffix(".py").replace("/", "."): os.path.join(root, s) for s in recorded}
    sys.meta_path.insert(0, SourcesFinder(sources))
    warnings.warn(
        f"compiled modules older than their sources ({', '.join(changed)}): running the "
        "sources, slower (scripts/bootstrap.sh rebuilds them)",
        RuntimeWarning,
        stacklevel=2,
    )


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except FileNotFoundError:
        return ""
