"""The ``edh-connector`` command.

Each sub-command is a ``register(subparsers)`` function listed in ``COMMANDS``; it sets a
``handler(args) -> int`` default that ``main`` calls.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from connector.config import ConnectorSettings
from connector.pipeline import commands as pipeline_commands
from connector.pipeline import erasure as erasure_commands
from connector.pipeline import rekey as rekey_commands
from connector.pipeline import retention as retention_commands

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


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
    # uvicorn's access log writes query strings (identifiers in ?agent=): ours does not.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
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
