"""The ``edh`` and ``edh-demo`` command lines: demo, token, db upgrade, audit verify, bad use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt

from hub.app import create_app
from hub.web.labels import ROLES as ROLE_LABELS
from tests.support.factories import make_context
from tests.support.routes import page_routes

EDH = [sys.executable, "-m", "hub"]
DEMO = [sys.executable, "-m", "demo"]


def _run(
    args: list[str], tmp_path: Path, command: list[str] = EDH, **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "EDH_DEV_MODE": "true", "EDH_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=full_env, timeout=120, check=False
    )


def web_sections(tmp_path: Path) -> set[str]:
    """The first path segment of every web page of the hub (``/`` for the home page)."""
    ctx = make_context(f"sqlite:///{tmp_path / 'routes.sqlite3'}", tmp_path / "routes")
    try:
        pages = page_routes(create_app(context=ctx))
    finally:
        ctx.engine.dispose()
    return {"/" + page.path.split("/")[1] for page in pages}


def test_demo_seeds_and_prints_what_to_open(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    first = _run(["--no-serve", "--data-dir", str(data)], tmp_path, DEMO)
    assert first.returncode == 0, first.stderr
    sections = web_sections(tmp_path)
    assert {"/", "/login", "/review", "/audit", "/research", "/controle-sorties"} <= sections
    for path in sections | {"/health"}:
        assert f"http://127.0.0.1:8000{path}\n" in first.stdout, path
    for role in ROLE_LABELS.values():  # a token for every role a person signs in with
        assert role == "connecteur" or f"jeton {role} " in first.stdout, role
    assert "valables 60 min, jusqu'au " in first.stdout  # the tokens' expiry
    assert ", heure de Paris) :" in first.stdout
    assert "traces simulées poussées" in first.stdout  # the connector filled the lake
    assert "état              : terminée" in first.stdout  # the researcher query ran
    assert "diffusion         : bruit calibré" in first.stdout  # released under DP
    for english in ("succeeded", "FINALIZED", "jeton operator", "job "):
        assert english not in first.stdout, english
    second = _run(["--no-serve", "--data-dir", str(data)], tmp_path, DEMO)
    assert second.returncode == 0, second.stderr  # seeding is idempotent
    verify = _run(["audit", "verify"], data)
    assert verify.returncode == 0 and "audit chain OK" in verify.stdout


def test_token_is_minted_for_the_requested_role(tmp_path: Path) -> None:
    out = _run(["token", "--role", "dpo", "--sub", "dpo.1"], tmp_path)
    assert out.returncode == 0, out.stderr
    claims = jwt.decode(out.stdout.strip(), options={"verify_signature": False})
    assert claims["sub"] == "dpo.1" and claims["roles"] == ["dpo"]


def test_token_minting_is_audited_without_the_token(tmp_path: Path) -> None:
    import sqlite3

    out = _run(["token", "--role", "operator", "--sub", "op.1", "--ttl", "600"], tmp_path)
    assert out.returncode == 0, out.stderr
    claims = jwt.decode(out.stdout.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600
    with sqlite3.connect(tmp_path / "hub.sqlite3") as conn:
        rows = conn.execute(
            "SELECT actor_sub, resource_id, details FROM audit_event "
            "WHERE action = 'auth.token.minted'"
        ).fetchall()
    assert [(sub.startswith("cli:"), jti) for sub, jti, _ in rows] == [(True, claims["jti"])]
    assert '"op.1"' in rows[0][2] and out.stdout.strip() not in rows[0][2]


def test_token_lifetime_is_capped(tmp_path: Path) -> None:
    for ttl in ("86401", "0", "-120"):
        out = _run(["token", "--role", "operator", "--sub", "op", "--ttl", ttl], tmp_path)
        assert out.returncode == 2 and "lifetime must be 60..86400" in out.stderr, ttl
        assert out.stdout == ""


def test_token_is_refused_outside_dev_mode(tmp_path: Path) -> None:
    out = _run(["token", "--role", "operator", "--sub", "op"], tmp_path, EDH_DEV_MODE="false")
    assert out.returncode == 2 and "dev mode only" in out.stderr
    assert out.stdout == "" and not (tmp_path / "hub.sqlite3").exists()


def test_unknown_role_is_a_clear_error(tmp_path: Path) -> None:
    out = _run(["token", "--role", "root", "--sub", "x"], tmp_path)
    assert out.returncode == 2 and "unknown roles: root" in out.stderr


def test_audit_verify_fails_on_tampering(tmp_path: Path) -> None:
    import sqlite3

    assert _run(["--no-serve", "--data-dir", str(tmp_path)], tmp_path, DEMO).returncode == 0
    with sqlite3.connect(tmp_path / "hub.sqlite3") as conn:
        conn.execute("UPDATE audit_event SET action = 'nothing' WHERE seq = 2")
    out = _run(["audit", "verify"], tmp_path)
    assert out.returncode == 1 and "seq 2: modified" in out.stdout


def test_db_upgrade_and_usage_error(tmp_path: Path) -> None:
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    bad = _run(["frobnicate"], tmp_path)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_serve_starts_the_hub_and_logs_json(tmp_path: Path) -> None:
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "EDH_DEV_MODE": "true", "EDH_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [*EDH, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    assert json.load(resp)["status"] == "ok"
                    break
            except OSError:
                assert time.monotonic() < deadline, "edh serve did not answer"
                time.sleep(0.2)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "hub.access"]
    assert access and access[0]["path"] == "/health" and access[0]["status"] == 200
