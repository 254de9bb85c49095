"""Ralph's strict xAPI validation, timed inside Ralph's own interpreter.

Reads a JSON Lines file named on the command line, then answers each line ``run`` on
standard input with the CPU seconds one pass of ``BaseXapiStatement`` over every
statement took (its strict base model: what a statement must be to enter an LRS).
Statements it refuses are counted, so both sides are seen to do the same work.
"""

from __future__ import annotations

import json
import sys
import time

from ralph.models.xapi.base.statements import BaseXapiStatement


def one_pass(statements: list[dict[str, object]]) -> tuple[float, int]:
    refused, started = 0, time.process_time()
    for statement in statements:
        try:
            BaseXapiStatement(**statement)
        except ValueError:
            refused += 1
    return time.process_time() - started, refused


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as lines:
        statements = [json.loads(line) for line in lines]
    one_pass(statements[:1000])  # warm-up, as on our side
    print(json.dumps({"ready": len(statements)}), flush=True)
    for command in sys.stdin:
        if command.strip() != "run":
            break
        seconds, refused = one_pass(statements)
        print(json.dumps({"cpu_s": seconds, "refused": refused}), flush=True)


if __name__ == "__main__":
    main()
