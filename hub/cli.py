"""The ``edh`` command: serve, token, db, audit, and each area's own commands."""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hub.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from hub.context import HubContext
    from hub.enforcement.data import Documents

Command = Callable[[argparse.Namespace], int]

# Each area adds its own subcommands: a module with ``register(subparsers) -> None``.
AREA_COMMANDS: tuple[str, ...] = (
    "hub.audit.cli",
    "hub.contracts.cli",
    "hub.enforcement.cli",
    "hub.erasure.cli",
    "hub.sandbox.cli",
    "hub.sandbox.airlock.cli",
    "hub.pseudonym.cli",
)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.app import create_app
    from hub.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None)
    return 0


def _token(args: argparse.Namespace) -> int:
    from hub.app import build_context

    settings = Settings()
    if not settings.dev_mode:
        print(
            "edh: error: `edh token` works in dev mode only; production tokens come from "
            "the identity provider (EDH_AUTH__JWKS_URL)",
            file=sys.stderr,
        )
        return 2
    ctx = build_context(settings)
    token = ctx.issuer.mint(args.sub, args.role, org=args.org, name=args.name, ttl=args.ttl)
    _audit_minting(ctx.engine, token, minted_by=f"cli:{getpass.getuser()}")
    print(token)
    return 0


def _audit_minting(engine: Engine, token: str, minted_by: str) -> None:
    """Record a dev-mode minting: who minted, for whom, which roles, until when (never
    the token itself, only its ``jti``)."""
    import jwt

    from hub.trail.writer import Actor, EventDraft, Resource, record_now

    claims = jwt.decode(token, options={"verify_signature": False})
    draft = EventDraft(
        actor=Actor(sub=minted_by, role="operator"),
        action="auth.token.minted",
        resource=Resource("token", str(claims["jti"])),
        details={
            "sub": claims["sub"],
            "roles": claims["roles"],
            "org": claims.get("org"),
            "exp": claims["exp"],
        },
    )
    record_now(engine, draft)


def _db_upgrade(_: argparse.Namespace) -> int:
    from hub import db

    settings = Settings()
    db.upgrade(db.make_engine(settings.database_url()))
    print("database at the latest revision")
    return 0


def _dataspace_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hub.dataspace.demo import Hub, run

    run(Hub(args.provider, Path(args.provider_dir)), Hub(args.lab, Path(args.lab_dir)))
    return 0


def _build_context(settings: Settings) -> HubContext:
    """The whole hub's context, handed to the area commands as ``args.build_context``
    (an area does not import the app that assembles it)."""
    from hub.app import build_context

    return build_context(settings)


def _policy_documents() -> Documents:
    """The areas' policy data documents, handed to the area commands as
    ``args.policy_documents`` (``edh policy eval`` publishes them)."""
    from hub.app import POLICY_DOCUMENTS

    return POLICY_DOCUMENTS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edh", description="Education Data Hub")
    parser.set_defaults(build_context=_build_context, policy_documents=_policy_documents)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub API and web UI")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)

    dsd = sub.add_parser(
        "dataspace-demo",
        help="a lab's hub negotiates with the running demo hub over the Dataspace Protocol",
    )
    dsd.add_argument("--provider", default="http://127.0.0.1:8000", help="the demo hub's URL")
    dsd.add_argument("--provider-dir", default=".edh-demo", help="the demo hub's data dir")
    dsd.add_argument("--lab", default="http://127.0.0.1:8001", help="the lab's hub URL")
    dsd.add_argument("--lab-dir", default=".edh-demo-lab", help="the lab's hub data dir")
    dsd.set_defaults(func=_dataspace_demo)

    token = sub.add_parser("token", help="mint an access token from the built-in issuer")
    token.add_argument(
        "--role",
        action="append",
        required=True,
        help="role (repeat for several): operator, provider, connector, "
        "researcher, ethics_reviewer, dpo",
    )
    token.add_argument("--sub", required=True, help="subject")
    token.add_argument("--org", help="organisation id")
    token.add_argument("--name", help="display name")
    token.add_argument("--ttl", type=int, help="lifetime in seconds (60..86400)")
    token.set_defaults(func=_token)

    dbp = sub.add_parser("db", help="database maintenance")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    for module in AREA_COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``edh``; exit status 0 on success, 1 on a failed check, 2 on bad use."""
    from hub.errors import HubError

    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except (HubError, ValueError) as exc:
        print(f"edh: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
