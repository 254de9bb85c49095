"""The ``edh-connector`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edh-connector", description="Education Data Hub connector"
    )
    parser.add_subparsers(dest="command", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``edh-connector``."""
    args = build_parser().parse_args(argv)
    return int(bool(args.command is None))


if __name__ == "__main__":
    sys.exit(main())
