"""Start-up refusals outside dev mode, health checks, and the JWKS endpoint."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hub.app import build_context, create_app, hub_key_files
from hub.config import DEV_HUB_SECRET, DatabaseSettings, Settings
from hub.context import HubContext
from hub.errors import ServiceUnavailable
from hub.keys import is_held, load_or_create_key
from hub.pseudonym.server import check_service_settings, create_service_app
from hub.secrets import SANDBOX_PROJECT_LABEL, UPLOAD_URL_LABEL, derive_key, weakness
from hub.settings.pseudonym import DEV_SERVICE_TOKEN, PseudonymServiceSettings, PseudonymSettings
from hub.storage.factory import upload_secret
from hub.trail.checkpoints import load_signer

Auth = Callable[..., dict[str, str]]


STRONG = SecretStr(secrets.token_hex(32))
OTHER_STRONG = SecretStr(secrets.token_urlsafe(32))


SERVICE_TOKEN = SecretStr(secrets.token_hex(32))


def _remote(token: SecretStr = SERVICE_TOKEN) -> PseudonymSettings:
    return PseudonymSettings(custody="remote", service=PseudonymServiceSettings(token=token))


def _prod(tmp_path: Path, **over: object) -> Settings:
    fields: dict[str, object] = {
        "pseudonym": _remote(),
        "hub_secret": OTHER_STRONG,
        **over,
    }
    return Settings(
        dev_mode=False,
        data_dir=tmp_path,
        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'h.db'}"),
        **fields,
    )


def _provision_keys(settings: Settings, *skip: str) -> None:
    for name, (_, path) in hub_key_files(settings).items():
        if name not in skip:
            load_or_create_key(path, allow_create=True)


def test_default_secret_refuses_to_start_outside_dev_mode(tmp_path: Path) -> None:
    settings = _prod(tmp_path, pseudonym=_remote(SecretStr(DEV_SERVICE_TOKEN)))
    with pytest.raises(ServiceUnavailable, match="EDH_PSEUDONYM__SERVICE__TOKEN is the devel"):
        build_context(settings)
    with pytest.raises(ServiceUnavailable, match="EDH_HUB_SECRET is the devel"):
        build_context(_prod(tmp_path, hub_secret=SecretStr(DEV_HUB_SECRET)))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "shorter than 32 bytes"),
        ("a-real-secret-from-a-vault", "shorter than 32 bytes"),
        pytest.param(secrets.token_hex(15), "shorter than 32 bytes", id="random-30-hex"),
        ("a" * 64, "low entropy"),
        ("password" * 8, "low entropy"),
        ("0123456789" * 4, "low entropy"),
    ],
)
def test_weak_secrets_refuse_to_start_naming_the_setting(
    tmp_path: Path, value: str, why: str
) -> None:
    for setting, over in (
        ("EDH_PSEUDONYM__SERVICE__TOKEN", {"pseudonym": _remote(SecretStr(value))}),
        ("EDH_HUB_SECRET", {"hub_secret": SecretStr(value)}),
    ):
        with pytest.raises(ServiceUnavailable, match=f"{setting} is refused") as refused:
            build_context(_prod(tmp_path, **over))
        assert why in refused.value.detail
        assert not value or value not in refused.value.detail


@pytest.mark.parametrize("custody", ["inprocess", "pkcs11"])
def test_the_hub_refuses_master_key_custody_outside_dev_mode(tmp_path: Path, custody: str) -> None:
    settings = _prod(
        tmp_path,
        pseudonym=PseudonymSettings(custody=custody),  # type: ignore[arg-type]
        pseudonymisation_secret=STRONG,
    )
    with pytest.raises(ServiceUnavailable, match="the hub holds no master key"):
        build_context(settings)


@pytest.mark.parametrize("master", ["", "short", None], ids=["empty", "short", "dev-default"])
def test_the_service_refuses_in_process_master_keys_outside_dev_mode(
    tmp_path: Path, master: str | None
) -> None:
    over = {} if master is None else {"pseudonymisation_secret": SecretStr(master)}
    settings = _prod(tmp_path, pseudonym=PseudonymSettings(custody="inprocess"), **over)
    with pytest.raises(ServiceUnavailable, match="CUSTODY=inprocess is development only"):
        create_service_app(settings)
    dev = settings.model_copy(update={"dev_mode": True})
    check_service_settings(dev)  # the trial's embedded custody still starts


def test_generated_secrets_pass_the_strength_check() -> None:
    for _ in range(50):
        assert weakness(secrets.token_hex(32)) is None
        assert weakness(secrets.token_urlsafe(32)) is None
        assert weakness(base64.b64encode(secrets.token_bytes(32)).decode()) is None


@pytest.mark.parametrize(
    ("missing", "setting"),
    [
        ("issuer", "EDH_AUTH__SIGNING_KEY_FILE"),
        ("audit", "EDH_AUDIT__KEY_FILE"),
        ("contracts", "EDH_CONTRACTS__HUB_KEY_FILE"),
    ],
)
def test_each_missing_key_refuses_to_start_naming_setting_and_file(
    tmp_path: Path, missing: str, setting: str
) -> None:
    settings = _prod(tmp_path)
    _provision_keys(settings, missing)
    _, path = hub_key_files(settings)[missing]
    with pytest.raises(ServiceUnavailable, match=setting) as refused:
        build_context(settings)
    assert str(path) in refused.value.detail and "missing" in refused.value.detail


def test_a_key_file_that_is_not_a_key_refuses_to_start(tmp_path: Path) -> None:
    settings = _prod(tmp_path)
    _provision_keys(settings, "audit")
    _, path = hub_key_files(settings)["audit"]
    path.write_text("not a key")
    with pytest.raises(ServiceUnavailable, match=r"EDH_AUDIT__KEY_FILE: .* not a readable"):
        build_context(settings)


def test_production_start_with_provisioned_keys(tmp_path: Path) -> None:
    settings = _prod(tmp_path)
    _provision_keys(settings)
    ctx = build_context(settings)
    assert ctx.issuer.jwks()["keys"][0]["crv"] == "Ed25519"
    assert oct(settings.signing_key_path().stat().st_mode & 0o777) == "0o600"
    for name, (_, path) in hub_key_files(settings).items():
        assert is_held(path), name
        path.unlink()  # held in memory: signing goes on without the file
    assert load_signer(settings).sign({"probe": 1})
    with TestClient(create_app(context=ctx)) as client:
        health = client.get("/health").json()
    assert {f"key:{n}": {"status": "ok"} for n in ("issuer", "audit", "contracts")}.items() <= (
        health["checks"].items()
    )
    ctx.engine.dispose()


def test_upload_and_sandbox_keys_are_derived_apart_from_the_hub_secret() -> None:
    settings = Settings(hub_secret=OTHER_STRONG)
    upload = upload_secret(settings)
    sandbox = derive_key(settings.hub_secret, SANDBOX_PROJECT_LABEL)
    raw = OTHER_STRONG.get_secret_value().encode()
    assert len({upload, sandbox, raw}) == 3 and len(upload) == len(sandbox) == 32
    assert upload == derive_key(SecretStr(OTHER_STRONG.get_secret_value()), UPLOAD_URL_LABEL)
    assert upload != upload_secret(Settings(hub_secret=STRONG))
    # the pseudonymisation secret keys neither
    assert upload_secret(Settings(hub_secret=OTHER_STRONG, pseudonymisation_secret=STRONG)) == (
        upload
    )


def test_settings_from_environment_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDH_DATABASE__URL", "postgresql+psycopg://hub@db/hub")
    monkeypatch.setenv("EDH_AUTH__TOKEN_TTL_SECONDS", "600")
    settings = Settings()
    assert settings.database_url() == "postgresql+psycopg://hub@db/hub"
    assert settings.auth.token_ttl_seconds == 600


def test_health_reports_each_check(client: TestClient, hub_ctx: HubContext, auth: Auth) -> None:
    ok = client.get("/health")
    assert ok.status_code == 200 and ok.json()["checks"]["database"] == {"status": "ok"}

    def broken() -> None:
        raise ConnectionError("object store unreachable at s3://secret-bucket")

    hub_ctx.health_checks["object_store"] = broken
    bad = client.get("/health")
    assert bad.status_code == 503
    assert bad.json()["status"] == "degraded"
    assert bad.json()["checks"]["object_store"] == {"status": "degraded"}
    assert "secret-bucket" not in bad.text
    detailed = client.get("/api/v1/system/health", headers=auth("operator"))
    assert detailed.status_code == 503
    assert "unreachable" in detailed.json()["checks"]["object_store"]["detail"]
    for who in ({}, auth("dpo"), auth("researcher")):
        refused = client.get("/api/v1/system/health", headers=who)
        assert refused.status_code in (401, 403) and "secret-bucket" not in refused.text


def test_openapi_and_jwks_are_public(client: TestClient, hub_ctx: HubContext) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/organisations" in spec["paths"]
    assert client.get("/.well-known/jwks.json").json() == hub_ctx.issuer.jwks()


def test_app_factory_from_settings(tmp_path: Path) -> None:
    settings = Settings(dev_mode=True, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
