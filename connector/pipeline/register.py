"""The hub's erasure register as the connector applies it before shipping.

The pseudonymisation service gives, for the contract shipped under, the erased pupils'
pseudonyms under it and under the provider's earlier contracts (with their keys). A
statement naming such a pupil is never shipped. A pupil recognised only through an
earlier contract (the register predates this contract, e.g. a renewal) is remembered by
identifier in memory so the connector declares the erasure again after the run: the
service then extends the register to this contract and the hub strips the pupil at
registration too. Every pupil recognised is remembered (``seen``) so that ``ship``
deletes their statements and documents from the spool at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts.pseudonym import identifier_of, pseudonym


class ErasedPupil(Exception):
    """The statement names a pupil of the hub's erasure register: it is never shipped."""


@dataclass(frozen=True)
class EarlierErasures:
    """The register under one earlier contract of the provider, and that contract's key."""

    key: bytes
    pseudonyms: frozenset[str]


def _identifiers(value: Any) -> Iterator[str]:
    """Every agent identifier anywhere in a raw statement (actor, members, object,
    sub-statement, instructor, team)."""
    if isinstance(value, dict):
        found = identifier_of(value) if value.keys() & IFIS else None
        if found:
            yield found
        for item in value.values():
            yield from _identifiers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _identifiers(item)


IFIS = frozenset({"mbox", "mbox_sha1sum", "openid", "account"})


def agent_of(identifier: str) -> dict[str, Any]:
    """The xAPI agent of a canonical identifier (``contracts.pseudonym.identifier_of``'s
    inverse); ``ValueError`` for another form."""
    kind, _, value = identifier.strip().partition(":")
    if kind == "account" and "|" in value:
        home, _, name = value.partition("|")
        return {"account": {"homePage": home, "name": name}}
    if kind in ("mbox", "mbox_sha1sum", "openid") and value:
        return {kind: value}
    raise ValueError("identifiant non canonique (account:<page>|<nom>, mbox:mailto:..., ...)")


@dataclass
class ErasureFilter:
    """Raises ``ErasedPupil`` for statements naming an erased pupil (see module doc)."""

    current: frozenset[str] = frozenset()
    earlier: tuple[EarlierErasures, ...] = ()
    to_declare: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    """Identifiers recognised as erased during the run: ``ship`` then deletes them from
    the spool at once (statements and documents), not after the retention window."""

    def check(self, raw: dict[str, Any], pseudonym_of: Callable[[str], str]) -> None:
        """``pseudonym_of``: an identifier's pseudonym under the current contract."""
        for identifier in _identifiers(raw):
            if pseudonym_of(identifier) in self.current:
                self.seen.add(identifier)
                raise ErasedPupil
            if any(pseudonym(e.key, identifier) in e.pseudonyms for e in self.earlier):
                self.to_declare.add(identifier)
                self.seen.add(identifier)
                raise ErasedPupil

    def __bool__(self) -> bool:
        return bool(self.current or self.earlier)
