"""An installed hub (non-editable wheel) finds its Rego policies without configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from hub.policy.bundle import SOURCE_POLICY_DIR, PolicyBundle

REPO = Path(__file__).resolve().parents[2]
PROBE = """
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


# pip offline and alone: no configuration file, cache or index (nothing outside the
# repository is read); the build uses the setuptools and wheel of the dev extra.
PIP = [sys.executable, "-m", "pip", "--no-cache-dir"]
OFFLINE = ["--no-index", "--no-deps", "--no-build-isolation"]
PIP_ENV = {**os.environ, "PIP_CONFIG_FILE": os.devnull}


def _build_wheel(out: Path) -> Path:
    command = [*PIP, "wheel", "-q", *OFFLINE, "-w", str(out), str(REPO)]
    subprocess.run(command, check=True, timeout=240, env=PIP_ENV)
    [wheel] = out.glob("*.whl")
    return wheel


def test_the_wheel_ships_the_policies_and_an_installed_hub_loads_them(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(n).name for n in archive.namelist() if "/share/edh/policies/" in n}
    assert shipped == {p.name for p in SOURCE_POLICY_DIR.glob("*.rego")} | {"README.md"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # --ignore-installed: never uninstall the editable install of the running environment.
    install = [*PIP, "install", "-q", *OFFLINE, "--ignore-installed", "--prefix", str(venv)]
    subprocess.run([*install, str(wheel)], check=True, timeout=120, env=PIP_ENV)
    [site] = (venv / "lib").glob("python3*/site-packages")
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")  # the dependencies
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDH_")}
    probe = [str(venv / "bin" / "python"), "-c", PROBE]
    out = subprocess.run(probe, check=True, capture_output=True, text=True, cwd=tmp_path, env=env)
    module, policies, digest, allowed = out.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(policies) == venv / "share" / "edh" / "policies"
    assert (digest, allowed) == (PolicyBundle.load().hash, "True")
