"""The ``edh-connector`` command.

Each sub-command is a ``register(subparsers)`` function listed in ``COMMANDS``; it sets a
``handler(args) -> int`` default that ``main`` calls.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

# First: pyarrow's libraries load while the process is small, and the pages their
# initialisers touched are released at once (connector/pipeline/pages.py).
from connector.pipeline import arrow  # noqa: F401  # isort: skip
from connector.config import ConnectorSettings
from connector.pipeline import commands as pipeline_commands
from connector.pipeline import erasure as erasure_commands
from connector.pipeline import rekey as rekey_commands
from connector.pipeline import retention as retention_commands

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
YOUNG_COLLECTION_THRESHOLD = 10_000
"""Net container allocations between two young collections in ``edh-connector run``."""


def _spare_the_collector() -> None:
    """Keep the cyclic garbage collector from walking what does not need it (in the HTTP
    benchmark, its walks took ~13 µs a statement, about a seventh of the server's CPU).

    What start-up built lives as long as the process, so it leaves the collector's
    generations (``gc.freeze``: full collections walked it at ~50 ms each); and a young
    collection waits for ``YOUNG_COLLECTION_THRESHOLD`` net allocations rather than 700, so
    the ~3,000 containers a POST of 100 statements parses die with their request instead
    of being walked and promoted while they are alive.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from connector.xapi.app import create_app

    settings = ConnectorSettings()
    try:
        settings.check_secrets()
    except ValueError as exc:
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    host = args.host or settings.xapi.host
    port = args.port or settings.xapi.port
    app = create_app(settings)
    _spare_the_collector()
    # uvicorn's access log writes query strings (identifiers in ?agent=): ours does not.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    return 0


def _status(args: argparse.Namespace) -> int:
    from connector.pipeline.retention import held
    from connector.spool import Spool

    settings = ConnectorSettings()
    spool = Spool(settings.spool_path)
    try:
        counts: dict[str, Any] = {**spool.counts(), **held(settings, spool)}
    finally:
        spool.close()
    if args.json:
        print(json.dumps(counts, sort_keys=True))
    else:
        for name, value in counts.items():
            print(f"{name}: {value}")
    return 0


def register_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``edh-connector run``: serve the xAPI endpoint (LRS) with uvicorn."""
    run = sub.add_parser("run", help="servir le point d'accès xAPI (chemin /xapi/)")
    run.add_argument("--host", default=None, help="interface (défaut : EDH_CONNECTOR_XAPI__HOST)")
    run.add_argument(
        "--port", type=int, default=None, help="port (défaut : EDH_CONNECTOR_XAPI__PORT)"
    )
    run.set_defaults(handler=_run)


def register_status(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``edh-connector status``: counts of the spool (statements, voided, pending...) and
    what the retention window will purge, by when."""
    status = sub.add_parser(
        "status", help="afficher les compteurs du spool et la date de sa prochaine purge"
    )
    status.add_argument("--json", action="store_true", help="sortie JSON")
    status.set_defaults(handler=_status)


COMMANDS: list[Register] = [
    register_run,
    register_status,
    pipeline_commands.register,
    erasure_commands.register,
    rekey_commands.register,
    retention_commands.register,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="edh-connector", description="Education Data Hub connector"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``edh-connector``."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
