"""Every real statement of the shared sample is accepted over HTTP and can be queried."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from connector.spool import Spool


def test_all_sample_statements_are_accepted(
    xapi: TestClient, spool: Spool, sample_statements: list[dict[str, Any]]
) -> None:
    for start in range(0, len(sample_statements), 500):
        batch = sample_statements[start : start + 500]
        response = xapi.post("/xapi/statements", json=batch)
        assert response.status_code == 200, response.text
        assert response.json() == [s["id"] for s in batch]
    assert spool.counts()["statements"] == 22_000
    first = sample_statements[0]
    agent = json.dumps(first["actor"])
    found = xapi.get("/xapi/statements", params={"agent": agent, "limit": "0"}).json()
    expected = {s["id"] for s in sample_statements if s["actor"] == first["actor"]}
    ids = {s["id"] for s in found["statements"]}
    more = found["more"]
    while more:
        page = xapi.get(more).json()
        ids |= {s["id"] for s in page["statements"]}
        more = page["more"]
    assert ids == expected
