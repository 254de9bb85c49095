"""``edh policy ...``: run the Rego tests with coverage, print the bundle hash, evaluate
(on the areas' policy data documents, handed in by ``edh`` as ``args.policy_documents``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hub.errors import BadRequest
from hub.policy.bundle import PolicyBundle
from hub.serving import serve_until_interrupted


def _bundle(args: argparse.Namespace) -> PolicyBundle:
    from hub.config import Settings

    return PolicyBundle.load(Path(args.dir) if args.dir else Settings().policy.directory)


def _test(args: argparse.Namespace) -> int:
    from hub.policy.rego_tests import run_rego_tests

    report = run_rego_tests(_bundle(args))
    for rule, problem in report.failed:
        print(f"FAIL {rule}: {problem}")
    for rule in report.uncovered_rules():
        print(f"not covered: {rule}")
    hit = sum(report.rules.values())
    print(
        f"{len(report.passed)} passed, {len(report.failed)} failed; rule coverage "
        f"{report.rule_coverage:.1f}% ({hit}/{len(report.rules)})"
    )
    return 0 if not report.failed and report.rule_coverage == 100.0 else 1


def _hash(args: argparse.Namespace) -> int:
    print(_bundle(args).hash)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from hub.config import Settings
    from hub.db import make_engine, upgrade
    from hub.enforcement.data import publish
    from hub.policy.inprocess import InProcessPolicyEngine

    text = sys.stdin.read() if args.input == "-" else Path(args.input).read_text("utf-8")
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the policy input is not JSON: {exc}") from exc
    settings = Settings()
    engine = make_engine(settings.database_url())
    upgrade(engine)
    policy = InProcessPolicyEngine(_bundle(args))
    with Session(engine) as session:
        publish(policy, session, args.policy_documents())
    decision = policy.decide(args.decision, document)
    out = {"allow": decision.allow, "reasons": list(decision.reasons)}
    print(json.dumps({**out, "obligations": dict(decision.obligations)}, ensure_ascii=False))
    return 0 if decision.allow else 1


def _serve_opa_api(args: argparse.Namespace) -> int:
    from hub.policy.opa_api import OpaApiServer

    server = OpaApiServer(args.host, args.port)
    print(f"OPA REST API on {server.url}", flush=True)
    return serve_until_interrupted(server)


def register(sub: Any) -> None:
    """Add ``edh policy`` and its subcommands."""
    policy = sub.add_parser("policy", help="usage policies (Rego, OPA)")
    cmds = policy.add_subparsers(dest="policy_command", required=True)
    test = cmds.add_parser("test", help="run the Rego tests with the real engine; coverage")
    test.set_defaults(func=_test)
    digest = cmds.add_parser("hash", help="print the policy bundle hash (as audited)")
    digest.set_defaults(func=_hash)
    evaluate = cmds.add_parser("eval", help="evaluate a decision on the database's facts")
    evaluate.add_argument("decision", help="e.g. edh/sandbox/query")
    evaluate.add_argument("--input", default="-", help="JSON input file (default: stdin)")
    evaluate.set_defaults(func=_eval)
    serve = cmds.add_parser(
        "serve-opa-api",
        help="serve the OPA REST API (/v1/data, /v1/policies, /health) with the real engine",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default: loopback)")
    serve.add_argument("--port", type=int, default=8181)
    serve.set_defaults(func=_serve_opa_api)
    for parser in (test, digest, evaluate):
        parser.add_argument("--dir", help="policy directory (default: EDH_POLICY__DIRECTORY)")
