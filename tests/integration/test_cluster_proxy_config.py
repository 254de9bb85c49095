"""The cluster harness's nginx configuration is the shipped one, rendered for loopback:
nginx accepts it, and every routing and security rule of ``infra/proxy/nginx.conf`` is kept."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cluster.nginx import render_nginx, self_signed
from tests.cluster.topology import REPO

SHIPPED = REPO / "infra" / "proxy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _rules(text: str) -> set[str]:
    """The shipped directives that must survive rendering (not names, paths or ports)."""
    keep = ("location", "return", "proxy_", "add_header", "client_max_body_size", "ssl_p")
    lines = (line.strip() for line in text.splitlines())
    return {line for line in lines if line.startswith(keep) and "_temp_path" not in line}


@pytest.mark.skipif(not Path(NGINX).exists(), reason="scripts/test-services.sh installs nginx")
def test_rendered_shipped_config_is_valid_and_keeps_every_rule(tmp_path: Path) -> None:
    conf = render_nginx(
        SHIPPED,
        tmp_path / "nginx",
        hub_ports=[18001, 18002, 18003],
        object_port=18004,
        listen=(18443, 19443),
        tls=self_signed(tmp_path / "tls"),
    )
    text = conf.read_text()
    assert _rules(SHIPPED.read_text()) <= _rules(text)
    assert re.findall(r"server 127\.0\.0\.1:(\d+) max_fails=3 fail_timeout=10s;", text) == [
        "18001",
        "18002",
        "18003",
    ]
    assert text.count("/tmp/") == text.count(f"{tmp_path}/")  # every path is in the run dir
    assert "/run/secrets" not in text and "resolve;" not in text and "resolver 127" not in text
    check = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path / "nginx")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
