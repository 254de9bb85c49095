"""``edh-connector repseudonymise --roster FILE``: move a contract's lake to the hub's
new master key version after a key rotation.

The vendor holds the identifiers; the hub and its pseudonymisation service hold none.
The command reads the vendor's roster (every canonical identifier of the people its
statements name, one a line: ``account:<homePage>|<name>``, ``mbox:mailto:...``; from a
file or standard input, never the command line), obtains the contract's key under its
current version and under the new one, computes each identifier's (old, new) pseudonym
pair locally and sends only the pairs. The hub rewrites every object of the contract
with them; the rows of anyone absent from the roster are dropped. The connector's next
``ship`` pseudonymises under the new key (it asks for the key at each run).
"""

from __future__ import annotations

import argparse
import base64
import sys
from typing import Any

import httpx

from connector.config import ConnectorSettings
from connector.pipeline.client import HubClient, HubRefused
from connector.pipeline.commands import contract_option, hub_client, hub_options
from connector.pipeline.erasure import read_identifiers
from connector.pipeline.register import agent_of
from contracts.pseudonym import identifier_of, pseudonym


def pairs(roster: list[str], old_key: bytes, new_key: bytes) -> list[tuple[str, str]]:
    """The (old, new) pseudonym of each distinct canonical identifier of ``roster``;
    ``ValueError`` for a line that is not one (the message never repeats it)."""
    canonical = {identifier_of(agent_of(line)) for line in roster}
    return [(pseudonym(old_key, i), pseudonym(new_key, i)) for i in sorted(filter(None, canonical))]


def repseudonymise(client: HubClient, contract_id: str, roster: list[str]) -> dict[str, Any]:
    """Compute the roster's pairs under the contract's old and new keys and have the hub
    rewrite the contract's lake with them; the hub's counts."""
    keys = client.rotation(contract_id)
    old, new = (base64.b64decode(keys[k]) for k in ("from_key", "to_key"))
    body = {
        "from_version": keys["from_version"],
        "to_version": keys["to_version"],
        "pairs": pairs(roster, old, new),
    }
    return client.repseudonymise(contract_id, body)


def _run(args: argparse.Namespace) -> int:
    settings = ConnectorSettings()
    try:
        roster = read_identifiers(args.roster)
        client = hub_client(args, settings)
    except (OSError, UnicodeDecodeError):
        print("edh-connector: liste d'identifiants illisible", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 2
    try:
        done = repseudonymise(client, args.contract or settings.hub.contract_id, roster)
    except ValueError as exc:  # never echoes the identifier
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 2
    except (HubRefused, httpx.HTTPError) as exc:
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 3
    finally:
        client.close()
    print(
        f"contrat {done['contract_id']} : clé {done['key_version']}, {done['pairs']} "
        f"identifiants, {done['objects_rewritten']} objets réécrits, {done['rows_kept']} "
        f"lignes conservées, {done['rows_dropped']} écartées (absentes de la liste)"
    )
    return 0


def register(sub: Any) -> None:
    """Add ``repseudonymise`` to the ``edh-connector`` parser."""
    command = sub.add_parser(
        "repseudonymise",
        help="repseudonymiser le lac d'un contrat après une rotation de clé",
        allow_abbrev=False,
    )
    command.add_argument(
        "--roster",
        required=True,
        help="fichier des identifiants canoniques de l'éditeur, un par ligne ('-' : entrée "
        "standard) ; les traces des personnes absentes sont écartées",
    )
    contract_option(command)
    hub_options(command)
    command.set_defaults(handler=_run)
