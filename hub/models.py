"""Every table of the hub, imported so migrations and ``create_all`` see them."""

from hub.audit.models import AuditEvent
from hub.registry.models import Connector, Organisation, Project, ProjectMember, Researcher

__all__ = ["AuditEvent", "Connector", "Organisation", "Project", "ProjectMember", "Researcher"]
