"""``edh outputs``: output checkers list, read, approve and reject held results.

A client of the hub API (``/api/v1/reviews/outputs``), like ``edh query``: ``--url``
(default ``EDH_PUBLIC_URL``) and ``--token`` (default ``EDH_TOKEN``), an output checker's
token.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hub.sandbox.cli import _check, _client, _common

PATH = "/api/v1/reviews/outputs"


def _list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(json.dumps(_check(client.get(PATH)), indent=2, ensure_ascii=False))
    return 0


def _show(args: argparse.Namespace) -> int:
    with _client(args) as client:
        print(json.dumps(_check(client.get(f"{PATH}/{args.job}")), indent=2, ensure_ascii=False))
    return 0


def _decide(args: argparse.Namespace) -> int:
    body = {"comment": args.comment}
    with _client(args) as client:
        held = _check(client.post(f"{PATH}/{args.job}/{args.action}", json=body))
    print(json.dumps(held, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: Any) -> None:
    """Add ``edh outputs list|show|approve|reject``."""
    outputs = subparsers.add_parser("outputs", help="output checking of held exact results")
    sub = outputs.add_subparsers(dest="outputs_command", required=True)
    listing = sub.add_parser("list", help="results awaiting review")
    listing.set_defaults(func=_list)
    _common(listing)
    show = sub.add_parser("show", help="one held result: SQL, result, findings, reviews")
    show.add_argument("job", help="job id")
    show.set_defaults(func=_show)
    _common(show)
    for action, helptext, label in (
        ("approve", "approve (the second approval releases it)", "--comment"),
        ("reject", "reject with a reason (shown to the researcher)", "--reason"),
    ):
        cmd = sub.add_parser(action, help=helptext)
        cmd.add_argument("job", help="job id")
        cmd.add_argument(label, dest="comment", required=True, help="mandatory text (audited)")
        cmd.set_defaults(func=_decide, action=action)
        _common(cmd)
