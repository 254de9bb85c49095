"""``edh ingest``: retention purge and stale-batch quarantine (run it on a schedule), and
erasure of one pupil."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.audit.trail import SYSTEM
from hub.config import Settings


def _context() -> Any:
    from hub.app import build_context

    return build_context(Settings())


def _purge(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from hub.contracts.models import Contract
    from hub.db import session_scope
    from hub.ingest.erasure import purge_expired
    from hub.ingest.janitor import quarantine_stale
    from hub.ingest.presign import store_of

    ctx = _context()
    on = date.fromisoformat(args.on) if args.on else datetime.now(UTC).date()
    deleted: dict[str, list[str]] = {}
    with session_scope(ctx.engine) as session:
        stale = quarantine_stale(store_of(ctx), session, SYSTEM, timedelta(hours=args.stale_hours))
        ids = [args.contract] if args.contract else list(session.exec(select(Contract.id)).all())
        for contract_id in ids:
            change = purge_expired(store_of(ctx), session, SYSTEM, contract_id, on)
            deleted[contract_id] = change.objects_deleted
    print(json.dumps({"on": on.isoformat(), "deleted": deleted, "quarantined": stale}, indent=2))
    return 0


def _erase(args: argparse.Namespace) -> int:
    from hub.db import session_scope
    from hub.ingest.erasure import erase_pupil
    from hub.ingest.presign import store_of
    from hub.pseudonym.service import pseudonym_for

    ctx = _context()
    pseudonym = args.pseudonym or pseudonym_for(
        ctx.settings.pseudonymisation_secret, args.contract, args.identifier
    )
    with session_scope(ctx.engine) as session:
        change = erase_pupil(store_of(ctx), session, SYSTEM, args.contract, pseudonym)
    print(
        json.dumps(
            {
                "pseudonym": pseudonym,
                "rows_removed": change.rows_removed,
                "objects_rewritten": change.objects_rewritten,
            },
            indent=2,
        )
    )
    return 0


def register(sub: Any) -> None:
    """Add ``edh ingest purge`` and ``edh ingest erase``."""
    ingest = sub.add_parser("ingest", help="lake maintenance: retention purge, erasure")
    isub = ingest.add_subparsers(dest="ingest_command", required=True)
    purge = isub.add_parser("purge", help="delete lake partitions past contract retention")
    purge.add_argument("--contract", help="one contract (default: all)")
    purge.add_argument("--on", help="reference day YYYY-MM-DD (default: today)")
    purge.add_argument(
        "--stale-hours",
        type=float,
        default=24.0,
        help="quarantine batches announced but not completed for that long",
    )
    purge.set_defaults(func=_purge)
    erase = isub.add_parser("erase", help="remove one pupil's rows from a contract's lake")
    erase.add_argument("--contract", required=True)
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--pseudonym", help="the pupil's pseudonym under the contract")
    who.add_argument("--identifier", help="canonical identifier, e.g. 'account:<home>|<name>'")
    erase.set_defaults(func=_erase)
