"""Test data helpers: valid SIRENs, hub contexts, tokens."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from hub.app import build_context
from hub.config import DatabaseSettings, Settings
from hub.context import HubContext

_counter = itertools.count(random.randrange(10_000_000))


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to ``prefix``."""
    for d in "0123456789":
        candidate = prefix + d
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def new_siren() -> str:
    """A fresh, valid (Luhn) SIREN."""
    return luhn_complete(f"{next(_counter) % 100_000_000:08d}")


def make_context(db_url: str, data_dir: Path, **overrides: object) -> HubContext:
    """A dev-mode hub context on ``db_url`` with its keys under ``data_dir``."""
    settings = Settings(
        dev_mode=True, data_dir=data_dir, database=DatabaseSettings(url=db_url), **overrides
    )
    return build_context(settings)
