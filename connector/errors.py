"""The connector's exception tree, mapped in one place (``connector.xapi.errors``) to RFC 9457.

Every error a client can cause carries an HTTP status and a ``detail`` that names the
offending field or header. The connector never imports ``hub``: this tree is its own,
rooted in ``contracts.problems`` as the hub's is.
"""

from __future__ import annotations

from contracts.problems import Problem


class ConnectorError(Problem):
    """Base of every error the connector reports to a client (see
    :class:`contracts.problems.Problem`)."""


class BadRequest(ConnectorError):
    """Malformed request: header, query parameter, body or attachment."""

    status, slug, title = 400, "bad-request", "Malformed request"


class InvalidStatement(BadRequest):
    """A statement that violates the xAPI specification; ``detail`` names the field."""

    slug, title = "invalid-statement", "Invalid xAPI statement"


class Unauthorized(ConnectorError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class NotFound(ConnectorError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ConnectorError):
    """A statement id already stored with a different content."""

    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(ConnectorError):
    """An ``If-Match`` / ``If-None-Match`` precondition does not hold."""

    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(ConnectorError):
    """A document write without the concurrency header the specification requires."""

    status, slug, title = 428, "precondition-required", "Precondition required"


class PayloadTooLarge(ConnectorError):
    status, slug, title = 413, "payload-too-large", "Request body too large"
