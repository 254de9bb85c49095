"""The DPO's export of audit events as a streamed download (the API and the pages)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import StreamingResponse

from hub.audit.access import authorize_read, describe
from hub.audit.search import export_csv, export_jsonl, parse_filter
from hub.auth import Principal
from hub.db import session_scope
from hub.deps import hub_context
from hub.errors import ValidationFailed


def stream_export(request: Request, who: Principal) -> StreamingResponse:
    """Validate the filters, audit the export, then stream it in its own transaction."""
    params = dict(request.query_params)
    fmt = params.pop("format", "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise ValidationFailed(
            "format must be csv or jsonl", errors=[{"field": "format", "message": "unknown"}]
        )
    flt = parse_filter(params)
    ctx = hub_context(request)
    with session_scope(ctx.engine) as session:
        authorize_read(ctx, session, who, describe("export", request.query_params))
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    writer = export_csv if fmt == "csv" else export_jsonl

    def chunks() -> Iterator[str]:
        with session_scope(ctx.engine) as session:
            yield from writer(session, flt)

    headers = {"Content-Disposition": f'attachment; filename="audit-events.{fmt}"'}
    return StreamingResponse(chunks(), media_type=media, headers=headers)
