"""Routes of the statement resource: ``POST``, ``PUT`` and ``GET /xapi/statements``.

Errors are problem+json (``connector.xapi.errors``); see ``docs/connector.md``.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from connector.errors import BadRequest
from connector.spool import SpooledStatement
from connector.spool.documents import etag_of
from connector.xapi import attachments, formats, multipart, params
from connector.xapi.deps import lrs, xapi_call
from connector.xapi.http import add_get_and_head, parse_json, read_body
from connector.xapi.multipart import Part
from connector.xapi.service import Lrs

router = APIRouter(prefix="/xapi")
JSON = "application/json"


async def _statement_body(request: Request, service: Lrs) -> tuple[Any, list[Part]]:
    raw = await read_body(request, service.settings.max_body_bytes)
    content_type = request.headers.get("content-type", "")
    kind = multipart.media_type(content_type)
    if kind == JSON:
        return parse_json(raw), []
    if kind != "multipart/mixed":
        raise BadRequest("Content-Type: must be application/json or multipart/mixed")
    first, *parts = multipart.parse(raw, content_type)
    if multipart.media_type(first.headers.get("content-type", "")) != JSON:
        raise BadRequest("multipart: the first part must be the application/json statements")
    return parse_json(first.content, "multipart statement part"), parts


def _no_params(request: Request, allowed: set[str]) -> None:
    unknown = set(request.query_params) - allowed
    if unknown:
        raise BadRequest(f"{sorted(unknown)[0]}: unknown parameter")


@router.post("/statements", summary="Store one statement or an array of statements")
async def post_statements(
    request: Request, version: str = Depends(xapi_call), service: Lrs = Depends(lrs)
) -> Response:
    _no_params(request, set())
    payload, parts = await _statement_body(request, service)
    statements = payload if isinstance(payload, list) else [payload]
    ids = await run_in_threadpool(service.store, statements, parts, version)
    return Response(orjson.dumps(ids), media_type=JSON)


@router.put("/statements", status_code=204, summary="Store one statement with a given id")
async def put_statement(
    request: Request, version: str = Depends(xapi_call), service: Lrs = Depends(lrs)
) -> Response:
    _no_params(request, {"statementId"})
    statement_id = request.query_params.get("statementId")
    if not statement_id:
        raise BadRequest("statementId: parameter required")
    payload, parts = await _statement_body(request, service)
    parsed = params.parse(request.query_params, 1, 0)
    assert parsed.statement_id is not None
    await run_in_threadpool(service.put, parsed.statement_id, payload, parts, version)
    return Response(status_code=204)


def _http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso), usegmt=True)


def _render(service: Lrs, body: Any, rows: list[SpooledStatement], with_files: bool) -> Response:
    """The JSON (or, with attachments, multipart) answer with ``ETag``/``Last-Modified``."""
    raw = orjson.dumps(body)
    headers = {"ETag": etag_of(raw)}
    if rows:
        headers["Last-Modified"] = _http_date(max(r.statement["stored"] for r in rows))
    if not with_files:
        return Response(raw, media_type=JSON, headers=headers)
    files: list[tuple[str, str, bytes]] = []
    for row in rows:
        for declared in attachments.declared(row.statement):
            found = service.spool.attachment(str(declared["sha2"]).lower())
            if found is not None and all(f[0] != found.sha2 for f in files):
                files.append((found.sha2, found.content_type, found.content))
    content, content_type = multipart.build(raw, files)
    return Response(content, media_type=content_type, headers=headers)


def get_statements(
    request: Request, version: str = Depends(xapi_call), service: Lrs = Depends(lrs)
) -> Response:
    parsed = params.parse(
        request.query_params, service.settings.page_size, service.spool.last_seq()
    )
    languages = formats.accepted_languages(request.headers.get("accept-language"))
    definitions = service.spool.activity_definition
    if parsed.statement_id is not None:
        row = service.get(parsed.statement_id, parsed.voided)
        body = formats.apply(row.statement, parsed.format, languages, definitions)
        return _render(service, body, [row], parsed.attachments)
    assert parsed.query is not None
    rows, after = service.query(parsed.query)
    more = ""
    if after is not None:
        more = f"{request.scope.get('root_path', '')}/xapi/statements?more="
        more += params.encode_more(parsed, after)
    statements = [formats.apply(r.statement, parsed.format, languages, definitions) for r in rows]
    body = {"statements": statements, "more": more}
    return _render(service, body, rows, parsed.attachments)


add_get_and_head(router, "/statements", get_statements, "Fetch or query statements")
