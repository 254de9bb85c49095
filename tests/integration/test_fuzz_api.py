"""Schemathesis against the hub's own OpenAPI, for every role and without a token: no
5xx, and every answer has a documented status code, content type, headers and schema.

The hub runs on the SQLite default with a seeded world (organisations, a researcher, a
project, a dataset, a contract under review), so list endpoints answer with data. Each
operation gets ``EXAMPLES`` valid and ``EXAMPLES`` invalid generated requests, each sent
with no token and with a token of each role (derandomised, so a run is reproducible);
every failure is reported with the call that reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode, checks
from schemathesis.schemas import APIOperation

from hub.app import create_app
from hub.auth import ALL_ROLES
from hub.context import HubContext
from tests.support.contracts_fixtures import build_world, issuer_auth
from tests.support.factories import make_context

EXAMPLES = 3
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
"""What an answer must satisfy. Not checked: that every schema-valid request is accepted
(validators are stricter than the schema, e.g. a SIREN's check digit)."""


@pytest.fixture(scope="module")
def fuzzed_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubContext, FastAPI]]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    ctx = make_context(f"sqlite:///{data_dir / 'hub.sqlite3'}", data_dir)
    app = create_app(context=ctx)
    with TestClient(app) as client:
        build_world(client, issuer_auth(ctx)).accepted()
        yield ctx, app
    ctx.engine.dispose()


def _identities(ctx: HubContext) -> list[dict[str, str]]:
    """No token, then a token of each role."""
    tokens = [ctx.issuer.mint(f"fuzz.{role}", [str(role)]) for role in ALL_ROLES]
    return [{}, *({"Authorization": f"Bearer {t}"} for t in tokens)]


def _fuzz(operation: APIOperation, mode: GenerationMode, identities: list[dict[str, str]]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # every call appends audit events: no replay
    )
    def run(case: Case) -> None:
        for headers in identities:
            case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.timeout(900)  # about 2,900 calls: a couple of minutes on a quiet host
def test_every_operation_answers_as_documented(fuzzed_hub: tuple[HubContext, FastAPI]) -> None:
    ctx, app = fuzzed_hub
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    identities = _identities(ctx)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            name = f"{operation.method.upper()} {operation.path} ({mode.value})"
            try:
                _fuzz(operation, mode, identities)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, name  # nothing to make invalid
            except (Exception, BaseExceptionGroup) as exc:  # report each operation's failure
                failures.append(f"{name}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
