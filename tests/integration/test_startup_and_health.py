"""Start-up refusals outside dev mode, health checks, and the JWKS endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hub.app import build_context, create_app
from hub.config import DatabaseSettings, Settings
from hub.context import HubContext
from hub.errors import ServiceUnavailable
from hub.keys import load_or_create_key


def _prod(tmp_path: Path, **over: object) -> Settings:
    return Settings(
        dev_mode=False,
        data_dir=tmp_path,
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'h.db'}"),
        **over,
    )


def test_default_secret_refuses_to_start_outside_dev_mode(tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable, match="PSEUDONYMISATION_SECRET"):
        build_context(_prod(tmp_path))


def test_missing_signing_key_refuses_to_start_outside_dev_mode(tmp_path: Path) -> None:
    settings = _prod(tmp_path, pseudonymisation_secret=SecretStr("a-real-secret-from-a-vault"))
    with pytest.raises(ServiceUnavailable, match="signing key"):
        build_context(settings)


def test_production_start_with_provisioned_key(tmp_path: Path) -> None:
    settings = _prod(tmp_path, pseudonymisation_secret=SecretStr("a-real-secret-from-a-vault"))
    load_or_create_key(settings.signing_key_path(), allow_create=True)
    ctx = build_context(settings)
    assert ctx.issuer.jwks()["keys"][0]["crv"] == "Ed25519"
    assert oct(settings.signing_key_path().stat().st_mode & 0o777) == "0o600"
    ctx.engine.dispose()


def test_settings_from_environment_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDH_DATABASE__URL", "postgresql+psycopg://hub@db/hub")
    monkeypatch.setenv("EDH_AUTH__TOKEN_TTL_SECONDS", "600")
    settings = Settings()
    assert settings.database_url() == "postgresql+psycopg://hub@db/hub"
    assert settings.auth.token_ttl_seconds == 600


def test_health_reports_each_check(client: TestClient, hub_ctx: HubContext) -> None:
    ok = client.get("/health")
    assert ok.status_code == 200 and ok.json()["checks"]["database"] == {"status": "ok"}

    def broken() -> None:
        raise ConnectionError("object store unreachable")

    hub_ctx.health_checks["object_store"] = broken
    bad = client.get("/health")
    assert bad.status_code == 503
    assert bad.json()["checks"]["object_store"]["detail"] == "object store unreachable"


def test_openapi_and_jwks_are_public(client: TestClient, hub_ctx: HubContext) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/organisations" in spec["paths"]
    assert client.get("/.well-known/jwks.json").json() == hub_ctx.issuer.jwks()


def test_app_factory_from_settings(tmp_path: Path) -> None:
    settings = Settings(dev_mode=True, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
