"""Audit trail: every state change and access decision is a hash-chained event."""
