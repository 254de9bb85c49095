"""Catalog API: ``GET /api/v1/catalog`` (DCAT-AP JSON-LD) and dataset descriptions (a
contract request started from a dataset is the contracts area's, ``hub.contracts.api``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from hub.auth import Principal, Role, require
from hub.catalog import service
from hub.catalog.dcat import catalog_document, dataset_node
from hub.catalog.models import Dataset
from hub.catalog.schemas import DatasetIn, DatasetOut
from hub.deps import SessionDep, actor_of, hub_context
from hub.errors import Forbidden

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
JSON_LD = "application/ld+json"
READERS = (Role.OPERATOR, Role.PROVIDER, Role.RESEARCHER, Role.ETHICS_REVIEWER, Role.DPO)
Reader = Annotated[Principal, Depends(require(*READERS))]
LD_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {JSON_LD: {}}}}


def _base(request: Request) -> str:
    return hub_context(request).settings.public_url.rstrip("/")


@router.get("", response_class=JSONResponse, responses=LD_RESPONSE)
def get_catalog(
    request: Request,
    session: SessionDep,
    _: Reader,
    q: Annotated[str | None, Query(max_length=200, description="Text to search.")] = None,
    provider_id: Annotated[str | None, Query(max_length=36)] = None,
) -> JSONResponse:
    """The catalog as DCAT-AP JSON-LD, optionally filtered by text or provider (roles: all
    but connector)."""
    datasets = service.search(session, q, provider_id)
    names = service.provider_names(session, datasets)
    return JSONResponse(catalog_document(datasets, _base(request), names), media_type=JSON_LD)


@router.post("/datasets", status_code=201, response_model=DatasetOut)
def create_dataset(
    body: DatasetIn,
    session: SessionDep,
    who: Annotated[Principal, Depends(require(Role.OPERATOR, Role.PROVIDER))],
) -> Dataset:
    """Describe a dataset (roles: operator; provider, for its own organisation)."""
    if Role.OPERATOR in who.roles:
        role = Role.OPERATOR
    elif who.org == body.provider_id:
        role = Role.PROVIDER
    else:
        raise Forbidden("providers may only describe datasets of their own organisation")
    return service.create_dataset(session, actor_of(who, role), body)


@router.get("/datasets/{dataset_id}", response_class=JSONResponse, responses=LD_RESPONSE)
def get_dataset(dataset_id: str, request: Request, session: SessionDep, _: Reader) -> JSONResponse:
    """One dataset as a DCAT-AP JSON-LD node (roles: all but connector)."""
    dataset = service.get_dataset(session, dataset_id)
    names = service.provider_names(session, [dataset])
    node = dataset_node(dataset, _base(request), names.get(dataset.provider_id))
    return JSONResponse(node, media_type=JSON_LD)
