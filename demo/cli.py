"""The ``edh-demo`` command: seed a demo on embedded defaults, print what to open, serve it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edh-demo", description="seed a demo on embedded defaults and serve it"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", default=".edh-demo")
    parser.add_argument("--no-serve", action="store_true", help="seed and print, then exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``edh-demo``; exit status 0 once seeded (and served, unless --no-serve)."""
    from demo.seed import run_demo

    args = build_parser().parse_args(argv)
    return run_demo(host=args.host, port=args.port, data_dir=args.data_dir, serve=not args.no_serve)
