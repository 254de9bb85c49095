"""Validation of DSP messages against the specification's JSON Schemas.

The schemas are the files of ``schemas/dsp-2025-1`` (copied from the specification); their
``$id``s and cross-references are resolved from those files only, never fetched.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator
from referencing import Registry, Resource

from contracts.dsp.vocab import Message
from contracts.errors import ContractError

_IN_REPOSITORY = Path(__file__).resolve().parents[2] / "schemas" / "dsp-2025-1"
_INSTALLED = Path(sys.prefix) / "share" / "edh" / "schemas" / "dsp-2025-1"
SCHEMA_DIR = _IN_REPOSITORY if _IN_REPOSITORY.exists() else _INSTALLED
VERSION_SCHEMA = "common/protocol-version-schema.json"
DID_SERVICE_SCHEMA = "common/did-service-schema.json"

SCHEMA_OF: dict[Message, str] = {
    Message.CATALOG_REQUEST: "catalog/catalog-request-message-schema.json",
    Message.DATASET_REQUEST: "catalog/dataset-request-message-schema.json",
    Message.CATALOG: "catalog/catalog-schema.json",
    Message.DATASET: "catalog/dataset-schema.json",
    Message.CATALOG_ERROR: "catalog/catalog-error-schema.json",
    Message.CONTRACT_REQUEST: "negotiation/contract-request-message-schema.json",
    Message.CONTRACT_OFFER: "negotiation/contract-offer-message-schema.json",
    Message.CONTRACT_AGREEMENT: "negotiation/contract-agreement-message-schema.json",
    Message.AGREEMENT_VERIFICATION: (
        "negotiation/contract-agreement-verification-message-schema.json"
    ),
    Message.NEGOTIATION_EVENT: "negotiation/contract-negotiation-event-message-schema.json",
    Message.NEGOTIATION_TERMINATION: (
        "negotiation/contract-negotiation-termination-message-schema.json"
    ),
    Message.NEGOTIATION: "negotiation/contract-negotiation-schema.json",
    Message.NEGOTIATION_ERROR: "negotiation/contract-negotiation-error-schema.json",
    Message.TRANSFER_REQUEST: "transfer/transfer-request-message-schema.json",
    Message.TRANSFER_START: "transfer/transfer-start-message-schema.json",
    Message.TRANSFER_COMPLETION: "transfer/transfer-completion-message-schema.json",
    Message.TRANSFER_SUSPENSION: "transfer/transfer-suspension-message-schema.json",
    Message.TRANSFER_TERMINATION: "transfer/transfer-termination-message-schema.json",
    Message.TRANSFER_PROCESS: "transfer/transfer-process-schema.json",
    Message.TRANSFER_ERROR: "transfer/transfer-error-schema.json",
}


class InvalidMessage(ContractError):
    """A document is not a valid message of the expected type; the message says where."""


@functools.cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*/*-schema.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


@functools.cache
def _validator(relative: str) -> Draft201909Validator:
    schema = json.loads((SCHEMA_DIR / relative).read_text(encoding="utf-8"))
    return Draft201909Validator(schema, registry=_registry())


def _check(relative: str, document: Any, label: str) -> None:
    errors = sorted(_validator(relative).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise InvalidMessage(f"not a valid {label}: at {where}: {first.message[:200]}")


def validate(kind: Message, document: Any) -> None:
    """Return if ``document`` is a valid ``kind`` (its ``@type`` included); else raise
    ``InvalidMessage`` naming the first failing place."""
    if not isinstance(document, dict) or document.get("@type") != kind:
        raise InvalidMessage(f"not a valid {kind}: @type must be {kind!r}")
    _check(SCHEMA_OF[kind], document, kind)


def validate_version_document(document: Any) -> None:
    """Return if ``document`` is a valid ``/.well-known/dspace-version`` answer."""
    _check(VERSION_SCHEMA, document, "protocol version document")


def validate_did_service(service: Any) -> None:
    """Return if ``service`` is a valid DSP service entry of a DID document."""
    _check(DID_SERVICE_SCHEMA, service, "DID service entry")
