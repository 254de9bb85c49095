"""The production PolicyEngine: an OPA server, through its REST API (``opa-python-client``).

At start-up the adapter uploads the bundle's modules (``PUT /v1/policies/edh/<file>``);
``put_data`` writes ``PUT /v1/data/<path>``, which OPA applies before answering, so the
next decision sees it; ``decide`` posts ``POST /v1/data/edh/decisions/<area>/<action>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from opa_client.opa import OpaClient

from hub.policy.bundle import PolicyBundle
from hub.policy.decisions import data_keys, denied, engine_failure, from_result, prepare
from hub.policy.port import PolicyDecision, PolicyEngineError


def client_for(url: str, timeout: float) -> OpaClient:
    """An ``OpaClient`` for ``http(s)://host:port``; raises ``ValueError`` for a bad URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid OPA server URL {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 8181)
    return OpaClient(
        host=parts.hostname, port=port, ssl=parts.scheme == "https", timeout=timeout, retries=0
    )


class OpaServerPolicyEngine:
    """OPA over HTTP; see ``hub.policy.port.PolicyEngine``."""

    def __init__(self, bundle: PolicyBundle, client: OpaClient) -> None:
        """Upload ``bundle``'s modules; raises ``PolicyEngineError`` when OPA refuses them
        or cannot be reached."""
        self.bundle_hash = bundle.hash
        self._client = client
        try:
            for name, source in bundle.modules.items():
                client.update_policy_from_string(source, f"edh/{name}", rego_compat=False)
        except Exception as exc:
            raise PolicyEngineError(f"cannot load policies into the OPA server: {exc}") from exc

    def decide(self, decision: str, input: Mapping[str, Any]) -> PolicyDecision:
        """Evaluate ``decision`` on the server; fails closed (never raises)."""
        target = prepare(decision, input, self.bundle_hash)
        if isinstance(target, PolicyDecision):
            return target
        try:
            body = self._client.query_rule(input_data=dict(input), package_path=target)
        except Exception as exc:  # unreachable server, HTTP error, bad JSON: deny
            return engine_failure(decision, exc, self.bundle_hash)
        if "result" not in body:
            return denied(f"no policy answers {decision}", self.bundle_hash)
        return from_result(decision, body["result"], self.bundle_hash)

    def put_data(self, path: str, document: Any) -> None:
        """Replace the document at ``path``; raises ``ValueError`` for a bad path or a
        non-object document, ``PolicyEngineError`` when the server refuses it."""
        data_keys(path)
        if not isinstance(document, dict):
            raise ValueError("an OPA server data document must be a JSON object")
        try:
            self._client.update_or_create_data(document, path)
        except Exception as exc:
            raise PolicyEngineError(f"OPA server refused data at {path}: {exc}") from exc

    def health(self) -> None:
        """Raise ``PolicyEngineError`` unless the server's ``/health`` answers 200."""
        if not self._client.check_health():
            raise PolicyEngineError("the OPA server is not healthy or not reachable")
