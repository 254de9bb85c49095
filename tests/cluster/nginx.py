"""Render the shipped ``infra/proxy/nginx.conf`` for loopback, keeping its logic.

Only names and places change: the Docker DNS upstreams become loopback ports (no resolver),
paths under ``/tmp`` and ``/run/secrets`` move into the run directory, the listening ports
are free ones, and ``http2 on;`` becomes the ``listen ... http2`` form Debian's nginx 1.22
understands. The identity provider upstream points at a closed port (no Keycloak here).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.browser import free_port

OPENSSL_REQ = [
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl): ``(cert, key)``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [*OPENSSL_REQ, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def _servers(ports: list[int], options: str) -> str:
    return "".join(f"server 127.0.0.1:{p}{options};\n    " for p in ports).rstrip()


def render_nginx(
    shipped: Path,
    prefix: Path,
    hub_ports: list[int],
    object_port: int,
    listen: tuple[int, int],
    tls: tuple[Path, Path],
) -> Path:
    """Write the loopback rendering of ``shipped`` under ``prefix``; return its path."""
    prefix.mkdir(parents=True, exist_ok=True)
    text = shipped.read_text()
    text = re.sub(r"\n\s*resolver [^;]*;", "", text)
    text = text.replace(
        "server hub:8000 resolve max_fails=3 fail_timeout=10s;",
        _servers(hub_ports, " max_fails=3 fail_timeout=10s"),
    )
    text = text.replace("server keycloak:8080 resolve;", _servers([free_port()], ""))
    text = text.replace("server minio:9000 resolve;", _servers([object_port], ""))
    text = text.replace("/tmp/", f"{prefix}/")
    text = text.replace("/dev/stdout", f"{prefix}/access.log")
    text = text.replace("/dev/stderr", f"{prefix}/error.log")
    text = text.replace("/run/secrets/tls_cert", str(tls[0]))
    text = text.replace("/run/secrets/tls_key", str(tls[1]))
    for shipped_port, port in zip(("8443", "9443"), listen, strict=True):
        shipped_listen = f"listen {shipped_port} ssl;\n    http2 on;"
        text = text.replace(shipped_listen, f"listen 127.0.0.1:{port} ssl http2;")
    text = "worker_processes 1;\n" + text.replace("worker_processes auto;\n", "")
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf
