"""The production PolicyEngine: an OPA server, through its REST API (``opa-python-client``).

At start-up the adapter uploads the bundle's modules (``PUT /v1/policies/edh/<file>``);
``put_data`` writes ``PUT /v1/data/<path>``, which OPA applies before answering, so the
next decision sees it; ``decide`` posts ``POST /v1/data/edh/decisions/<area>/<action>``.

An OPA server that restarts comes back without the data the hub pushed (and, without
``--bundle``, without the modules): the adapter keeps what it loaded, and when an answer
shows the server lost it (no result, or a ``policy data missing`` reason) it loads
everything again and asks once more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from opa_client.opa import OpaClient

from hub.policy.bundle import PolicyBundle
from hub.policy.decisions import data_keys, denied, engine_failure, from_result, prepare
from hub.policy.port import PolicyDecision, PolicyEngineError

log = logging.getLogger(__name__)
LOST_DATA = "policy data missing"


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
        self._modules = dict(bundle.modules)
        self._data: dict[str, dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        """Upload the modules and every data document put so far; raises
        ``PolicyEngineError``."""
        try:
            for name, source in self._modules.items():
                self._client.update_policy_from_string(source, f"edh/{name}", rego_compat=False)
            for path, document in self._data.items():
                self._client.update_or_create_data(document, path)
        except Exception as exc:
            raise PolicyEngineError(f"cannot load policies into the OPA server: {exc}") from exc

    def decide(self, decision: str, input: Mapping[str, Any]) -> PolicyDecision:
        """Evaluate ``decision`` on the server, reloading it once if it lost what the hub
        loaded (a restart); fails closed (never raises)."""
        target = prepare(decision, input, self.bundle_hash)
        if isinstance(target, PolicyDecision):
            return target
        outcome, lost = self._query(decision, input, target)
        if not lost:
            return outcome
        log.warning("the OPA server lost its policies or data (restarted?): reloading")
        try:
            self._load()
        except PolicyEngineError as exc:
            return engine_failure(decision, exc, self.bundle_hash)
        return self._query(decision, input, target)[0]

    def _query(
        self, decision: str, input: Mapping[str, Any], target: str
    ) -> tuple[PolicyDecision, bool]:
        """The server's decision, and whether its answer shows it lost its state."""
        try:
            body = self._client.query_rule(input_data=dict(input), package_path=target)
        except Exception as exc:  # unreachable server, HTTP error, bad JSON: deny
            return engine_failure(decision, exc, self.bundle_hash), False
        if "result" not in body:
            return denied(f"no policy answers {decision}", self.bundle_hash), True
        outcome = from_result(decision, body["result"], self.bundle_hash)
        return outcome, any(r.startswith(LOST_DATA) for r in outcome.reasons)

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
        self._data[path] = document

    def health(self) -> None:
        """Raise ``PolicyEngineError`` unless the server's ``/health`` answers 200."""
        if not self._client.check_health():
            raise PolicyEngineError("the OPA server is not healthy or not reachable")
