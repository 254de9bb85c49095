"""The policy bundle: the Rego modules of ``policies/`` and the hash that names them.

``policies/`` ships with the distribution as data files (``share/edh/policies`` under the
installation prefix), so an installed hub finds its policies without configuration; a
source checkout uses the tree's own ``policies/``.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts.canonical import canonical_json, sha256_hex
from hub.policy.port import PolicyEngineError

SOURCE_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
INSTALLED_POLICY_DIRS = tuple(
    Path(prefix) / "share" / "edh" / "policies"
    for prefix in dict.fromkeys((sysconfig.get_path("data"), sys.prefix))
)
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)


def default_policy_dir() -> Path:
    """The source tree's ``policies/`` when it holds Rego files, else the installed copy.

    Raises ``PolicyEngineError`` naming every place looked at when neither exists.
    """
    candidates = (SOURCE_POLICY_DIR, *INSTALLED_POLICY_DIRS)
    for candidate in candidates:
        if any(candidate.glob("*.rego")):
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise PolicyEngineError(f"no Rego policy found (looked in {looked}); set EDH_POLICY__DIRECTORY")


@dataclass(frozen=True)
class PolicyBundle:
    """Decision modules and their ``*_test.rego`` companions, by file name.

    ``hash`` is the SHA-256 of the canonical JSON ``{file name: SHA-256 of source}`` of the
    decision modules only: it changes exactly when a decision can change, and every audited
    decision carries it.
    """

    modules: Mapping[str, str]
    tests: Mapping[str, str]
    hash: str

    @classmethod
    def load(cls, directory: Path | None = None) -> PolicyBundle:
        """Read every ``*.rego`` of ``directory`` (default: :func:`default_policy_dir`).

        Raises ``PolicyEngineError`` when the directory holds no decision module.
        """
        root = directory or default_policy_dir()
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(root.glob("*.rego"))}
        return cls.from_sources(files, origin=str(root))

    @classmethod
    def from_sources(cls, files: Mapping[str, str], origin: str = "sources") -> PolicyBundle:
        """A bundle from ``{file name: Rego source}``; test files end in ``_test.rego``."""
        modules = {n: s for n, s in files.items() if not n.endswith("_test.rego")}
        tests = {n: s for n, s in files.items() if n.endswith("_test.rego")}
        if not modules:
            raise PolicyEngineError(f"no Rego policy found in {origin}")
        digests = {name: sha256_hex(src.encode("utf-8")) for name, src in modules.items()}
        return cls(modules=modules, tests=tests, hash=sha256_hex(canonical_json(digests)))

    def test_rules(self) -> list[str]:
        """Every ``test_`` rule of the test files as ``data`` paths (``pkg.test_name``)."""
        rules: list[str] = []
        for source in self.tests.values():
            package = _PACKAGE.search(source)
            if package is None:
                continue
            rules.extend(f"{package.group(1)}.{name}" for name in _TEST_RULE.findall(source))
        return rules
