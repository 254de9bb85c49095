"""Every table of the hub, imported so migrations and ``create_all`` see them."""

from hub.audit.models import (
    AuditAlert,
    AuditCheckpoint,
    AuditEvent,
    AuditHead,
    AuditPending,
    AuditPurge,
    AuditTaskRun,
    AuditVerification,
)
from hub.bus.models import OutboxEvent
from hub.catalog.models import Dataset
from hub.contracts.models import (
    Contract,
    ContractSignature,
    ContractVersion,
    OrganisationKey,
    ReviewDecision,
)
from hub.ingest.models import IngestBatch
from hub.policy.models import PolicyDataVersion
from hub.registry.models import Connector, Organisation, Project, ProjectMember, Researcher
from hub.sandbox.models import QueryJob, ReleasedCell

__all__ = [
    "AuditAlert",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "AuditPending",
    "AuditPurge",
    "AuditTaskRun",
    "AuditVerification",
    "Connector",
    "Contract",
    "ContractSignature",
    "ContractVersion",
    "Dataset",
    "IngestBatch",
    "Organisation",
    "OrganisationKey",
    "OutboxEvent",
    "PolicyDataVersion",
    "Project",
    "ProjectMember",
    "QueryJob",
    "ReleasedCell",
    "Researcher",
    "ReviewDecision",
]
