"""Every table of the hub, imported so migrations and ``create_all`` see them."""

from hub.bus.models import OutboxEvent
from hub.catalog.models import Dataset
from hub.contracts.models import (
    Contract,
    ContractSignature,
    ContractVersion,
    OrganisationKey,
    ReviewDecision,
)
from hub.dataspace.models import DspDelivery, DspNegotiation, DspParticipant, DspTransfer
from hub.ingest.models import IngestBatch
from hub.policy.models import PolicyDataVersion
from hub.pseudonym.models import (
    ErasedPseudonym,
    ErasureRequest,
    ErasureRewrite,
    PupilUseDigest,
)
from hub.registry.models import Connector, Organisation, Project, ProjectMember, Researcher
from hub.sandbox.airlock.models import OutputHold, OutputReview
from hub.sandbox.dp.models import BudgetSpend
from hub.sandbox.models import QueryJob
from hub.trail.models import (
    AuditAlert,
    AuditCheckpoint,
    AuditEvent,
    AuditHead,
    AuditPending,
    AuditPurge,
    AuditTaskRun,
    AuditVerification,
)

__all__ = [
    "AuditAlert",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "AuditPending",
    "AuditPurge",
    "AuditTaskRun",
    "AuditVerification",
    "BudgetSpend",
    "Connector",
    "Contract",
    "ContractSignature",
    "ContractVersion",
    "Dataset",
    "DspDelivery",
    "DspNegotiation",
    "DspParticipant",
    "DspTransfer",
    "ErasedPseudonym",
    "ErasureRequest",
    "ErasureRewrite",
    "IngestBatch",
    "Organisation",
    "OrganisationKey",
    "OutboxEvent",
    "OutputHold",
    "OutputReview",
    "PolicyDataVersion",
    "Project",
    "ProjectMember",
    "PupilUseDigest",
    "QueryJob",
    "Researcher",
    "ReviewDecision",
]
