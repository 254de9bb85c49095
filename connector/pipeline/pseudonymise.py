"""Pseudonymisation at the source: every agent identifier becomes an HMAC-SHA256 pseudonym.

The key is contract-scoped and comes from the hub's pseudonymisation service, so the
clear identifier never leaves the vendor's machine and a pseudonym cannot be recomputed
(brute-forced) without the key. Agent names, ``authority`` and anything else naming a
person are dropped.
"""

from __future__ import annotations

from typing import Any, Final

from contracts.pseudonym import PSEUDONYM_HOME_PAGE, identifier_of, pseudonym

_CACHE_LIMIT: Final = 50_000
"""Identifiers whose pseudonym is remembered (one HMAC per pupil, not per statement), at
about 300 bytes each: at most ~15 MB, as many as a batch of 50,000 statements can name."""


class Pseudonymiser:
    """Replaces identifiers with ``hex(HMAC-SHA256(key, identifier))`` (deterministic per key)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the pseudonymisation key must be at least 32 bytes")
        self._key = key
        self._cache: dict[str, str] = {}

    def pseudonym(self, identifier: str) -> str:
        """The pseudonym of a canonical identifier (``contracts.pseudonym.identifier_of``)."""
        found = self._cache.get(identifier)
        if found is None:
            found = pseudonym(self._key, identifier)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[identifier] = found
        return found

    def agent(self, agent: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``agent`` (or group) carrying pseudonyms only."""
        out: dict[str, Any] = {"objectType": agent.get("objectType", "Agent")}
        identifier = identifier_of(agent)
        if identifier is not None:
            out["account"] = {
                "homePage": PSEUDONYM_HOME_PAGE,
                "name": self.pseudonym(identifier),
            }
        members = agent.get("member")
        if isinstance(members, list):
            out["member"] = [self.agent(m) for m in members if isinstance(m, dict)]
        return out

    def statement(
        self, statement: dict[str, Any], *, context_agents: bool = True
    ) -> dict[str, Any]:
        """A shallow copy of ``statement`` with actor, agent objects, instructor and team
        pseudonymised and ``authority`` removed. The input is not modified.

        ``context_agents=False`` leaves ``context`` as it is, clear instructor and team
        included: only for a caller that drops both before the statement goes anywhere
        (minimisation that keeps neither)."""
        out = dict(statement)
        # Compiled, a test and a deletion are direct dict calls, dict.pop a method call.
        if "authority" in out:
            del out["authority"]  # noqa: RUF051
        out["actor"] = self.agent(statement["actor"])
        obj = statement.get("object")
        if isinstance(obj, dict):
            out["object"] = self._object(obj)
        context = statement.get("context")
        if (
            context_agents
            and isinstance(context, dict)
            and ("instructor" in context or "team" in context)
        ):
            context = dict(context)
            for name in ("instructor", "team"):
                if isinstance(context.get(name), dict):
                    context[name] = self.agent(context[name])
            out["context"] = context
        return out

    def _object(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind = obj.get("objectType")
        if kind in ("Agent", "Group"):
            return self.agent(obj)
        if kind == "SubStatement" and isinstance(obj.get("actor"), dict):
            return self.statement(obj)
        return obj
