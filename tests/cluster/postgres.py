"""The harness's own PostgreSQL cluster (``initdb`` in the run directory, its own port), so
the chaos driver may kill its postmaster without touching the machine's shared server."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

OWNER = "postgres"  # PostgreSQL refuses to run as root


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/lib/postgresql/15/bin")
    if found is None:
        raise RuntimeError(f"{name} not found (PostgreSQL server binaries)")
    return found


def init_cluster(data: Path) -> None:
    """``initdb`` a cluster in ``data`` owned by ``OWNER`` (trust authentication, loopback)."""
    owner = pwd.getpwnam(OWNER)
    data.mkdir(mode=0o700, parents=True)
    os.chown(data, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        [_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        user=OWNER,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd=data,
        check=True,
        capture_output=True,
    )


def server_argv(data: Path, port: int) -> list[str]:
    """The postmaster of the cluster in ``data``, on loopback ``port``. ``fsync=off``: the
    driver kills processes, not the machine, so the page cache survives every kill."""
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(data),
        "max_connections": "300",
        "fsync": "off",
        "logging_collector": "off",
    }
    options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
    return [_binary("postgres"), "-D", str(data), "-p", str(port), *options]


def create_database(port: int, name: str) -> str:
    """Create database ``name`` once the server accepts sessions; its SQLAlchemy URL."""
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    for _ in range(60):
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"
        except psycopg.OperationalError:  # still starting up
            time.sleep(0.5)
    raise RuntimeError("the cluster's PostgreSQL does not accept sessions")
