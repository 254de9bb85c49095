"""A validator timed in a long-lived process of its own, one pass per request.

Both sides of the validation benchmark run this way (ours here, Ralph's in
``ralph_side/validate_worker.py`` under Ralph's interpreter), so neither pays for the
other's heap: the pytest process holds what earlier benchmarks left (up to 1 GB), and a
pass run inside it paid for the garbage collector walking it.

Protocol (both workers): the worker reads the JSON Lines file named on its command line,
warms up on the first 1,000 statements, prints ``{"ready": count}``; then answers each
line ``run`` on its standard input with ``{"cpu_s": ..., "refused": ...}`` for one pass.

``python -m tests.benchmarks.validation_worker FILE`` is our side: ``validate_statements``
(the connector's strict validator) in batches of 100, as the LRS validates a POST.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from connector.errors import ConnectorError
from connector.xapi.validation import validate_statements

BATCH = 100


class ValidationWorker:
    """A worker process started with ``argv`` (see the module's protocol)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self._proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.count = int(self._reply()["ready"])

    def _reply(self) -> dict[str, Any]:
        out: IO[str] | None = self._proc.stdout
        assert out is not None
        line = out.readline()
        assert line, "the validation worker stopped"
        return dict(json.loads(line))

    def run(self) -> tuple[float, int]:
        """CPU seconds of one pass, and how many statements the validator refused."""
        stdin: IO[str] | None = self._proc.stdin
        assert stdin is not None
        stdin.write("run\n")
        stdin.flush()
        reply = self._reply()
        return float(reply["cpu_s"]), int(reply["refused"])

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def _one_pass(statements: list[dict[str, Any]]) -> tuple[float, int]:
    """CPU seconds of one pass over ``statements``, and how many batches were refused."""
    refused, started = 0, time.process_time()
    for offset in range(0, len(statements), BATCH):
        try:
            validate_statements(statements[offset : offset + BATCH], "2.0.0")
        except ConnectorError:
            refused += 1
    return time.process_time() - started, refused


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as lines:
        statements = [json.loads(line) for line in lines]
    _one_pass(statements[:1000])
    print(json.dumps({"ready": len(statements)}), flush=True)
    for command in sys.stdin:
        if command.strip() != "run":
            break
        seconds, refused = _one_pass(statements)
        print(json.dumps({"cpu_s": seconds, "refused": refused}), flush=True)


if __name__ == "__main__":
    main()
