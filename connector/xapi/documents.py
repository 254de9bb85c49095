"""The document resources: ``activities/state``, ``activities/profile``, ``agents/profile``.

``GET`` with the document id returns it (``ETag``, ``Last-Modified``); without, the ids
(optionally ``since``). ``PUT`` replaces, ``POST`` merges JSON objects, ``DELETE``
removes (the state resource may delete every state of an activity/agent at once).
``If-Match``/``If-None-Match`` are honoured (412 when they fail); a profile ``PUT`` over
an existing document without either header is refused with 409, as the spec says
(from 2.0.0 on, the state resource too). In 1.0.3 a profile ``PUT`` without either header
on a new document is refused with 400, as the ADL 1.0.3 suite expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

import orjson
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from connector.errors import BadRequest, Conflict, NotFound
from connector.spool.clock import now_iso
from connector.spool.documents import Document, DocumentStore, Preconditions, Scope
from connector.spool.store import SCOPE_SEPARATOR
from connector.xapi import multipart, params
from connector.xapi.deps import lrs, xapi_call
from connector.xapi.http import add_get_and_head, parse_json, read_body
from connector.xapi.service import Lrs

router = APIRouter(prefix="/xapi")
JSON = "application/json"
_SEP = SCOPE_SEPARATOR


@dataclass(frozen=True)
class Kind:
    """One document resource: its owner parameters and its document id parameter."""

    name: str
    owners: tuple[str, ...]
    doc_param: str
    guarded_put: bool


STATE = Kind("state", ("activityId", "agent", "registration"), "stateId", False)
ACTIVITY_PROFILE = Kind("activity-profile", ("activityId",), "profileId", True)
AGENT_PROFILE = Kind("agent-profile", ("agent",), "profileId", True)


def _is_1_0(request: Request) -> bool:
    return str(request.state.xapi_version).startswith("1.0")


def _put_is_guarded(kind: Kind, request: Request) -> bool:
    """Profiles always; the state resource too from xAPI 2.0.0 on (1.0.3 exempts it)."""
    return kind.guarded_put or not _is_1_0(request)


@dataclass(frozen=True)
class Address:
    """Where a request points: the owner scope and the document id (if any)."""

    kind: Kind
    scope: str
    doc_id: str | None
    since: str | None


def _owner_value(name: str, value: str | None) -> str:
    if value is None:
        return "" if name == "registration" else _missing(name)
    if name == "agent":
        return params.parse_agent(value)
    if name == "activityId" and not params.IRI.match(value):
        raise BadRequest(f"activityId: {value!r} is not an IRI")
    if name == "registration" and not params.UUID.match(value):
        raise BadRequest(f"registration: {value!r} is not a UUID")
    return value.lower() if name == "registration" else value


def _missing(name: str) -> str:
    raise BadRequest(f"{name}: parameter required")


def _address(request: Request, kind: Kind, listing_allowed: bool) -> Address:
    query = params.single_values(request.query_params)
    allowed = {*kind.owners, kind.doc_param, *(("since",) if listing_allowed else ())}
    unknown = set(query) - allowed
    if unknown:
        raise BadRequest(f"{sorted(unknown)[0]}: unknown parameter")
    scope = _SEP.join(_owner_value(n, query.get(n)) for n in kind.owners)
    doc_id = query.get(kind.doc_param)
    if doc_id is None and not listing_allowed:
        raise BadRequest(f"{kind.doc_param}: parameter required")
    if doc_id is not None and "since" in query:
        raise BadRequest(f"since: not allowed with {kind.doc_param}")
    return Address(kind, scope, doc_id, params.utc_timestamp(query.get("since"), "since"))


def _preconditions(request: Request) -> Preconditions:
    return Preconditions(request.headers.get("if-match"), request.headers.get("if-none-match"))


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.documents
    return store


def _document_response(document: Document) -> Response:
    modified = format_datetime(datetime.fromisoformat(document.updated), usegmt=True)
    headers = {"ETag": document.etag, "Last-Modified": modified}
    return Response(document.content, media_type=document.content_type, headers=headers)


def _merge(current: Document | None, content_type: str, body: bytes) -> tuple[str, bytes]:
    """``POST`` semantics: store as is, or merge two JSON objects (top-level keys)."""
    if current is None:
        return content_type, body
    if current.content_type != JSON or content_type != JSON:
        raise BadRequest("body: POST can only merge JSON documents (application/json)")
    try:
        old, new = orjson.loads(current.content), orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("body: not valid JSON") from None
    if not isinstance(old, dict) or not isinstance(new, dict):
        raise BadRequest("body: POST can only merge JSON objects")
    return JSON, orjson.dumps({**old, **new})


async def _write(request: Request, kind: Kind, service: Lrs, merge: bool) -> Response:
    address = _address(request, kind, listing_allowed=False)
    body = await read_body(request, service.settings.max_body_bytes)
    content_type = multipart.media_type(request.headers.get("content-type", "")) or (
        "application/octet-stream"
    )
    if content_type == JSON:
        document = parse_json(body)
        if merge and not isinstance(document, dict):
            raise BadRequest("body: POST of a JSON document takes an object")
    conditions = _preconditions(request)
    unguarded = conditions.if_match is None and conditions.if_none_match is None

    def build(current: Document | None) -> tuple[str, bytes]:
        if merge:
            return _merge(current, content_type, body)
        if current is None and unguarded and kind.guarded_put and _is_1_0(request):
            raise BadRequest("If-Match or If-None-Match: required to PUT a profile (xAPI 1.0.3)")
        if current is not None and unguarded and _put_is_guarded(kind, request):
            raise Conflict(
                "the document exists: fetch it and send If-Match with its ETag "
                "(or If-None-Match: * to create only)"
            )
        return content_type, body

    key = (kind.name, address.scope, str(address.doc_id))
    await run_in_threadpool(_store(request).write, key, build, conditions, now_iso())
    return Response(status_code=204)


def _listed(request: Request, address: Address) -> Scope:
    """The scope of a multi-document request: every registration when none is given."""
    if address.kind is STATE and "registration" not in request.query_params:
        return Scope(address.scope.rsplit(_SEP, 1)[0] + _SEP, prefix=True)
    return Scope(address.scope)


def _read(request: Request, kind: Kind) -> Response:
    address = _address(request, kind, listing_allowed=True)
    store = _store(request)
    if address.doc_id is None:
        ids = store.ids(kind.name, _listed(request, address), address.since)
        return Response(orjson.dumps(ids), media_type=JSON)
    document = store.get(kind.name, address.scope, address.doc_id)
    if document is None:
        raise NotFound(f"{kind.doc_param}: no document {address.doc_id!r}")
    return _document_response(document)


def _delete(request: Request, kind: Kind) -> Response:
    address = _address(request, kind, listing_allowed=kind is STATE)
    if address.since is not None:
        raise BadRequest("since: only allowed on GET")
    store = _store(request)
    if address.doc_id is None:
        store.delete_all(kind.name, _listed(request, address))
    else:
        store.delete((kind.name, address.scope, address.doc_id), _preconditions(request))
    return Response(status_code=204)


def _register(path: str, kind: Kind) -> None:
    async def put(request: Request, _: str = Depends(xapi_call), s: Lrs = Depends(lrs)) -> Response:
        return await _write(request, kind, s, merge=False)

    async def post(
        request: Request, _: str = Depends(xapi_call), s: Lrs = Depends(lrs)
    ) -> Response:
        return await _write(request, kind, s, merge=True)

    def get(request: Request, _: str = Depends(xapi_call)) -> Response:
        return _read(request, kind)

    def delete(request: Request, _: str = Depends(xapi_call)) -> Response:
        return _delete(request, kind)

    router.add_api_route(
        path, put, methods=["PUT"], status_code=204, summary=f"Store a {kind.name} document"
    )
    router.add_api_route(
        path, post, methods=["POST"], status_code=204, summary=f"Merge into a {kind.name} document"
    )
    add_get_and_head(router, path, get, f"Fetch {kind.name} documents")
    router.add_api_route(
        path, delete, methods=["DELETE"], status_code=204, summary=f"Delete {kind.name} documents"
    )


_register("/activities/state", STATE)
_register("/activities/profile", ACTIVITY_PROFILE)
_register("/agents/profile", AGENT_PROFILE)
