"""``GET /xapi/activities`` (an Activity with its canonical definition) and
``GET /xapi/agents`` (the Person object of an Agent)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from connector.errors import BadRequest
from connector.spool.index import IFIS
from connector.xapi import params
from connector.xapi.deps import lrs, xapi_call
from connector.xapi.http import add_get_and_head
from connector.xapi.service import Lrs

router = APIRouter(prefix="/xapi")


def _only(request: Request, name: str) -> str:
    query = params.single_values(request.query_params)
    unknown = set(query) - {name}
    if unknown:
        raise BadRequest(f"{sorted(unknown)[0]}: unknown parameter")
    if name not in query:
        raise BadRequest(f"{name}: parameter required")
    return query[name]


def get_activity(
    request: Request, _: str = Depends(xapi_call), service: Lrs = Depends(lrs)
) -> Response:
    activity_id = _only(request, "activityId")
    if not params.IRI.match(activity_id):
        raise BadRequest(f"activityId: {activity_id!r} is not an IRI")
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    definition = service.spool.activity_definition(activity_id)
    if definition is not None:
        activity["definition"] = definition
    return Response(orjson.dumps(activity), media_type="application/json")


def get_agent(request: Request, _: str = Depends(xapi_call)) -> Response:
    raw = _only(request, "agent")
    params.parse_agent(raw)
    agent = orjson.loads(raw)
    person: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for ifi in IFIS:
        if ifi in agent:
            person[ifi] = [agent[ifi]]
    return Response(orjson.dumps(person), media_type="application/json")


add_get_and_head(router, "/activities", get_activity, "An Activity's definition")
add_get_and_head(router, "/agents", get_agent, "The Person object of an Agent")
