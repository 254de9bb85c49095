"""Decision names, data paths and result shaping shared by every PolicyEngine adapter."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from hub.policy.port import PolicyDecision

log = logging.getLogger("hub.policy")
_DECISION = re.compile(r"^edh/([a-z_]+)/([a-z_]+)$")
_DATA_PATH = re.compile(r"^[a-z_]+(/[a-z_]+)*$")


def document_of(decision: str) -> str | None:
    """``edh/ingest/upload`` → ``edh.decisions.ingest.upload`` (the Rego document that
    answers it); ``None`` for a name that is not ``edh/<area>/<action>``."""
    match = _DECISION.match(decision) if isinstance(decision, str) else None
    if match is None:
        return None
    return f"edh.decisions.{match.group(1)}.{match.group(2)}"


def data_keys(path: str) -> tuple[str, ...]:
    """``edh/researchers`` → ``("edh", "researchers")``; raises ``ValueError`` otherwise."""
    if not isinstance(path, str) or not _DATA_PATH.match(path):
        raise ValueError(f"invalid policy data path {path!r}: expected e.g. 'edh/researchers'")
    return tuple(path.split("/"))


def denied(reason: str, bundle_hash: str) -> PolicyDecision:
    """A refusal the adapter produces itself (bad input, engine error): fail closed."""
    return PolicyDecision(allow=False, reasons=(reason,), bundle_hash=bundle_hash)


def input_problem(decision: str, input: object) -> str | None:
    """Why the decision name or the input cannot be evaluated, or ``None``."""
    if document_of(decision) is None:
        return f"unknown decision {str(decision)[:80]!r}: expected edh/<area>/<action>"
    if not isinstance(input, Mapping):
        return "policy input must be a JSON object"
    if not _finite(input):
        return "policy input must be plain JSON (no NaN or infinity)"
    return None


def prepare(decision: str, input: object, bundle_hash: str) -> str | PolicyDecision:
    """The Rego document to evaluate for ``decision``, or the refusal when the request
    cannot be evaluated (unknown decision, input that is not a plain JSON object)."""
    problem = input_problem(decision, input)
    path = document_of(decision)
    if problem is not None or path is None:
        return denied(problem or f"unknown decision {decision!r}", bundle_hash)
    return path


def unavailable(reason: str, bundle_hash: str) -> PolicyDecision:
    """A refusal because the engine or its data could not answer (an outage, fail closed)."""
    return PolicyDecision(allow=False, reasons=(reason,), bundle_hash=bundle_hash, outage=True)


def engine_failure(decision: str, exc: Exception, bundle_hash: str) -> PolicyDecision:
    """Log an engine failure and refuse as an outage (fail closed)."""
    log.warning("policy engine error on %s: %s", decision, exc)
    return unavailable(f"policy engine error: {type(exc).__name__}", bundle_hash)


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _finite(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


def from_result(decision: str, raw: Any, bundle_hash: str) -> PolicyDecision:
    """Shape a Rego result ``{allow, reasons[], obligations?}``; anything else denies."""
    if raw is None:
        return denied(f"policy {decision} gave no decision", bundle_hash)
    if not isinstance(raw, dict) or not isinstance(raw.get("allow"), bool):
        return denied(f"policy {decision} returned a malformed decision", bundle_hash)
    reasons = raw.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return denied(f"policy {decision} returned malformed reasons", bundle_hash)
    obligations = raw.get("obligations", {})
    if not isinstance(obligations, dict):
        return denied(f"policy {decision} returned malformed obligations", bundle_hash)
    if not raw["allow"] and not reasons:
        reasons = [f"policy {decision} refused without a reason"]
    return PolicyDecision(raw["allow"], tuple(reasons), bundle_hash, obligations)
