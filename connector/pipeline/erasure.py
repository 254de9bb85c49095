"""``edh-connector erase``: a pupil's erasure, asked by the vendor.

Identifiers are read from a file or standard input (never the command line: shell
history would keep them), one canonical identifier a line (``account:<homePage>|<name>``,
``mbox:mailto:<address>``, ``mbox_sha1sum:<hex>``, ``openid:<uri>``). For each, the hub's
pseudonymisation service records the erasure in its register (every contract of every
provider, past and future) and erases the lake; the spool then forgets the pupil's
statements and documents.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx

from connector.config import ConnectorSettings
from connector.pipeline.client import HubRefused
from connector.pipeline.commands import hub_client, hub_options
from connector.pipeline.register import agent_of


def read_identifiers(path: str) -> list[str]:
    """Lines of ``path`` (``-``: standard input), blank ones skipped."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _erase(args: argparse.Namespace) -> int:
    from connector.spool import Spool

    settings = ConnectorSettings()
    try:
        identifiers = read_identifiers(args.identifier_file)
        agents = [agent_of(i) for i in identifiers]
        client = hub_client(args, settings)
    except (OSError, UnicodeDecodeError):
        print("edh-connector: fichier d'identifiants illisible", file=sys.stderr)
        return 2
    except ValueError as exc:  # never echoes the identifier
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 2
    spool = Spool(settings.spool_path)
    try:
        for number, (identifier, agent) in enumerate(zip(identifiers, agents, strict=True), 1):
            done = client.erase(identifier)
            forgotten = spool.forget_agent(agent)
            print(
                f"élève {number} : demande {done['request_id']}, {done['rows_removed']} lignes "
                f"effacées du lac, {forgotten} déclarations effacées du spool"
            )
    except (HubRefused, httpx.HTTPError) as exc:
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 3
    finally:
        spool.close()
        client.close()
    return 0


def register(sub: Any) -> None:
    """Add ``erase`` to the ``edh-connector`` parser."""
    erase = sub.add_parser(
        "erase",
        help="effacer des élèves (registre d'effacement du hub, lac et spool)",
        allow_abbrev=False,
    )
    erase.add_argument(
        "--identifier-file",
        required=True,
        help="fichier d'identifiants canoniques, un par ligne ('-' : entrée standard)",
    )
    hub_options(erase)
    erase.set_defaults(handler=_erase)
