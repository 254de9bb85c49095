"""The local store's presigned uploads: ``PUT /storage/uploads/<key>`` (embedded mode).

This stands in for the object store's own endpoint, so it lives outside the hub API.

Authorisation is the URL itself (like an S3 presigned URL): ``expires`` and an HMAC
``signature`` over the method, the key and the expiry. A URL signed for one key cannot
write another; an expired URL is refused. The grant is single-use: the key must belong
to a batch still waiting for its upload (``hub.ingest.grants``) and must not exist yet
(write-once). Answers 204, or problem+json (403 refused grant, 409 existing object);
every refusal is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from hub.auth import public_endpoint
from hub.context import HubContext
from hub.db import session_scope
from hub.deps import hub_context
from hub.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HubError,
    PayloadTooLarge,
    ServiceUnavailable,
)
from hub.ingest.grants import CLOSED, grant_open
from hub.params import SQL_INT_MAX
from hub.storage.local import LocalStore
from hub.storage.port import InvalidKey, ObjectExists
from hub.trail.writer import Actor, Decision, EventDraft, Resource, record_now

router = APIRouter(prefix="/storage", tags=["storage"], dependencies=[Depends(public_endpoint)])
URL_HOLDER = Actor(sub="presigned-url", role="uploader")


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
        _check_grant(ctx, store, key, expires, signature)
        body = await _body(request, ctx.settings.storage.upload_max_bytes)
        try:
            store.create_stream(key, iter((body,)))
        except ObjectExists as exc:
            raise Conflict("this object is already stored; an upload never replaces it") from exc
    except HubError as exc:
        _audit_refusal(ctx, key, exc)
        raise
    return Response(status_code=204)


def _check_grant(ctx: HubContext, store: LocalStore, key: str, expires: int, sig: str) -> None:
    try:
        refusal = store.check_upload(key, expires, sig)
    except InvalidKey as exc:
        raise BadRequest(str(exc)) from exc
    if refusal:
        raise Forbidden(refusal)
    with session_scope(ctx.engine) as session:
        if not grant_open(session, key):
            raise Forbidden(CLOSED)


def _audit_refusal(ctx: HubContext, key: str, exc: HubError) -> None:
    draft = EventDraft(
        URL_HOLDER, "storage.upload", Resource("object", key[:200]), Decision.DENY, [exc.detail]
    )
    record_now(ctx.engine, draft)
