"""The connector's durable spool of accepted statements (see ``connector.spool.store``)."""

from connector.spool.query import StatementQuery
from connector.spool.store import Attachment, Spool, SpooledStatement

__all__ = ["Attachment", "Spool", "SpooledStatement", "StatementQuery"]
