"""ODRL, the wire form of a research contract's terms.

Each :class:`Term` maps one ODRL atomic constraint (``leftOperand`` and ``operator``) to
one field of the contract's terms (``contracts.model.RequestTerms``) and names the Rego
decision that enforces that field on every query or release (``enforced_by``). The
mapping is an allowlist both ways: the hub offers only constraints of this table
(:func:`offer_constraints`, bounds drawn from the dataset), reads only constraints of
this table from a consumer's request (:func:`request_terms`; anything else is a problem
the caller refuses), and writes an agreement's constraints from the contract's terms
(:func:`agreement_constraints`). ``rightOperand`` is always a string or a list of strings
(the protocol's schema has no numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ODRL_IRI = "http://www.w3.org/ns/odrl/2/"
RESEARCH_PURPOSE = "https://w3id.org/dpv#ScientificResearch"
RELEASE_MODES = ("differential_privacy", "reviewed")
MIN_CELL_FLOOR = 10


@dataclass(frozen=True)
class Term:
    """One ODRL constraint the hub understands: in a request or an agreement
    ``leftOperand operator value``; in an offer ``leftOperand offered bound``."""

    left: str
    operator: str
    field: str
    kind: str  # "text", "int", "list" or "date"
    enforced_by: str
    offered: str | None = None  # the operator of the offer's bound; None: not offered


TERMS: tuple[Term, ...] = (
    Term("purpose", "eq", "purpose", "text", "edh/sandbox/query", offered="isA"),
    Term("edh:project", "eq", "project_id", "text", "edh/sandbox/query"),
    Term("edh:allowedFields", "isAllOf", "allowed_fields", "list", "edh/sandbox/query", "isAnyOf"),
    Term("edh:minCellSize", "gteq", "min_cell_size", "int", "edh/sandbox/release", "gteq"),
    Term("edh:releaseMode", "eq", "release_mode", "text", "edh/sandbox/query", "isAnyOf"),
    Term("dateTime", "gteq", "valid_from", "date", "edh/sandbox/query"),
    Term("dateTime", "lteq", "valid_until", "date", "edh/sandbox/query"),
)
REQUIRED = ("purpose", "project_id", "valid_from", "valid_until")


def left_operand(value: Any) -> str:
    """``value`` as the table names it (``odrl:purpose`` and the full IRI are ``purpose``)."""
    text = str(value)
    for prefix in (ODRL_IRI, "odrl:"):
        text = text.removeprefix(prefix)
    return text


def term_for(left: str, operator: str) -> Term | None:
    """The term of a request's or agreement's constraint, or None (not one the hub
    enforces)."""
    return next((t for t in TERMS if (t.left, t.operator) == (left, operator)), None)


def offer_constraints(fields: list[str]) -> list[dict[str, Any]]:
    """The bounds the hub offers on a dataset with columns ``fields``: research purposes,
    a subset of its columns, cells of at least 10 pupils, one of the release modes."""
    bounds: dict[str, Any] = {
        "purpose": RESEARCH_PURPOSE,
        "edh:allowedFields": sorted(fields),
        "edh:minCellSize": str(MIN_CELL_FLOOR),
        "edh:releaseMode": list(RELEASE_MODES),
    }
    return [
        {"leftOperand": t.left, "operator": t.offered, "rightOperand": bounds[t.left]}
        for t in TERMS
        if t.offered
    ]


def constraints_of(policy: Mapping[str, Any]) -> list[Any]:
    """The constraints of a policy's permissions (a request's terms live there)."""
    out: list[Any] = []
    for rule in policy.get("permission") or []:
        if isinstance(rule, dict):
            out += list(rule.get("constraint") or [])
    return out


def _value(term: Term, right: Any) -> tuple[Any, str | None]:
    """The contract value of ``right`` for ``term``, or a problem."""
    if term.kind == "list":
        ok = isinstance(right, list) and all(isinstance(v, str) for v in right)
        return (right, None) if ok else (None, f"{term.left} needs a list of strings")
    if not isinstance(right, str):
        return None, f"{term.left} needs a string"
    if term.kind == "int":
        return (int(right), None) if right.isdigit() else (None, f"{term.left} is not a number")
    return right, None


def _bound_problem(term: Term, value: Any, bounds: Mapping[str, Any]) -> str | None:
    """Why ``value`` lies outside the offer's bound for ``term`` (None when inside)."""
    bound = bounds.get(term.left)
    if term.offered == "isAnyOf" and term.kind == "list":
        outside = sorted(set(value) - set(bound or []))
        return f"{term.left} outside the offer: {', '.join(outside)}" if outside else None
    if term.offered == "isAnyOf" and value not in (bound or []):
        return f"{term.left} is not one the offer allows"
    if term.offered == "gteq" and value < int(bound or MIN_CELL_FLOOR):
        return f"{term.left} is below the offer's {bound}"
    return None


def request_terms(
    constraints: list[Any], offered: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """The contract terms a request's ``constraints`` ask for (field → value) and the
    problems: a constraint that is not atomic, a value of the wrong kind or outside the
    ``offered`` bounds, a term given twice, a required term missing (only when the
    request carries terms at all). A constraint that is not a term of :data:`TERMS` is
    left to the caller's Rego decision (``edh/dataspace/terms``), which refuses it."""
    bounds = {c["leftOperand"]: c["rightOperand"] for c in offered}
    terms: dict[str, Any] = {}
    problems: list[str] = []
    for constraint in constraints:
        if not isinstance(constraint, dict) or "leftOperand" not in constraint:
            problems.append("only atomic constraints are understood")
            continue
        left = left_operand(constraint["leftOperand"])
        term = term_for(left, str(constraint.get("operator")))
        if term is None:
            continue  # not a term the hub enforces: the Rego decision refuses it
        value, problem = _value(term, constraint.get("rightOperand"))
        problem = problem or _bound_problem(term, value, bounds)
        if problem or term.field in terms:
            problems.append(problem or f"{left} {term.operator} is given twice")
            continue
        terms[term.field] = value
    if terms or problems:
        missing = [t.left for t in TERMS if t.field in REQUIRED and t.field not in terms]
        problems += [f"the request lacks {left}" for left in dict.fromkeys(missing)]
    return terms, problems


def agreement_constraints(terms: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An agreement's constraints: every term of :data:`TERMS` the contract sets, exactly."""

    def right(term: Term, value: Any) -> Any:
        return [str(v) for v in value] if term.kind == "list" else str(value)

    return [
        {"leftOperand": t.left, "operator": t.operator, "rightOperand": right(t, terms[t.field])}
        for t in TERMS
        if terms.get(t.field) is not None
    ]
