"""``edh pseudonym serve``: the pseudonymisation service process (the only holder of the
master keys); ``edh pseudonym keys``: its master key versions (list, create a random one
in the token, import an existing master secret read from a file or stdin)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hub.config import Settings

STDIN = "-"


def _read_secret(path: str) -> bytes:
    """The secret from ``path`` (``-``: standard input), never from the command line."""
    return (sys.stdin.buffer.read() if path == STDIN else Path(path).read_bytes()).strip()


def _checked_secret(settings: Settings, path: str) -> bytes:
    """The master secret to import; outside dev mode, refused when short or predictable
    (the same check as every production secret, never quoting it)."""
    from pydantic import SecretStr

    from hub.config import DEV_PSEUDONYMISATION_SECRET
    from hub.secrets import check_secret

    secret = _read_secret(path)
    if not settings.dev_mode:
        text = SecretStr(secret.decode("latin-1"))
        check_secret("the master secret of --secret-file", text, DEV_PSEUDONYMISATION_SECRET)
    return secret


def _keys(args: argparse.Namespace) -> int:
    from hub.pseudonym.service import custody

    settings = Settings()
    secret = _checked_secret(settings, args.secret_file) if args.keys_command == "import" else b""
    keys = custody(settings)
    if args.keys_command == "create":
        keys.create(args.version)
    elif args.keys_command == "import":
        keys.import_secret(args.version, secret)
    print(json.dumps({"current": keys.current, "versions": keys.versions()}))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.logging import configure_logging
    from hub.pseudonym.server import create_service_app

    settings = Settings()
    configure_logging(settings.log_level)
    app = create_service_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None)
    return 0


def register(sub: Any) -> None:
    """Add ``edh pseudonym serve`` and ``edh pseudonym keys list|create|import``."""
    pseudonym = sub.add_parser("pseudonym", help="pseudonymisation service: process, master keys")
    psub = pseudonym.add_subparsers(dest="pseudonym_command", required=True)
    serve = psub.add_parser("serve", help="run the pseudonymisation service (EDH_PSEUDONYM__*)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8010)
    serve.set_defaults(func=_serve)
    keys = psub.add_parser("keys", help="master key versions (EDH_PSEUDONYM__CUSTODY)")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser("list", help="list the versions held")
    create = ksub.add_parser("create", help="generate a new non-extractable key version")
    create.add_argument("version", help="e.g. v2")
    imp = ksub.add_parser("import", help="store an existing master secret as a version")
    imp.add_argument("version", help="e.g. v1")
    imp.add_argument("--secret-file", required=True, help="file holding the secret ('-': stdin)")
    keys.set_defaults(func=_keys)
