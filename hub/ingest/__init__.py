"""Ingestion: presigned uploads, batch verification and registration, quarantine, erasure."""
