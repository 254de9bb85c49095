"""The vendor-side connector: xAPI endpoint, pipeline, spool. Never imports ``hub``."""

import sys

import contracts  # noqa: F401  (first: no stale compiled module runs, contracts/__init__.py)

# httpx loads its command-line tool (rich, pygments: ~5 MB resident) whenever rich is
# installed; the connector never runs it, so ``httpx.main`` stays httpx's fallback stub.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
