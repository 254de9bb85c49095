"""The hub, as a data-space consumer, calls only providers on the operator's trust list, at
the host of their did:web: a caller cannot make it send a request to an address of its
choice (found by the API fuzzer: an unknown provider URL made the hub try to reach it)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

BODY = {"dataset_id": "d1", "offer_id": "urn:edh:offer:d1"}


@pytest.mark.parametrize(
    ("provider_id", "provider_url"),
    [
        ("did:web:evil.example", "https://evil.example/dsp"),  # not on the trust list
        ("did:web:000", "http://000"),  # the fuzzer's case
    ],
)
def test_an_untrusted_provider_is_refused_before_any_request_leaves(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    provider_id: str,
    provider_url: str,
) -> None:
    body = {**BODY, "provider_id": provider_id, "provider_url": provider_url}
    resp = client.post(
        "/api/v1/dataspace/negotiations", json=body, headers=auth("researcher", sub="r.1")
    )
    assert resp.status_code == 403, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "trust list" in resp.json()["detail"]
