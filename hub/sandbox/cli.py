"""``edh query``: submit a research query to a hub and fetch its status, result, report.

The CLI is a client of the hub API: ``--url`` (default ``EDH_PUBLIC_URL`` or
http://127.0.0.1:8000) and ``--token`` (default ``EDH_TOKEN``), a researcher's token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

WAIT_POLL_S = 0.25


def _client(args: argparse.Namespace) -> httpx.Client:
    token = args.token or os.environ.get("EDH_TOKEN", "")
    if not token:
        raise ValueError("a token is required (--token or EDH_TOKEN)")
    url = args.url or os.environ.get("EDH_PUBLIC_URL", "http://127.0.0.1:8000")
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _check(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        try:
            body = resp.json()
            reasons = body.get("reasons") or []
            detail = body.get("detail", resp.text)
        except ValueError:
            detail, reasons = resp.text, []
        extra = "".join(f"\n  - {r}" for r in reasons if r != detail)
        raise ValueError(f"{resp.status_code}: {detail}{extra}")
    return resp.json()


def _sql_of(args: argparse.Namespace) -> str:
    if args.file:
        return Path(args.file).read_text(encoding="utf-8")
    if args.sql == "-":
        return sys.stdin.read()
    return str(args.sql)


def _body(args: argparse.Namespace) -> dict[str, Any]:
    return {"sql": _sql_of(args), "purpose": args.purpose, "epsilon": args.epsilon}


def _preview(args: argparse.Namespace) -> int:
    url = f"/api/v1/projects/{args.project}/queries/preview"
    with _client(args) as client:
        print(json.dumps(_check(client.post(url, json=_body(args))), indent=2))
    return 0


def _submit(args: argparse.Namespace) -> int:
    body = _body(args)
    with _client(args) as client:
        job = _check(client.post(f"/api/v1/projects/{args.project}/queries", json=body))
        if args.wait:
            job = _wait(client, job["id"], args.timeout)
    print(json.dumps(job, indent=2, ensure_ascii=False))
    return (
        0
        if job["status"] in ("queued", "running", "succeeded", "pending_review", "released")
        else 1
    )


def _wait(client: httpx.Client, job_id: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = _check(client.get(f"/api/v1/queries/{job_id}"))
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(WAIT_POLL_S)


def _status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(json.dumps(_check(client.get(f"/api/v1/queries/{args.job}")), indent=2))
    return 0


def _result(args: argparse.Namespace) -> int:
    with _client(args) as client:
        resp = client.get(f"/api/v1/queries/{args.job}/result", params={"format": args.format})
        if resp.status_code >= 400:
            _check(resp)
    if args.output:
        Path(args.output).write_bytes(resp.content)
    elif args.format == "parquet":
        raise ValueError("Parquet output needs --output FILE")
    else:
        print(resp.text)
    return 0


def _report(args: argparse.Namespace) -> int:
    with _client(args) as client:
        report = _check(client.get(f"/api/v1/queries/{args.job}/report"))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(json.dumps(_check(client.post(f"/api/v1/queries/{args.job}/cancel")), indent=2))
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="hub base URL (default EDH_PUBLIC_URL)")
    parser.add_argument("--token", help="researcher access token (default EDH_TOKEN)")


def _query_parser(sub: Any, name: str, helptext: str) -> argparse.ArgumentParser:
    """A sub-command taking a query: project, SQL (or file), purpose, ε."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=helptext)
    parser.add_argument("--project", required=True, help="project id")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sql", help="the SQL text ('-' reads stdin)")
    source.add_argument("--file", help="a file holding the SQL text")
    parser.add_argument("--purpose", help="why this query (audited)")
    parser.add_argument(
        "--epsilon", type=float, help="ε to spend (default: the contract's epsilon_per_query)"
    )
    return parser


def register(subparsers: Any) -> None:
    """Add ``edh query submit|preview|status|result|report|cancel``."""
    query = subparsers.add_parser("query", help="research sandbox queries")
    sub = query.add_subparsers(dest="query_command", required=True)
    submit = _query_parser(sub, "submit", "submit one SELECT for a project")
    submit.add_argument("--wait", action="store_true", help="wait until the job finishes")
    submit.add_argument("--timeout", type=float, default=300, help="seconds to wait")
    submit.set_defaults(func=_submit)
    preview = _query_parser(sub, "preview", "the noise a query would get (runs nothing)")
    preview.set_defaults(func=_preview)
    _common(preview)
    for name, func, helptext in (
        ("status", _status, "show a job's status, timings and resources"),
        ("report", _report, "show a job's disclosure report"),
        ("cancel", _cancel, "cancel a queued or running job"),
        ("result", _result, "print or save a job's released result"),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("job", help="job id")
        _common(cmd)
        cmd.set_defaults(func=func)
        if name == "result":
            cmd.add_argument("--format", choices=["json", "csv", "parquet"], default="json")
            cmd.add_argument("--output", "-o", help="write to this file")
    _common(submit)
