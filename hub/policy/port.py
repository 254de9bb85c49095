"""The PolicyEngine port: every access decision of the hub goes through it.

Adapters: the real OPA engine in-process (default) and an OPA server (production).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class PolicyEngineError(RuntimeError):
    """The engine could not load policies or data (``put_data``, ``health``, start-up)."""


@dataclass(frozen=True)
class PolicyDecision:
    """Outcome of a policy query: never a bare boolean.

    ``reasons`` explain a refusal (or list the grounds of an allow); ``bundle_hash``
    identifies the policy bundle that decided, for the audit log; ``obligations`` are
    conditions the caller must apply to an allowed action (e.g. the sandbox's
    ``min_cell_size``), empty when the decision has none. ``outage`` marks a refusal
    that is not the policy's answer: the engine or its data could not be reached or read
    (the caller answers 503, retryable, and audits an outage, never a denial).
    """

    allow: bool
    reasons: tuple[str, ...]
    bundle_hash: str
    obligations: Mapping[str, Any] = field(default_factory=dict)
    outage: bool = False


class PolicyEngine(Protocol):
    """Evaluates Rego decisions. Implementations fail closed.

    - ``decide`` never raises for a bad input, missing data or an engine error: it returns
      ``allow=False`` with a reason, and ``outage=True`` when the engine failed rather
      than the policy refusing. It is side-effect free (safe to retry).
    - ``put_data`` replaces the data document at ``path`` (idempotent); a decision made
      after it returns sees the new data (no stale decision after a revocation).
    - ``health`` raises when the engine cannot answer.
    """

    bundle_hash: str

    def decide(self, decision: str, input: Mapping[str, Any]) -> PolicyDecision: ...

    def put_data(self, path: str, document: Any) -> None: ...

    def health(self) -> None: ...
