"""``edh ingest``: lake maintenance across the areas that hold pupil data: retention
purge of the lake, its quarantine and the sandbox's results, stale-batch quarantine (run
it on a schedule), erasure of pupils through the erasure register, and verification of
the lake against the batch registry."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.config import Settings
from hub.trail.writer import SYSTEM, Actor

DPO_CLI = Actor(sub="cli", role="dpo")


def _context(args: argparse.Namespace) -> Any:
    """The hub's context, built by the ``edh`` command that runs this one
    (``args.build_context``, set by ``hub.cli``: an area does not import the app)."""
    return args.build_context(Settings())


def _purge(args: argparse.Namespace) -> int:
    from hub.db import session_scope
    from hub.ingest.public import purge_expired, purge_lake, store_of
    from hub.sandbox.public import purge_results

    ctx = _context(args)
    on = date.fromisoformat(args.on) if args.on else datetime.now(UTC).date()
    with session_scope(ctx.engine) as session:
        if args.contract:
            change = purge_expired(store_of(ctx), session, SYSTEM, args.contract, on)
            done: dict[str, Any] = {"on": on.isoformat(), "deleted": change.objects_deleted}
        else:
            done = purge_lake(store_of(ctx), session, on, timedelta(hours=args.stale_hours))
            done["sandbox"] = vars(purge_results(session, on))
    print(json.dumps(done, indent=2))
    return 0


def read_identifiers(path: str) -> list[str]:
    """Identifiers one per line from ``path`` (``-``: standard input), never from the
    command line (shell history keeps it); blank lines are skipped."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _erase(args: argparse.Namespace) -> int:
    from hub.db import session_scope
    from hub.erasure.register import request_erasure
    from hub.ingest.public import store_of

    try:
        identifiers = read_identifiers(args.identifier_file)
    except (OSError, UnicodeDecodeError):
        print("edh: cannot read the identifier file", file=sys.stderr)
        return 2
    ctx = _context(args)
    done = []
    for identifier in identifiers:
        with session_scope(ctx.engine) as session:
            outcome = request_erasure(
                store_of(ctx), session, ctx.settings, DPO_CLI, identifier, "dpo"
            )
        done.append(outcome.__dict__)
    print(json.dumps(done, indent=2))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from hub.db import session_scope
    from hub.ingest.public import store_of, verify_lake

    ctx = _context(args)
    with session_scope(ctx.engine) as session:
        report = verify_lake(store_of(ctx), session, ctx.settings)
    print(json.dumps(report.as_dict(), indent=2))
    return 0 if report.ok else 1


def register(sub: Any) -> None:
    """Add ``edh ingest purge``, ``edh ingest erase`` and ``edh ingest verify``."""
    ingest = sub.add_parser("ingest", help="lake maintenance: retention purge, erasure")
    isub = ingest.add_subparsers(dest="ingest_command", required=True)
    purge = isub.add_parser(
        "purge", help="delete lake partitions and sandbox results past contract retention"
    )
    purge.add_argument("--contract", help="one contract (default: all)")
    purge.add_argument("--on", help="reference day YYYY-MM-DD (default: today)")
    purge.add_argument(
        "--stale-hours",
        type=float,
        default=24.0,
        help="quarantine batches announced but not completed for that long",
    )
    purge.set_defaults(func=_purge)
    erase = isub.add_parser(
        "erase",
        help="erase pupils from every contract, now and later (erasure register)",
        allow_abbrev=False,
    )
    erase.add_argument(
        "--identifier-file",
        required=True,
        help="file of canonical identifiers, one a line ('-': stdin), e.g. account:<home>|<name>",
    )
    erase.set_defaults(func=_erase)
    verify = isub.add_parser(
        "verify",
        help="check every registered lake object against its digest and its history "
        "(exit 1 when one is missing, altered or not explained by a signed rewrite)",
    )
    verify.set_defaults(func=_verify)
