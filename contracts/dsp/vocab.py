"""Names of the Dataspace Protocol 2025-1: context, version, message types, roles."""

from __future__ import annotations

from enum import StrEnum

VERSION = "2025-1"
CONTEXT_URL = "https://w3id.org/dspace/2025/1/context.jsonld"
CONTEXT = [CONTEXT_URL]
DSPACE_NS = "https://w3id.org/dspace/2025/1/"
ODRL_NS = "http://www.w3.org/ns/odrl/2/"


class Role(StrEnum):
    """The two parties of a negotiation or a transfer."""

    PROVIDER = "provider"
    CONSUMER = "consumer"

    @property
    def other(self) -> Role:
        return Role.CONSUMER if self is Role.PROVIDER else Role.PROVIDER


class Message(StrEnum):
    """The ``@type`` of every message and response document of the protocol."""

    CATALOG_REQUEST = "CatalogRequestMessage"
    DATASET_REQUEST = "DatasetRequestMessage"
    CATALOG = "Catalog"
    DATASET = "Dataset"
    CATALOG_ERROR = "CatalogError"
    CONTRACT_REQUEST = "ContractRequestMessage"
    CONTRACT_OFFER = "ContractOfferMessage"
    CONTRACT_AGREEMENT = "ContractAgreementMessage"
    AGREEMENT_VERIFICATION = "ContractAgreementVerificationMessage"
    NEGOTIATION_EVENT = "ContractNegotiationEventMessage"
    NEGOTIATION_TERMINATION = "ContractNegotiationTerminationMessage"
    NEGOTIATION = "ContractNegotiation"
    NEGOTIATION_ERROR = "ContractNegotiationError"
    TRANSFER_REQUEST = "TransferRequestMessage"
    TRANSFER_START = "TransferStartMessage"
    TRANSFER_COMPLETION = "TransferCompletionMessage"
    TRANSFER_SUSPENSION = "TransferSuspensionMessage"
    TRANSFER_TERMINATION = "TransferTerminationMessage"
    TRANSFER_PROCESS = "TransferProcess"
    TRANSFER_ERROR = "TransferError"
