"""Query strings of paths and URLs are redacted from log records, whatever their form."""

from __future__ import annotations

import logging

import httpx

from contracts.redaction import RedactUrls, redact_urls

S3_URL = (
    "http://minio:9000/edh-lake/lake/p/c/d/date%3D2026-03-02/k-000000000001-0.parquet"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261206%2Fus-east-1"
    "&X-Amz-SignedHeaders=host%3Bif-none-match&X-Amz-Signature=0123abcd"
)


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, "x", 1, msg, args, None)


def test_every_query_string_is_replaced_and_the_path_kept() -> None:
    assert "0123abcd" not in redact_urls(f"PUT {S3_URL} done")
    assert "AKIA" not in redact_urls(S3_URL)
    assert redact_urls(f'"{S3_URL}"').startswith('"http://minio:9000/edh-lake/lake/p/c/d/')
    line = '127.0.0.1:5 - "PUT /storage/uploads/lake/a.parquet?expires=1&signature=ff HTTP/1.1"'
    assert redact_urls(line) == (
        '127.0.0.1:5 - "PUT /storage/uploads/lake/a.parquet?<redacted> HTTP/1.1"'
    )
    assert redact_urls("no url here? none") == "no url here? none"


def test_uvicorn_access_record_keeps_its_five_arguments() -> None:
    rec = record('%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "PUT", "/u/k?signature=ff", "1.1", 204)
    assert RedactUrls().filter(rec)
    assert rec.args == ("1.2.3.4:5", "PUT", "/u/k?<redacted>", "1.1", 204)
    assert "ff" not in rec.getMessage()


def test_httpx_url_argument_is_redacted() -> None:
    rec = record('HTTP Request: %s %s "%s %d %s"', "PUT", httpx.URL(S3_URL), "HTTP/1.1", 200, "OK")
    RedactUrls().filter(rec)
    assert "0123abcd" not in rec.getMessage() and "k-000000000001-0.parquet" in rec.getMessage()
