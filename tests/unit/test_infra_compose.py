"""The compose topology (infra/compose.yaml), validated by Docker Compose itself, then read."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.infra import INFRA, compose_binary, run

PUBLIC_HOST = "hub.example.fr"
ONE_SHOT = {"migrate", "minio-init", "kafka-init"}
BUILT = {"hub": "hub.Dockerfile", "migrate": "hub.Dockerfile", "connector": "connector.Dockerfile"}


def _compose(
    *args: str, compose_file: Path = INFRA / "compose.yaml", host: str | None = PUBLIC_HOST
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDH_")}
    if host is not None:
        env["EDH_PUBLIC_HOST"] = host
    return run(compose_binary(), "-f", str(compose_file), *args, env=env)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The compose model after interpolation and validation against the Compose spec."""
    result = _compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def test_compose_file_is_valid_and_complete(config: dict[str, Any]) -> None:
    wanted = {"proxy", "hub", "migrate", "postgres", "minio", "minio-init", "opa", "kafka"}
    assert set(config["services"]) >= wanted | {"kafka-init", "keycloak", "connector"}
    assert config["services"]["hub"]["deploy"]["replicas"] >= 2


def test_public_host_has_no_default() -> None:
    result = _compose("config", "--quiet", host=None)
    assert result.returncode != 0
    assert "EDH_PUBLIC_HOST" in result.stderr


def test_compose_rejects_an_unknown_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = (INFRA / "compose.yaml").read_text()
    broken.write_text(text.replace("  hub:\n", "  hub:\n    replicaz: 3\n", 1))
    result = _compose("config", "--quiet", compose_file=broken)
    assert result.returncode != 0 and "replicaz" in result.stderr


def test_every_image_is_pinned(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} not pinned"


def test_every_long_running_service_has_a_health_check(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart", "no") == "no", name
            continue
        if name in BUILT:
            dockerfile = (INFRA / "docker" / BUILT[name]).read_text()
            assert "HEALTHCHECK" in dockerfile, name
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_secrets_come_from_files_never_from_the_environment(config: dict[str, Any]) -> None:
    sensitive = re.compile(r"PASSWORD|SECRET|PRIVATE")
    for name, service in config["services"].items():
        for var, value in (service.get("environment") or {}).items():
            if not sensitive.search(var):
                continue
            from_file = var.startswith("FILE__") or var.endswith("_FILE")
            assert from_file, f"{name}: {var} holds a secret in the environment"
            assert (value and "/" in value) or var.endswith("_FILE"), f"{name}: {var}={value}"
    for secret in config["secrets"].values():
        assert Path(secret["file"]).parent == INFRA / "secrets"


def test_gen_secrets_creates_every_declared_secret_once(
    config: dict[str, Any], tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is required by infra/gen-secrets.sh")
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns("secrets"))
    first = run("sh", str(copy / "gen-secrets.sh"))
    assert first.returncode == 0, first.stderr
    for secret in config["secrets"].values():
        created = copy / "secrets" / Path(secret["file"]).name
        assert created.stat().st_size > 0, created.name
    password = (copy / "secrets" / "postgres_password").read_text()
    assert password.strip() in (copy / "secrets" / "hub_database_url").read_text()
    second = run("sh", str(copy / "gen-secrets.sh"))
    assert second.returncode == 0 and "created" not in second.stdout
    assert (copy / "secrets" / "postgres_password").read_text() == password


def test_only_the_proxy_and_the_connector_publish_ports(config: dict[str, Any]) -> None:
    published = {name for name, s in config["services"].items() if s.get("ports")}
    assert published == {"proxy", "connector"}
    assert config["networks"]["backend"]["internal"] is True
    for name in ("postgres", "minio", "kafka", "opa", "hub"):
        assert set(config["services"][name]["networks"]) == {"backend"}, name


def test_hub_waits_for_migrations_and_adapters(config: dict[str, Any]) -> None:
    hub = config["services"]["hub"]
    assert hub["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert config["services"]["migrate"]["command"] == ["edh", "db", "upgrade"]
    env = hub["environment"]
    assert env["EDH_POLICY__ENGINE"] == "server" and env["EDH_BUS__KIND"] == "kafka"
    assert env["EDH_STORAGE__ENDPOINT"] == f"{PUBLIC_HOST}:9443"
    assert PUBLIC_HOST in config["services"]["proxy"]["networks"]["backend"]["aliases"]
    assert "EDH_DEV_MODE" not in env or env["EDH_DEV_MODE"] == "false"


def test_containers_drop_privileges(config: dict[str, Any]) -> None:
    for name in ("proxy", "hub", "connector", "opa"):
        service = config["services"][name]
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service.get("read_only") is True, name


def test_only_the_pseudonymisation_service_holds_the_master_keys(config: dict[str, Any]) -> None:
    services = config["services"]
    holders = {name for name, s in services.items() if "pseudonymisation_secret" in _secrets(s)}
    assert holders == {"pseudonym"}
    service = services["pseudonym"]
    assert service["environment"]["EDH_PSEUDONYM__CUSTODY"] == "pkcs11"
    assert set(service["networks"]) == {"backend"} and not service.get("ports")
    for name in ("hub", "migrate"):
        env = services[name]["environment"]
        assert env["EDH_PSEUDONYM__CUSTODY"] == "remote", name
        assert env["EDH_PSEUDONYM__SERVICE__URL"] == "http://pseudonym:8010"
        assert not any("PSEUDONYMISATION" in var for var in env), name
    assert services["hub"]["depends_on"]["pseudonym"]["condition"] == "service_healthy"


def _secrets(service: dict[str, Any]) -> set[str]:
    return {s["source"] if isinstance(s, dict) else s for s in service.get("secrets") or []}
