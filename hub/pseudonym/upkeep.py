"""The pseudonymisation service's own retention, run by the service process itself.

Its audit trail (every key derivation with its purpose, every refused caller) is purged by
whole months older than ``EDH_PSEUDONYM__SERVICE__AUDIT_RETENTION_DAYS``, sealed by a
signed checkpoint at the boundary (the hub's audit retention, ``hub.trail.retention``,
on the service's own database), so the rest of the trail still verifies. A thread of
the service applies it at start and then every ``EDH_PSEUDONYM__SERVICE__PURGE_EVERY_MINUTES``
(0: never); a failed run is logged and tried again next period.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import Engine

from hub.config import Settings
from hub.db import session_scope
from hub.trail.checkpoints import load_signer
from hub.trail.models import AuditPurge
from hub.trail.retention import purge_expired

log = logging.getLogger("hub.pseudonym.upkeep")


def purge_trail(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> AuditPurge | None:
    """Apply the service's audit retention once; the purge done (None: nothing expired)."""
    days = settings.pseudonym.service.audit_retention_days
    with session_scope(engine) as session:
        return purge_expired(session, load_signer(settings), days, now=now)


class TrailPurger:
    """The service's retention thread (see module docstring)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine, self._settings = engine, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread, unless the period is 0."""
        if self._settings.pseudonym.service.purge_every_minutes:
            self._thread = threading.Thread(target=self._loop, name="pseudonym-purge", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        period = self._settings.pseudonym.service.purge_every_minutes * 60
        while not self._stop.is_set():
            try:
                purge_trail(self._engine, self._settings)
            except Exception:
                log.exception("the service's audit retention failed; next run in %s s", period)
            self._stop.wait(period)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
