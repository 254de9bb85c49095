"""The connector's push of one batch as a Dataspace Protocol transfer (``HttpData-PUSH``).

The hub's data address names its batch endpoint for the transfer and a bearer token
scoped to it: ``TransferClient`` asks for the upload URLs and completes the batch there,
with that token; everything else (the contract's terms, the pseudonymisation key, the
erasure register, erasures) goes through the connector's own identity, as ``ship`` does.
``push_one_batch`` ships the next batch of the spool (at most ``batch_size`` statements
after the spool cursor) with the pipeline's own steps: the same batches, manifests,
cursors and idempotence as ``edh-connector ship``.
"""

from __future__ import annotations

import itertools
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.config import ConnectorSettings
from connector.pipeline.client import HubClient, HubRefused
from connector.pipeline.commands import key_path, load_key, spool_items
from connector.pipeline.retention import SPOOL_SOURCE
from connector.pipeline.runner import PushReport, Target, push
from connector.pipeline.state import PipelineState


class TransferClient(HubClient):
    """``HubClient`` whose presign and complete go to a transfer's data address."""

    def __init__(
        self,
        base_url: str,
        connector_id: str,
        key: Ed25519PrivateKey,
        *,
        endpoint: str,
        token: str,
    ) -> None:
        super().__init__(base_url, connector_id, key)
        self._endpoint = endpoint.rstrip("/")
        self._token = token

    def _at_address(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self._http.post(
            self._endpoint + path, json=body, headers={"Authorization": f"Bearer {self._token}"}
        )
        answer: dict[str, Any] = resp.json() if resp.content else {}
        if resp.status_code >= 400:
            raise HubRefused(resp.status_code, str(answer.get("detail", resp.text)), answer)
        return answer

    def presign(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._at_address("/batches", request)

    def complete(self, batch_id: str, manifest_jws: str) -> dict[str, Any]:
        return self._at_address(f"/batches/{batch_id}/complete", {"manifest": manifest_jws})


def push_one_batch(settings: ConnectorSettings, endpoint: str, token: str) -> PushReport:
    """Ship the spool's next batch to the data address (``endpoint``, ``token``)."""
    from connector.spool import Spool

    link = settings.hub
    key = load_key(key_path(settings))
    client = TransferClient(link.url, link.connector_id, key, endpoint=endpoint, token=token)
    spool = Spool(settings.spool_path)
    try:
        terms = client.terms(link.contract_id)
        dataset = link.dataset_id or (terms.datasets[0] if len(terms.datasets) == 1 else "")
        if not dataset:
            raise ValueError("the connector names no dataset of the contract")
        state = PipelineState.load(settings.state_path)
        after = state.cursors.get(SPOOL_SOURCE, 0)
        items = itertools.islice(spool_items(spool, after), link.batch_size)
        return push(
            items,
            source=SPOOL_SOURCE,
            client=client,
            key=key,
            target=Target(terms, dataset),
            state=state,
            batch_size=link.batch_size,
        )
    finally:
        spool.close()
        client.close()
