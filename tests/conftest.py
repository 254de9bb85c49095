"""Shared fixtures: the hub on SQLite and on the real PostgreSQL, clients and tokens."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.context import HubContext
from tests.support import pg
from tests.support.factories import make_context

pytest_plugins = [
    "tests.support.outside_reads",
    "tests.support.browser",
    "tests.support.contracts_fixtures",
    "tests.support.dsp_peer",
    "tests.support.connector_fixtures",
    "tests.support.ingest_fixtures",
    "tests.support.audit_fixtures",
    "tests.support.sandbox_fixtures",
    "tests.support.policy_fixtures",
    "tests.support.compiled",
]

# Tests drive the audit scheduler's ticks themselves (tests/*/test_audit_schedule_*.py);
# apps and hubs started by other tests do not run it in the background.
os.environ.setdefault("EDH_AUDIT__SCHEDULER_ENABLED", "false")
# Sandbox jobs end on a fast release grid in tests (the default hides run times behind a
# 10 s minimum); the timing tests set the production-like grid themselves.
os.environ.setdefault("EDH_SANDBOX__RELEASE_TICK_S", "0.05")
os.environ.setdefault("EDH_SANDBOX__RELEASE_MIN_S", "0")

# 22,000 real statements shipped with the tests (licence and provenance: tests/data/xapi/).
SAMPLE_STATEMENTS = (
    Path(__file__).resolve().parent / "data" / "xapi" / "fun-mooc-video-statements.jsonl.gz"
)


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database migrated once, used as the template of per-test databases."""
    name = pg.create_database()
    ctx = make_context(pg.sqlalchemy_url(name), tmp_path_factory.mktemp("pg-template"))
    ctx.engine.dispose()
    yield name
    pg.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each persistence test runs on the SQLite default and on the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite3'}"
        return
    template = request.getfixturevalue("pg_template")
    with pg.fresh_database(template) as name:
        yield pg.sqlalchemy_url(name)


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for tests that are about PostgreSQL only)."""
    with pg.fresh_database() as name:
        yield pg.sqlalchemy_url(name)


@pytest.fixture
def hub_ctx(db_url: str, tmp_path: Path) -> Iterator[HubContext]:
    ctx = make_context(db_url, tmp_path)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture
def client(hub_ctx: HubContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=hub_ctx), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token(hub_ctx: HubContext) -> Callable[..., str]:
    """``token("operator", sub="alice", org=None)`` mints a valid token."""

    def mint(
        *roles: str, sub: str = "tester", org: str | None = None, ttl: int | None = None
    ) -> str:
        return hub_ctx.issuer.mint(sub, list(roles), org=org, ttl=ttl)

    return mint


@pytest.fixture
def auth(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """``auth("operator")`` → an Authorization header."""

    def headers(*roles: str, sub: str = "tester", org: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(*roles, sub=sub, org=org)}"}

    return headers
