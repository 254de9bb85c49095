"""The data-sharing contract (ODRL-inspired terms) and its signed document form.

A contract has versions; each version's terms are a :class:`ContractTerms`. What parties
sign is :func:`contract_document` of one exact version, serialised as RFC 8785 canonical
JSON (:func:`document_bytes`), so any change of terms needs new signatures.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.canonical import canonical_json, sha256_hex

DOCUMENT_TYPE = "edh-contract-1"
DEFAULT_MIN_CELL_SIZE = 10

Ident = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
FieldName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,62}$")
]
ROW_LEVEL_RULE: dict[str, Any] = {
    "if": {"properties": {"row_level": {"const": True}}, "required": ["row_level"]},
    "then": {
        "required": ["row_level_reason"],
        "properties": {"row_level_reason": {"type": "string", "minLength": 1}},
    },
}
QueryEpsilon = Annotated[float, Field(gt=0, le=10)]
"""The ε one query may spend under differential privacy."""
Prose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000)]


class LegalBasis(StrEnum):
    """GDPR grounds: public-interest task (art. 6-1-e) and research safeguards (art. 89)."""

    PUBLIC_TASK = "gdpr-art-6-1-e"
    RESEARCH = "gdpr-art-89"


class PseudonymisationScope(StrEnum):
    """Who shares a pseudonym space: one research project, or the whole contract."""

    PROJECT = "project"
    CONTRACT = "contract"


class ReleaseMode(StrEnum):
    """How the sandbox releases results (the ethics committee approves it with the terms).

    ``differential_privacy``: released at once, with calibrated noise, each query debiting
    the project's privacy budget. ``reviewed``: exact results, released only after two
    output checkers approved them (the airlock).
    """

    DIFFERENTIAL_PRIVACY = "differential_privacy"
    REVIEWED = "reviewed"


DEFAULT_EPSILON_PER_QUERY = 1.0
DEFAULT_EPSILON_BUDGET = 10.0


class RequestTerms(BaseModel):
    """The terms a research lab proposes for one dataset offer (no provider, no datasets).

    Unknown fields and contradictions are refused: ``pydantic.ValidationError`` (a
    ``ValueError``) lists every problem, e.g. k below the default of 10, row-level access
    without a reason, a validity window that ends before it starts, duplicates.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=ROW_LEVEL_RULE)

    project_id: Ident = Field(description="Research project the data are shared with.")
    purpose: Prose = Field(description="What the data are used for, and only that.")
    legal_basis: list[LegalBasis] = Field(min_length=1, max_length=2)
    allowed_fields: list[FieldName] = Field(
        min_length=1, max_length=100, description="Columns the researchers may see."
    )
    pseudonymisation_scope: PseudonymisationScope = PseudonymisationScope.PROJECT
    min_cell_size: int = Field(
        default=DEFAULT_MIN_CELL_SIZE,
        le=1_000_000,
        description="k: pupils per released cell.",
        json_schema_extra={"minimum": DEFAULT_MIN_CELL_SIZE},
    )
    row_level: bool = Field(default=False, description="Row-level output allowed.")
    row_level_reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    rounding_base: int | None = Field(default=None, ge=2, le=100, description="Round counts.")
    release_mode: ReleaseMode = Field(
        default=ReleaseMode.DIFFERENTIAL_PRIVACY, description="How results leave the sandbox."
    )
    epsilon_per_query: QueryEpsilon = Field(
        default=DEFAULT_EPSILON_PER_QUERY,
        description="Differential privacy: what one query spends unless it asks for "
        "another ε (at most epsilon_max_per_query).",
    )
    epsilon_max_per_query: QueryEpsilon | None = Field(
        default=None,
        description="Differential privacy: the most one query may ask to spend (default "
        "epsilon_per_query); more ε per query means less noise per cell.",
    )
    epsilon_budget: float = Field(
        default=DEFAULT_EPSILON_BUDGET,
        gt=0,
        le=100,
        description="Differential privacy: the project's total privacy budget (ε).",
    )
    retention_days: int = Field(ge=1, le=36500, description="Days results may be kept.")
    valid_from: date
    valid_until: date
    obligations: list[Annotated[str, StringConstraints(min_length=3, max_length=500)]] = Field(
        default_factory=list, max_length=20
    )
    connector_ids: list[Ident] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        problems = contradictions(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ContractTerms(RequestTerms):
    """The full terms of one contract version: the request plus provider and datasets."""

    provider_id: Ident = Field(description="Organisation id of the EdTech provider.")
    datasets: list[Ident] = Field(min_length=1, max_length=50, description="Catalog ids.")


def contradictions(terms: RequestTerms) -> list[str]:
    """Reasons why ``terms`` contradict themselves or the hub's floor rules (empty if none)."""
    problems = []
    if terms.min_cell_size < DEFAULT_MIN_CELL_SIZE:
        problems.append(
            f"min_cell_size {terms.min_cell_size} is below the default "
            f"k={DEFAULT_MIN_CELL_SIZE}; a contract may only raise it"
        )
    if terms.row_level and not (terms.row_level_reason or "").strip():
        problems.append("row_level access requires a row_level_reason")
    if terms.epsilon_per_query > terms.epsilon_budget:
        problems.append("epsilon_per_query may not exceed epsilon_budget")
    most = terms.epsilon_max_per_query
    if most is not None and not terms.epsilon_per_query <= most <= terms.epsilon_budget:
        problems.append(
            "epsilon_max_per_query must lie between epsilon_per_query and epsilon_budget"
        )
    if terms.valid_until <= terms.valid_from:
        problems.append("valid_until must be after valid_from")
    for name in ("datasets", "allowed_fields", "legal_basis", "connector_ids"):
        values = getattr(terms, name, [])
        if len(set(values)) != len(values):
            problems.append(f"{name} contains duplicates")
    return problems


def document_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of :func:`contract_document` (``schemas/contract.schema.json``)."""
    terms = ContractTerms.model_json_schema()
    defs = terms.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://w3id.org/xapi/edh/schemas/contract.schema.json",
        "title": "Education Data Hub data-sharing contract (one signed version)",
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "contract_id", "version", "terms"],
        "properties": {
            "type": {"const": DOCUMENT_TYPE},
            "contract_id": {"type": "string", "minLength": 1},
            "version": {"type": "integer", "minimum": 1},
            "terms": {"$ref": "#/$defs/ContractTerms"},
        },
        "$defs": {**defs, "ContractTerms": terms},
    }


OPTIONAL_UNSET = frozenset({"epsilon_max_per_query"})
"""Terms added after contracts were signed: left out of the JSON while unset, so that the
documents (and digests) of versions signed before them stay the same."""


def terms_json(terms: ContractTerms) -> dict[str, Any]:
    """The JSON form of ``terms`` (dates as ISO strings), as stored and signed."""
    unset = {name for name in OPTIONAL_UNSET if getattr(terms, name) is None}
    return terms.model_dump(mode="json", exclude=unset)


def contract_document(contract_id: str, version: int, terms: ContractTerms) -> dict[str, Any]:
    """The document every party signs for version ``version`` of ``contract_id``."""
    return {
        "type": DOCUMENT_TYPE,
        "contract_id": contract_id,
        "version": version,
        "terms": terms_json(terms),
    }


def document_bytes(document: dict[str, Any]) -> bytes:
    """The exact bytes signed: RFC 8785 canonical JSON of ``document``."""
    return canonical_json(document)


def document_digest(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical document: a short name for one exact version."""
    return sha256_hex(document_bytes(document))
