"""Ralph (``ralph-malph``), the peer LRS the xAPI benchmarks measure in the same run.

Ralph's pins differ from ours, so it runs in a side environment of its own under
``.peers/`` (git-ignored) at the exact versions of ``ralph_side/constraints.txt``, built
with pip by ``scripts/test.sh`` before any test runs (``python -m tests.benchmarks.ralph``:
installing is set-up, not a test, and reads the machine's package index), then reused.
Our code never imports it: the scripts in ``ralph_side/`` run under its interpreter and
report what they measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.benchmarks.validation_worker import ValidationWorker
from tests.support.browser import free_port
from tests.support.processes import serving

VERSION = "5.1.0"
SIDE = Path(__file__).resolve().parent / "ralph_side"
ROOT = Path(__file__).resolve().parents[2]
ENV_DIR = ROOT / ".peers" / f"ralph-malph-{VERSION}"
USER, PASSWORD = "bench", "bench-secret"


INTERPRETER, STAMP = ENV_DIR / "bin" / "python", ENV_DIR / ".complete"


def build() -> None:
    """Build Ralph's side environment unless it is complete (idempotent)."""
    if STAMP.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(ENV_DIR)], check=True)
    subprocess.run(
        [str(INTERPRETER), "-m", "pip", "install", "-q", "-c", str(SIDE / "constraints.txt"),
         f"ralph-malph[lrs,cli]=={VERSION}", "requests"],
        check=True,
    )  # fmt: skip
    STAMP.touch()


def python() -> Path:
    """Ralph's interpreter (fails when its environment was not built: see :func:`build`)."""
    assert STAMP.exists(), "Ralph's side environment is missing: run scripts/test.sh first"
    return INTERPRETER


def write_jsonl(statements: list[dict[str, Any]], path: Path) -> Path:
    """``statements`` as JSON Lines at ``path`` (what Ralph's side reads)."""
    path.write_text("".join(json.dumps(s) + "\n" for s in statements), encoding="utf-8")
    return path


def validation(jsonl: Path) -> ValidationWorker:
    """Ralph's strict validation in a long-lived process of its own
    (``ralph_side/validate_worker.py``): each ``run`` is one timed pass over ``jsonl``."""
    return ValidationWorker([str(python()), str(SIDE / "validate_worker.py"), str(jsonl)])


@contextmanager
def serve(data_dir: Path) -> Iterator[tuple[str, int]]:
    """Ralph's LRS on a free loopback port over ``data_dir``: its statements URL, its pid."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RALPH_APP_DIR": str(data_dir / "app"),
        "RALPH_AUTH_FILE": str(data_dir / "auth.json"),
        "RALPH_RUNSERVER_AUTH_BACKENDS": "basic",
        "RALPH_RUNSERVER_BACKEND": "fs",
    }
    ralph = python()
    subprocess.run(
        [str(ralph.parent / "ralph"), "auth", "-u", USER, "-p", PASSWORD, "-s", "all",
         "-M", "mailto:bench@example.org", "-w"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    command = [str(ralph), str(SIDE / "serve.py"), str(data_dir / "lrs"), str(port)]
    ready = f"http://127.0.0.1:{port}/__lbheartbeat__"
    with serving(command, env, ready, timeout=60, interval=0.2) as proc:
        yield f"http://127.0.0.1:{port}/xAPI/statements", proc.pid


if __name__ == "__main__":
    build()
