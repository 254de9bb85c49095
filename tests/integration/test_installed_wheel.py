"""An installed wheel (non-editable), built from the checkout as ``pip install .`` builds it:
the hub finds its Rego policies without configuration, and the connector pipeline's hot
modules run compiled (mypyc, ``setup.py``) and give the pinned lake output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.policy.bundle import SOURCE_POLICY_DIR, PolicyBundle
from tests.support.compiled import load

REPO = Path(__file__).resolve().parents[2]
BUILD = load()
POLICY_PROBE = """
import hub
from hub.policy.bundle import PolicyBundle, default_policy_dir
from hub.policy.inprocess import InProcessPolicyEngine
bundle = PolicyBundle.load()
subject = {"sub": "dpo-1", "role": "dpo", "org": None}
decision = InProcessPolicyEngine(bundle).decide(
    "edh/audit/read", {"subject": subject, "today": "2026-01-01"}
)
print(hub.__file__, default_policy_dir(), bundle.hash, decision.allow, sep="\\n")
"""
# The checkout last on the path, for the pinned output's test module only: the packages
# are the installed ones.
PIPELINE_PROBE = f"""
import importlib, sys
sys.path.append({str(REPO)!r})
import orjson
from tests.unit.test_pipeline_output_unchanged import DIGESTS, outputs
for name in {list(map(BUILD.module_of, BUILD.MODULES))!r}:
    print(importlib.import_module(name).__file__)
found = orjson.loads(orjson.dumps(outputs()))
print(found == orjson.loads(DIGESTS.read_bytes()))
"""


# pip offline and alone: no configuration file, cache or index (nothing outside the
# repository is read); the build uses the setuptools, wheel and mypy of the dev extra.
PIP = [sys.executable, "-m", "pip", "--no-cache-dir"]
OFFLINE = ["--no-index", "--no-deps", "--no-build-isolation"]
PIP_ENV = {**os.environ, "PIP_CONFIG_FILE": os.devnull}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    site: Path

    def run(self, code: str, cwd: Path) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDH_")}
        probe = [str(self.venv / "bin" / "python"), "-c", code]
        done = subprocess.run(probe, check=True, capture_output=True, text=True, cwd=cwd, env=env)
        return done.stdout


def _copy_checkout(target: Path) -> None:
    """The checkout's files as a fresh clone has them, with their uncommitted changes: no
    compiled module, build directory or venv (and no other build's files to race with)."""
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(command, cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (REPO / name).is_file():  # not a tracked file deleted since
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel built once from a copy of the checkout, installed into a fresh venv whose
    dependencies are the dev environment's (a path file)."""
    tmp = tmp_path_factory.mktemp("wheel")
    _copy_checkout(tmp / "src")
    command = [*PIP, "wheel", "-q", *OFFLINE, "-w", str(tmp / "dist"), str(tmp / "src")]
    subprocess.run(command, check=True, timeout=240, env=PIP_ENV)
    [wheel] = (tmp / "dist").glob("*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # --ignore-installed: never uninstall the editable install of the running environment.
    install = [*PIP, "install", "-q", *OFFLINE, "--ignore-installed", "--prefix", str(venv)]
    subprocess.run([*install, str(wheel)], check=True, timeout=120, env=PIP_ENV)
    [site] = (venv / "lib").glob("python3*/site-packages")
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")  # the dependencies
    return Installed(wheel, venv, site)


def test_the_wheel_ships_the_policies_and_an_installed_hub_loads_them(
    installed: Installed, tmp_path: Path
) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        shipped = {Path(n).name for n in archive.namelist() if "/share/edh/policies/" in n}
    assert shipped == {p.name for p in SOURCE_POLICY_DIR.glob("*.rego")} | {"README.md"}
    module, policies, digest, allowed = installed.run(POLICY_PROBE, tmp_path).split()
    assert Path(module).is_relative_to(installed.site)
    assert Path(policies) == installed.venv / "share" / "edh" / "policies"
    assert (digest, allowed) == (PolicyBundle.load().hash, "True")


def test_the_installed_pipeline_runs_compiled_and_gives_the_pinned_output(
    installed: Installed, tmp_path: Path
) -> None:
    """Compiled where a C compiler is (CI has one; pure Python otherwise): the same rows."""
    compiler = shutil.which(sysconfig.get_config_var("CC").split()[0])
    *files, same = installed.run(PIPELINE_PROBE, tmp_path).split()
    expected = [BUILD.extension_of(s) if compiler else Path(s) for s in BUILD.MODULES]
    # By name: mypyc gives a module its group's directory joined with its own path.
    assert [Path(f).name for f in files] == [p.name for p in expected]
    assert all(Path(f).is_relative_to(installed.site) for f in files)
    with zipfile.ZipFile(installed.wheel) as archive:
        libraries = {Path(n).name for n in archive.namelist() if "__mypyc" in n}
    assert libraries == ({p.name for p in BUILD.libraries()} if compiler else set())
    assert same == "True"
