"""``edh audit ...``: verify, checkpoint, export, purge, alerts, offline check of an export."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.config import Settings
from hub.serving import serve_until_interrupted


def _engine(settings: Settings) -> Any:
    from hub import db
    from hub.trail.seal import use_audit_key

    engine = db.make_engine(settings.database_url())
    db.upgrade(engine)
    use_audit_key(engine, settings)
    return engine


def human_report(out: dict[str, Any]) -> str:
    """The verification report in one line when OK, one line per problem otherwise."""
    if out["ok"]:
        return (
            f"audit chain OK: {out['events']} events, {out['checkpoints_checked']} signed "
            f"checkpoints, head {out['head_hash']}"
        )
    lines = [f"audit chain BROKEN ({out['events']} events read):"]
    for p in out["problems"]:
        cp = p["checkpoint"]
        since = (
            ""
            if not cp
            else f", since the published checkpoint of size {cp['tree_size']}"
            if cp["id"] is None
            else f", since checkpoint {cp['id']} (size {cp['tree_size']})"
        )
        lines.append(f"  seq {p['seq']}: {p['kind']} ({p['detail']}{since})")
    return "\n".join(lines)


def _verify(args: argparse.Namespace) -> int:
    from hub.audit.service import verify_log

    settings = Settings()
    if args.jobs:
        settings.audit.verify_jobs = args.jobs
    out = verify_log(_engine(settings), settings, witnesses=args.witness or ()).as_dict()
    print(json.dumps(out, indent=2) if args.json else human_report(out))
    return 0 if out["ok"] else 1


def _checkpoint(args: argparse.Namespace) -> int:
    from hub.audit.proofs import export_checkpoints
    from hub.audit.service import PublicationFailed, checkpoint_now
    from hub.db import session_scope
    from hub.trail.checkpoints import checkpoint_document, load_signer

    settings = Settings()
    engine = _engine(settings)
    try:
        cp = checkpoint_now(engine, settings)
    except PublicationFailed as refused:
        print(f"edh: {refused}", file=sys.stderr)
        return 1
    print(json.dumps(checkpoint_document(cp), indent=2))
    if args.export:
        with session_scope(engine) as session:
            doc = export_checkpoints(session, load_signer(settings))
        Path(args.export).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return 0


def _export(args: argparse.Namespace) -> int:
    from hub.audit.search import export_csv, export_jsonl, parse_filter
    from hub.db import session_scope

    params = {k: v for k, v in vars(args).items() if k in FILTERS and v is not None}
    flt = parse_filter(params)
    writer = export_csv if args.format == "csv" else export_jsonl
    settings = Settings()
    with session_scope(_engine(settings)) as session:
        _write(writer(session, flt), args.output)
    return 0


def _write(chunks: Iterator[str], output: str | None) -> None:
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with open(output, "w", encoding="utf-8", newline="") as fh:
        for chunk in chunks:
            fh.write(chunk)


def _purge(_: argparse.Namespace) -> int:
    from hub.audit.service import purge_now

    settings = Settings()
    purge = purge_now(_engine(settings), settings)
    if purge is None:
        print(f"nothing to purge (retention {settings.audit.retention_days} days)")
    else:
        print(
            f"purged {purge.events} events (up to seq {purge.up_to_seq}, before "
            f"{purge.period_end}); sealed by checkpoint {purge.checkpoint_id}"
        )
    return 0


def _alerts(args: argparse.Namespace) -> int:
    from hub.alerts import alert_event
    from hub.audit.service import run_alert_rules

    settings = Settings()
    for alert in run_alert_rules(_engine(settings), settings, None, hours=args.hours):
        print(json.dumps(alert_event(alert), ensure_ascii=False))
    return 0


def _check_export(args: argparse.Namespace) -> int:
    from hub.audit.offline import verify_export

    export = json.loads(Path(args.file).read_text(encoding="utf-8"))
    trusted = json.loads(Path(args.key).read_text(encoding="utf-8")) if args.key else None
    problems = verify_export(export, trusted)
    for p in problems:
        print(p)
    if not problems:
        print(f"export OK: {len(export.get('checkpoints', []))} signed checkpoints, consistent")
    return 1 if problems else 0


def _vkey(_: argparse.Namespace) -> int:
    from hub.audit.anchor import hub_verifier
    from hub.trail.checkpoints import load_signer

    settings = Settings()
    print(hub_verifier(settings.audit, load_signer(settings).key).vkey)
    return 0


def _witness(args: argparse.Namespace) -> Any:
    from hub.audit.note import parse_vkey
    from hub.audit.witness import Witness
    from hub.keys import load_or_create_key

    key = load_or_create_key(Path(args.key), allow_create=True)
    return Witness(args.name, key, Path(args.state), [parse_vkey(v) for v in args.log])


def _witness_key(args: argparse.Namespace) -> int:
    print(_witness(args).verifier.vkey)
    return 0


def _witness_serve(args: argparse.Namespace) -> int:
    from hub.audit.witness import make_server

    witness = _witness(args)
    server = make_server(witness, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"witness {witness.verifier.vkey} listening on http://{host!s}:{port}", flush=True)
    return serve_until_interrupted(server)


def _register_witness(cmds: Any) -> None:
    witness = cmds.add_parser("witness", help="a small C2SP tlog-witness (its own key and state)")
    sub = witness.add_subparsers(dest="witness_command", required=True)
    for name, func, text in (
        ("key", _witness_key, "print the witness's verifier key (created if missing)"),
        ("serve", _witness_serve, "cosign checkpoints over HTTP (POST /add-checkpoint)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--key", required=True, help="the witness's Ed25519 PEM key file")
        cmd.add_argument("--name", required=True, help="the witness's name, e.g. dpo.example/w1")
        cmd.add_argument("--state", default="witness-state.json", help="its state file")
        cmd.add_argument(
            "--log", action="append", default=[], help="a log's verifier key (`edh audit vkey`)"
        )
        cmd.set_defaults(func=func)
    serve = sub.choices["serve"]
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8470)


FILTERS = (
    *("since", "until", "actor", "role", "organisation"),
    *("action", "contract", "project", "dataset", "decision"),
)


def register(sub: Any) -> None:
    """Add ``edh audit`` and its subcommands."""
    audit = sub.add_parser("audit", help="audit log (DPO)")
    cmds = audit.add_subparsers(dest="audit_command", required=True)
    verify = cmds.add_parser("verify", help="re-verify the chain, checkpoints and signatures")
    verify.add_argument("--json", action="store_true", help="machine-readable report")
    verify.add_argument(
        "--witness",
        action="append",
        metavar="DIR-OR-URL",
        help="also check against the checkpoints held there (a witness directory or URL)",
    )
    verify.add_argument(
        "--jobs",
        type=int,
        choices=range(1, 65),
        metavar="N",
        help="processes checking the log at once on PostgreSQL (default: "
        "EDH_AUDIT__VERIFY_JOBS, else one per CPU core); the report is the same",
    )
    verify.set_defaults(func=_verify)
    cp = cmds.add_parser("checkpoint", help="sign a checkpoint over the whole log")
    cp.add_argument("--export", metavar="FILE", help="also write every checkpoint as JSON")
    cp.set_defaults(func=_checkpoint)
    export = cmds.add_parser("export", help="export events (CSV or JSON Lines), streamed")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--output", metavar="FILE", help="default: standard output")
    for name in FILTERS:
        export.add_argument(f"--{name}", help=f"filter on {name}")
    export.set_defaults(func=_export)
    purge = cmds.add_parser("purge", help="purge whole expired months (EDH_AUDIT__RETENTION_DAYS)")
    purge.set_defaults(func=_purge)
    alerts = cmds.add_parser("alerts", help="run the alert rules and print new alerts")
    alerts.add_argument("--hours", type=int, default=24, help="look back this many hours")
    alerts.set_defaults(func=_alerts)
    check = cmds.add_parser("check-export", help="verify a checkpoint export offline")
    check.add_argument("file", help="JSON written by `edh audit checkpoint --export`")
    check.add_argument("--key", help="the audit public key (JWK file) recorded earlier")
    check.set_defaults(func=_check_export)
    vkey = cmds.add_parser("vkey", help="print the hub's checkpoint verifier key (C2SP vkey)")
    vkey.set_defaults(func=_vkey)
    _register_witness(cmds)
