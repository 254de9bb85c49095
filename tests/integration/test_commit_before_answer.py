"""A write is committed before its answer leaves the hub: a client that got 200 reads what
it wrote, and a hub killed right after answering has kept what it acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from hub.app import create_app
from hub.context import HubContext
from tests.support.contracts_fixtures import World, build_world, issuer_auth


@pytest.fixture
def order(hub_ctx: HubContext) -> Iterator[tuple[list[str], TestClient]]:
    """The hub's commits and response starts, in the order they happen."""
    seen: list[str] = []
    app = create_app(context=hub_ctx)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def send_and_note(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen.append(f"answer {scope['method']} {scope['path']}")
            await send(message)

        await app(scope, receive, send_and_note)

    event.listen(hub_ctx.engine, "commit", lambda _conn: seen.append("commit"))
    with TestClient(recording) as client:  # type: ignore[arg-type]
        yield seen, client


def test_a_contract_transition_is_committed_before_it_is_answered(
    hub_ctx: HubContext, order: tuple[list[str], TestClient]
) -> None:
    seen, client = order
    world = build_world(client, issuer_auth(hub_ctx))
    cid = World.request(world)["id"]
    world.post(f"/contracts/{cid}/offer", world.as_provider())
    seen.clear()
    world.post(f"/contracts/{cid}/accept", world.as_lab())
    answer = seen.index(f"answer POST /api/v1/contracts/{cid}/accept")
    assert "commit" in seen[:answer], seen
