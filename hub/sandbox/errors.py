"""Sandbox errors, mapped to problem+json by ``hub.errors``."""

from __future__ import annotations

from hub.errors import HubError


class QueryRefused(HubError):
    """The SQL breaks a sandbox rule; ``reasons`` lists each rule broken (400)."""

    status, slug, title = 400, "query-refused", "Query refused"


class ResultNotReady(HubError):
    """The job has no result (yet, or ever); ``job_status`` says where it stands (409)."""

    status, slug, title = 409, "result-not-ready", "Result not available"


class ResultPurged(HubError):
    """The job's result was deleted at the end of its contracts' retention (410)."""

    status, slug, title = 410, "result-purged", "Result deleted (retention period over)"
