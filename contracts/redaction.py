"""Log redaction: no query string of a URL or request path reaches a log line.

Presigned upload URLs carry their authorisation in the query string (the local store's
``signature``, S3's ``X-Amz-Signature`` and credential), and xAPI queries may name an
agent; so every query string is replaced by ``?<redacted>`` (an allowlist: only the path
is kept), whatever its parameters. Used by the hub's and the connector's logging.
"""

from __future__ import annotations

import logging
import re

REDACTED = "?<redacted>"
# A path (absolute, or inside an http(s) URL) followed by a query string.
_QUERY = re.compile(r"((?:https?://[^\s/?#\"'<>]+)?/[^\s?#\"'<>]*)\?[^\s#\"'<>]*")
# Loggers that write request lines or URLs: uvicorn's access log, httpx's request log.
URL_LOGGERS = ("uvicorn.access", "uvicorn.error", "httpx", "httpcore")


def redact_urls(text: str) -> str:
    """``text`` with the query string of every path or URL in it replaced."""
    return _QUERY.sub(lambda m: m.group(1) + REDACTED, text)


class RedactUrls(logging.Filter):
    """Redacts the message and the arguments of every record (never drops one); the
    arguments keep their number, as uvicorn's access formatter unpacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_urls(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        return True


def _redact_arg(arg: object) -> object:
    if isinstance(arg, int | float | bool) or arg is None:
        return arg
    text = str(arg)
    redacted = redact_urls(text)
    return arg if redacted == text else redacted


def install(*loggers: str) -> None:
    """Add the filter to ``loggers`` (default :data:`URL_LOGGERS`) once (idempotent)."""
    for name in loggers or URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactUrls) for f in logger.filters):
            logger.addFilter(RedactUrls())
