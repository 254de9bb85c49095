"""Container images: Dockerfiles linted by hadolint, built from pyproject, non-root; the
entry point that turns secret files into settings."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.infra import INFRA, run, tool

DOCKER = INFRA / "docker"
DOCKERFILES = ["hub.Dockerfile", "connector.Dockerfile"]


def _hadolint(path: Path) -> tuple[int, str]:
    result = run(tool("hadolint"), "--config", str(INFRA / ".hadolint.yaml"), str(path))
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_passes_hadolint(name: str) -> None:
    status, report = _hadolint(DOCKER / name)
    assert status == 0, report


def test_hadolint_catches_an_unpinned_root_image(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install fastapi\nCMD python\n")
    status, report = _hadolint(bad)
    assert status != 0 and "DL3007" in report


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_is_multi_stage_pinned_and_non_root(name: str) -> None:
    text = (DOCKER / name).read_text()
    bases = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert len(bases) >= 2, "multi-stage build expected"
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert text.index(users[-1]) > text.rindex("FROM ")
    assert "COPY pyproject.toml" in text and "HEALTHCHECK" in text


def test_hub_image_has_the_hub_extra_and_connector_image_has_none() -> None:
    hub = (DOCKER / "hub.Dockerfile").read_text()
    connector = (DOCKER / "connector.Dockerfile").read_text()
    assert 'pip install ".[hub]"' in hub
    assert re.search(r"pip install \.\s*$", connector, flags=re.M)
    assert "[hub]" not in connector and "opa-golib" not in connector


@pytest.mark.parametrize("name", DOCKERFILES)
def test_build_stage_compiles_the_hot_modules_and_runtime_stays_slim(name: str) -> None:
    """The wheel's mypyc extensions (setup.py) need a C compiler and the groups listed by
    scripts/compiled.py in the build stage; the runtime stage installs no compiler."""
    build, runtime = (DOCKER / name).read_text().split("\nFROM ")[1:]
    assert re.search(r"apt-get install .*\bgcc=\S+ libc6-dev\b", build)
    assert "COPY pyproject.toml setup.py" in build and "COPY scripts/compiled.py" in build
    assert "gcc" not in runtime and "libc6-dev" not in runtime


def _entrypoint(env: dict[str, str], *command: str) -> tuple[int, str, str]:
    full_env = {"PATH": os.environ["PATH"], **env}
    result = run("sh", str(DOCKER / "entrypoint.sh"), *command, env=full_env)
    return result.returncode, result.stdout, result.stderr


def test_entrypoint_reads_secret_files_into_settings(tmp_path: Path) -> None:
    secret = tmp_path / "pseudonymisation_secret"
    secret.write_text("s3cr3t value with spaces\n")
    env = {"FILE__EDH_PSEUDONYMISATION_SECRET": str(secret), "EDH_LOG_LEVEL": "INFO"}
    status, out, err = _entrypoint(
        env,
        "sh",
        "-c",
        'printf "%s|%s" "$EDH_PSEUDONYMISATION_SECRET" '
        '"${FILE__EDH_PSEUDONYMISATION_SECRET:-gone}"',
    )
    assert status == 0, err
    assert out == "s3cr3t value with spaces|gone"


def test_entrypoint_refuses_a_missing_secret_file(tmp_path: Path) -> None:
    env = {"FILE__EDH_DATABASE__URL": str(tmp_path / "absent")}
    status, out, err = _entrypoint(env, "echo", "started")
    assert status == 64 and out == ""
    assert "EDH_DATABASE__URL" in err and "absent" in err
