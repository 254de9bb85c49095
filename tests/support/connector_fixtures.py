"""Fixtures of the connector's xAPI endpoint: settings, spool, an authenticated client."""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connector.config import ConnectorSettings, XapiSettings
from connector.spool import Spool
from connector.xapi.app import create_app
from tests.conftest import SAMPLE_STATEMENTS
from tests.support.browser import free_port
from tests.support.processes import serving

XAPI_KEY, XAPI_SECRET = "vendor-key", "vendor-secret-for-tests"


def basic(key: str, secret: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@pytest.fixture
def connector_settings(tmp_path: Path) -> ConnectorSettings:
    return ConnectorSettings(
        data_dir=tmp_path / "connector",
        xapi=XapiSettings(key=XAPI_KEY, secret=XAPI_SECRET, max_body_bytes=2 * 1024 * 1024),
    )


@pytest.fixture
def spool(connector_settings: ConnectorSettings) -> Iterator[Spool]:
    store = Spool(connector_settings.spool_path)
    yield store
    store.close()


@pytest.fixture(params=["1.0.3", "2.0.0"])
def xapi_version(request: pytest.FixtureRequest) -> str:
    """Both xAPI versions the endpoint speaks."""
    return str(request.param)


@pytest.fixture
def xapi_headers(xapi_version: str) -> dict[str, str]:
    return {
        "Authorization": basic(XAPI_KEY, XAPI_SECRET),
        "X-Experience-API-Version": xapi_version,
    }


@pytest.fixture
def xapi(
    connector_settings: ConnectorSettings, spool: Spool, xapi_headers: dict[str, str]
) -> Iterator[TestClient]:
    """A client of the LRS over ``spool``, sending valid credentials and version."""
    app = create_app(connector_settings, spool)
    with TestClient(app, raise_server_exceptions=False, headers=xapi_headers) as client:
        yield client


@pytest.fixture(scope="session")
def sample_statements() -> list[dict[str, Any]]:
    """The 22,000 real statements of the shared sample."""
    with gzip.open(SAMPLE_STATEMENTS, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def connector_env(data_dir: Path, key: str, secret: str) -> dict[str, str]:
    """Environment of an ``edh-connector`` process on ``data_dir`` and a free port."""
    return {
        **os.environ,
        "EDH_CONNECTOR_DATA_DIR": str(data_dir),
        "EDH_CONNECTOR_XAPI__KEY": key,
        "EDH_CONNECTOR_XAPI__SECRET": secret,
        "EDH_CONNECTOR_XAPI__PORT": str(free_port()),
    }


@contextmanager
def serve_connector(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Run ``edh-connector run`` with ``env``; yield its ``/xapi`` URL and process id."""
    url = f"http://127.0.0.1:{env['EDH_CONNECTOR_XAPI__PORT']}/xapi"
    command = [sys.executable, "-m", "connector.cli", "run"]
    with serving(command, env, f"{url}/about", timeout=30, interval=0.1) as proc:
        yield url, proc.pid
