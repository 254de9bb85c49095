"""The local store's presigned uploads: ``PUT /storage/uploads/<key>`` (embedded mode).

This stands in for the object store's own endpoint, so it lives outside the hub API.

Authorisation is the URL itself (like an S3 presigned URL): ``expires`` and an HMAC
``signature`` over the method, the key and the expiry. A URL signed for one key cannot
write another; an expired URL is refused. Answers 204, or problem+json.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from hub.auth import public_endpoint
from hub.context import HubContext
from hub.deps import hub_context
from hub.errors import BadRequest, Forbidden, PayloadTooLarge, ServiceUnavailable
from hub.params import SQL_INT_MAX
from hub.storage.local import LocalStore
from hub.storage.port import InvalidKey

router = APIRouter(prefix="/storage", tags=["storage"], dependencies=[Depends(public_endpoint)])


def _local_store(ctx: HubContext) -> LocalStore:
    if not isinstance(ctx.store, LocalStore):
        raise ServiceUnavailable("uploads go straight to the object store in this deployment")
    return ctx.store


async def _body(request: Request, limit: int) -> bytes:
    parts, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(f"an uploaded object may hold at most {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


@router.put("/uploads/{key:path}", status_code=204)
async def upload(
    key: str,
    request: Request,
    ctx: Annotated[HubContext, Depends(hub_context)],
    expires: Annotated[int, Query(ge=0, le=SQL_INT_MAX)],
    signature: Annotated[str, Query(max_length=128)],
) -> Response:
    """Store one object through a presigned URL (no token: the signed URL authorises)."""
    store = _local_store(ctx)
    try:
        refusal = store.check_upload(key, expires, signature)
    except InvalidKey as exc:
        raise BadRequest(str(exc)) from exc
    if refusal:
        raise Forbidden(refusal)
    store.put(key, await _body(request, ctx.settings.storage.upload_max_bytes))
    return Response(status_code=204)
