"""Signed upload URLs never reach a log: a real upload to a real ``edh serve`` process,
its whole output captured, and the connector's HTTP log, are searched for the signature."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from connector.pipeline.client import HubRefused
from contracts.batch_manifest import sign_manifest
from contracts.redaction import redact_urls
from tests.support.ingest_batches import presigned
from tests.support.ingest_cli import prepared_hub, start_hub


def test_signed_upload_url_is_in_no_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hub_dir = tmp_path / "hub"
    url = f"sqlite:///{hub_dir / 'hub.sqlite3'}"
    setup, env, port = prepared_hub(url, hub_dir, EDH_LOG_LEVEL="INFO")
    log = tmp_path / "hub.log"
    hub = start_hub(port, env, log)
    caplog.set_level(logging.INFO)
    try:
        ship = presigned(setup)
        ship.upload_all()
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
        )
        with pytest.raises(HubRefused):  # the reused URL is refused, and logged too
            ship.upload_all()
    finally:
        hub.terminate()
        hub.wait(timeout=30)
        setup.ctx.engine.dispose()
    upload_url = ship.grant["uploads"][0]["url"]
    signature = parse_qs(urlsplit(upload_url).query)["signature"][0]
    path = urlsplit(upload_url).path
    hub_output = log.read_text()
    connector_output = caplog.text
    assert hub_output.count(path) >= 2  # the upload and the refused reuse were logged...
    assert path in connector_output
    for output in (hub_output, connector_output):  # ...without their signature
        assert signature not in output
        assert "expires=" not in output
    assert redact_urls(upload_url) == upload_url.split("?")[0] + "?<redacted>"
