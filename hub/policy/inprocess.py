"""The embedded PolicyEngine: the real OPA engine (v1.20) in-process, via its Go library.

OPA's embedded store only deep-merges data, so ``put_data`` builds a fresh engine with
the new documents and swaps it in atomically: a decision sees either the old data or
the new, and every decision that starts after ``put_data`` returns sees the new.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

from hub.policy.bundle import PolicyBundle
from hub.policy.decisions import data_keys, denied, engine_failure, from_result, prepare
from hub.policy.port import PolicyDecision, PolicyEngineError

log = logging.getLogger("hub.policy")


def nest(documents: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """``{("edh", "researchers"): doc}`` → ``{"edh": {"researchers": doc}}``."""
    root: dict[str, Any] = {}
    for keys, document in documents.items():
        node = root
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = document
    return root


class InProcessPolicyEngine:
    """OPA in this process; thread-safe; see ``hub.policy.port.PolicyEngine``.

    One engine serialises its evaluations (its own lock); the Go call releases the GIL.
    """

    def __init__(self, bundle: PolicyBundle) -> None:
        """Compile ``bundle``; raises ``PolicyEngineError`` when a module does not compile."""
        self.bundle_hash = bundle.hash
        self._bundle = bundle
        self._documents: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self._engine = self._build(self._documents)

    def _build(self, documents: Mapping[tuple[str, ...], Any]) -> OpaEngine:
        engine = OpaEngine()
        engine.print_handler = lambda message, location: log.debug("%s: %s", location, message)
        try:
            for name, source in self._bundle.modules.items():
                engine.add_policy(name, source)
            engine.add_data(nest(documents))
        except (OpaError, TypeError, ValueError) as exc:
            engine.close()
            raise PolicyEngineError(f"cannot load policies or data: {exc}") from exc
        return engine

    def decide(self, decision: str, input: Mapping[str, Any]) -> PolicyDecision:
        """Evaluate ``decision``; fails closed (never raises)."""
        target = prepare(decision, input, self.bundle_hash)
        if isinstance(target, PolicyDecision):
            return target
        try:
            raw = self._engine.eval_document(target, dict(input))
        except OpaUndefinedError:
            return denied(f"no policy answers {decision}", self.bundle_hash)
        except Exception as exc:  # an engine failure must deny, whatever it is
            return engine_failure(decision, exc, self.bundle_hash)
        return from_result(decision, raw, self.bundle_hash)

    def put_data(self, path: str, document: Any) -> None:
        """Replace the document at ``path`` (``edh/researchers``); raises ``ValueError`` for
        a bad path or overlapping paths, ``PolicyEngineError`` for a non-JSON document."""
        keys = data_keys(path)
        with self._lock:
            for other in self._documents:
                if other != keys and (other[: len(keys)] == keys or keys[: len(other)] == other):
                    raise ValueError(f"policy data path {path} overlaps {'/'.join(other)}")
            documents = {**self._documents, keys: document}
            engine = self._build(documents)
            self._documents, self._engine = documents, engine

    def health(self) -> None:
        """Raise ``PolicyEngineError`` when the engine does not evaluate a trivial query."""
        try:
            answer = self._engine.eval_query("x := 1")
        except OpaError as exc:
            raise PolicyEngineError(f"policy engine error: {exc}") from exc
        if answer != [{"x": 1}]:
            raise PolicyEngineError("the policy engine gave a wrong answer to a probe")
