"""The connector forgets: shipped and voided statements and documents leave the spool
after ``EDH_CONNECTOR_RETENTION_DAYS`` (statements not yet shipped always stay).

``ship`` purges after each run; ``edh-connector purge`` does it on demand; ``status``
shows the oldest statement held and the day it will be purged.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector.config import ConnectorSettings
from connector.pipeline.state import PipelineState

if TYPE_CHECKING:  # imported by the commands that open the spool: ``push`` never does
    from connector.spool import Spool

SPOOL_SOURCE = "spool"
"""The pipeline's source id of the spool (its cursor is the last shipped ``seq``)."""


def _shipped_through(settings: ConnectorSettings) -> int:
    return PipelineState.load(settings.state_path).cursors.get(SPOOL_SOURCE, 0)


def purge_spool(
    settings: ConnectorSettings, spool: Spool, now: datetime | None = None
) -> dict[str, int]:
    """Apply the retention window to ``spool`` now; the counts deleted."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
    return spool.purge(_shipped_through(settings), cutoff.isoformat(timespec="microseconds"))


def held(settings: ConnectorSettings, spool: Spool) -> dict[str, Any]:
    """What the spool holds that a purge will remove, and until when."""
    oldest = spool.oldest_stored(_shipped_through(settings))
    until = None
    if oldest is not None:
        until = (datetime.fromisoformat(oldest) + timedelta(days=settings.retention_days)).date()
    return {
        "retention_days": settings.retention_days,
        "oldest_shipped_or_voided": oldest,
        "purged_by": until.isoformat() if until else None,
    }


def _purge(args: argparse.Namespace) -> int:
    from connector.spool import Spool

    settings = ConnectorSettings()
    spool = Spool(settings.spool_path)
    try:
        print(json.dumps(purge_spool(settings, spool), sort_keys=True))
    finally:
        spool.close()
    return 0


def register(sub: Any) -> None:
    """Add ``purge`` to the ``edh-connector`` parser."""
    purge = sub.add_parser(
        "purge", help="effacer du spool ce qui est envoyé ou annulé depuis plus de N jours"
    )
    purge.set_defaults(handler=_purge)
