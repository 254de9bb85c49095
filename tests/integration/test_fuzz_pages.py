"""The web pages fuzzed for their query and path parameters, with a session of every
role that reads them: generated numbers (huge, negative), text, filters and unknown
parameters never give a 5xx (the pages answer 200, 303, 400, 403 or 404)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.app import create_app
from hub.web.session import COOKIE
from tests.support.factories import make_context

PAGES = ["/audit", "/audit/export", "/audit/alertes", "/audit/eleve", "/audit/points-de-controle",
         "/audit/points-de-controle.json", "/review", "/research", "/controle-sorties", "/login",
         "/", "/accessibilite", "/docs"]  # fmt: skip
PATH_PAGES = ["/audit/evenements/{}", "/review/{}", "/research/jobs/{}",
              "/research/jobs/{}/result.csv", "/controle-sorties/{}"]  # fmt: skip
PARAMS = ["before", "since", "until", "actor", "role", "organisation", "action", "contract",
          "project", "dataset", "decision", "format", "next", "enregistre", "limit"]  # fmt: skip

numbers = st.integers(min_value=-(10**30), max_value=10**30).map(str)
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
EDGES = ["", "2026-13-45", "csv", "jsonl", "deny", str(10**30), str(2**63), str(-(2**63) - 1)]
values = st.one_of(st.sampled_from(EDGES), numbers, texts)
single = st.builds(lambda k, v: {k: v}, st.sampled_from(PARAMS), values)
queries = single | st.dictionaries(st.sampled_from(PARAMS) | texts, values, max_size=4)
"""One parameter alone (so that it is not hidden behind another's refusal), or several."""


READERS = {"/audit": ("dpo", "operator"), "/review": ("ethics_reviewer",),
           "/research": ("researcher",), "/controle-sorties": ("output_checker",),
           "/login": (), "/": ("operator",)}  # fmt: skip
"""The roles whose session reads the pages under each prefix (the first that matches)."""


def _readers(page: str) -> tuple[str, ...]:
    return next(roles for prefix, roles in READERS.items() if page.startswith(prefix))


def test_pages_never_answer_5xx(tmp_path: Path) -> None:
    ctx = make_context(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path)
    client = TestClient(create_app(context=ctx), raise_server_exceptions=False)

    def check(page: str, query: dict[str, str], session: str | None) -> None:
        client.cookies.clear()
        if session:
            client.cookies.set(COOKIE, session)
        resp = client.get(page, params=query, headers={"accept": "text/html"},
                          follow_redirects=False)  # fmt: skip
        assert resp.status_code < 500, (page, query, resp.status_code, resp.text[:300])

    def fuzz(pages: st.SearchStrategy[str], session: str | None) -> None:
        @given(page=pages, query=queries)
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)  # fmt: skip
        def visit(page: str, query: dict[str, str]) -> None:
            check(page, query, session)

        visit()

    with client:
        for page in PAGES + PATH_PAGES:
            for role in _readers(page) or (None,):
                session = ctx.issuer.mint(f"page.{role}", [role]) if role else None
                if "{}" in page:
                    segment = st.sampled_from(EDGES[5:]) | numbers | texts
                    fuzz(segment.map(lambda v, p=page: p.format(quote(v, safe=""))), session)
                    continue
                fuzz(st.just(page), session)
                for edge in EDGES:  # each parameter alone at each edge value, too
                    for name in PARAMS:
                        check(page, {name: edge}, session)
    ctx.engine.dispose()
