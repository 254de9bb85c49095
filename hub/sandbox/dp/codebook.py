"""The codebook: public bounds of the per-pupil values the DP release clamps to.

``codebook.json`` (versioned with the code) maps a column name (a view column or a
per-pupil feature a researcher names in a CTE) to ``[low, high]``. A query may also state
bounds itself by clamping the aggregated expression with constants,
``least(greatest(expr, low), high)``; the hub clamps again either way.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

Bounds = tuple[float, float]


@cache
def _document() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("codebook.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def version() -> int:
    """The codebook's version (recorded with every release)."""
    return int(_document()["version"])


def bounds(column: str) -> Bounds | None:
    """The public bounds of ``column`` (lower case), or None when the codebook has none."""
    found = _document()["bounds"].get(column)
    return (float(found[0]), float(found[1])) if found else None


def names() -> tuple[str, ...]:
    """Every column name with bounds (for refusals that say what is available)."""
    return tuple(sorted(_document()["bounds"]))
