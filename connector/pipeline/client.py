"""The connector's client of the hub ingest API (authenticated with the connector's own key).

Every call is safe to retry: presign and complete are idempotent on the hub by
(connector, sequence), and an upload simply overwrites the same object.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.pipeline.register import EarlierErasures, ErasureFilter
from contracts import redaction
from contracts.connector_token import mint_connector_token


class HubRefused(RuntimeError):
    """The hub answered with an error; ``status`` and the problem ``detail`` say why."""

    def __init__(self, status: int, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"hub refused ({status}): {detail}")
        self.status = status
        self.detail = detail
        self.body = body


@dataclass(frozen=True)
class ContractTerms:
    """What the connector needs to prepare data for one contract."""

    contract_id: str
    provider_id: str
    datasets: list[str]
    allowed_fields: list[str]
    pseudonym_key: bytes
    key_version: str
    erased: ErasureFilter = field(default_factory=ErasureFilter)
    retention_days: int | None = None


class HubClient:
    """Calls ``/api/v1/ingest`` and ``/api/v1/pseudonym`` and uploads to presigned URLs."""

    def __init__(
        self,
        base_url: str,
        connector_id: str,
        key: Ed25519PrivateKey,
        *,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        """``http`` replaces the default HTTP client (e.g. an in-process ASGI client).
        The URL loggers are redacted first: upload URLs carry their signature."""
        redaction.install()
        self.connector_id = connector_id
        self._key = key
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        token = mint_connector_token(self._key, self.connector_id)
        resp = self._http.request(
            method, path, json=json, headers={"Authorization": f"Bearer {token}"}
        )
        body: dict[str, Any] = resp.json() if resp.content else {}
        if resp.status_code >= 400:
            raise HubRefused(resp.status_code, str(body.get("detail", resp.text)), body)
        return body

    def terms(self, contract_id: str) -> ContractTerms:
        """The contract's provider, datasets, allowed fields, the pseudonymisation key and
        the erasure register's pseudonyms under it (never shipped)."""
        terms = self._call("GET", f"/api/v1/ingest/contracts/{contract_id}/terms")
        key = self._call("GET", f"/api/v1/pseudonym/contracts/{contract_id}/key")
        erased = self._call("GET", f"/api/v1/pseudonym/contracts/{contract_id}/erasures")
        return ContractTerms(
            contract_id=contract_id,
            provider_id=terms["provider_id"],
            datasets=list(terms["datasets"]),
            allowed_fields=list(terms["allowed_fields"]),
            pseudonym_key=base64.b64decode(key["key"]),
            key_version=key["key_version"],
            retention_days=terms.get("retention_days"),
            erased=ErasureFilter(
                frozenset(erased["pseudonyms"]),
                tuple(
                    EarlierErasures(base64.b64decode(e["key"]), frozenset(e["pseudonyms"]))
                    for e in erased["earlier"]
                ),
            ),
        )

    def presign(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ask for upload URLs for one batch (idempotent by sequence number)."""
        return self._call("POST", "/api/v1/ingest/batches", request)

    def upload(self, upload: dict[str, Any], data: bytes) -> None:
        """PUT ``data`` to one presigned URL; raises ``HubRefused`` on failure."""
        resp = self._http.put(upload["url"], content=data, headers=upload.get("headers") or {})
        if resp.status_code >= 300:
            raise HubRefused(resp.status_code, resp.text[:300], {})

    def complete(self, batch_id: str, manifest_jws: str) -> dict[str, Any]:
        """Tell the hub the batch is uploaded; it verifies and registers it (idempotent)."""
        path = f"/api/v1/ingest/batches/{batch_id}/complete"
        return self._call("POST", path, {"manifest": manifest_jws})

    def rotation(self, contract_id: str) -> dict[str, Any]:
        """The contract's key under its current master key version and under the hub's
        new one (after a key rotation)."""
        return self._call("GET", f"/api/v1/pseudonym/contracts/{contract_id}/rotation")

    def repseudonymise(self, contract_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send the (old, new) pseudonym pairs: the hub moves the contract's lake to the
        new key (rows of pseudonyms absent from the pairs are dropped)."""
        path = f"/api/v1/pseudonym/contracts/{contract_id}/repseudonymisations"
        return self._call("POST", path, body)

    def erase(self, identifier: str) -> dict[str, Any]:
        """Ask the pseudonymisation service to erase one pupil (canonical identifier) from
        every contract, now and later; it keeps only a keyed digest of the identifier."""
        return self._call("POST", "/api/v1/pseudonym/erasure-requests", {"identifier": identifier})
