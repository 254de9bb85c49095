"""Bulk generation of valid audit chains for benchmarks (straight into PostgreSQL by COPY)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from hub.trail.hashing import compute_hash, utc_text
from hub.trail.models import GENESIS_HASH
from hub.trail.stream import StoredEvent

COLUMNS = StoredEvent._fields
START = datetime(2025, 1, 1, tzinfo=UTC)


def events(n: int) -> Iterator[StoredEvent]:
    """``n`` chained events: 2,000 researchers, 50 contracts, one every 30 s, 10% denials."""
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        deny = seq % 10 == 0
        ev = StoredEvent(
            seq=seq,
            event_id=str(uuid.UUID(int=seq)),
            ts=utc_text(START + timedelta(seconds=30 * seq)),
            actor_sub=f"researcher-{seq % 2000}",
            actor_role="researcher",
            actor_org=f"lab-{seq % 40}",
            action="sandbox.query",
            resource_type="query",
            resource_id=f"q-{seq}",
            decision="deny" if deny else "allow",
            reasons=["cell below k"] if deny else [],
            contract_id=f"contract-{seq % 50}",
            project_id=f"project-{seq % 50}",
            dataset_id=f"dataset-{seq % 7}",
            purpose="étude de la persévérance",
            details={"sql_hash": f"{seq:064x}", "rows": seq % 1000},
            prev_hash=prev,
            hash="",
        )
        prev = compute_hash(ev)
        yield ev._replace(hash=prev)


def copy_into_postgres(engine: Engine, n: int) -> None:
    """Write ``n`` chained events and the chain head with COPY (PostgreSQL only)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        last = None
        with cur.copy(f"COPY audit_event ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for ev in events(n):
                copy.write_row(
                    ev._replace(reasons=json.dumps(ev.reasons), details=json.dumps(ev.details))
                )
                last = ev
        assert last is not None
        cur.execute("DELETE FROM audit_head")
        cur.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, %s, %s)", (n, last.hash))
        cur.execute("ANALYZE audit_event")
        raw.commit()
    finally:
        raw.close()
