"""Offset pagination shared by every list endpoint."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from hub.params import SQL_INT_MAX

T = TypeVar("T")
MAX_LIMIT = 500


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(
    session: Session, query: SelectOfScalar[Any], params: PageParams
) -> tuple[list[Any], int]:
    """Run ``query`` for one page; return the rows and the total count."""
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.offset(params.offset).limit(params.limit)).all()
    return list(rows), int(total)
