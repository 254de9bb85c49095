"""The hub's erasure register as the connector applies it before shipping.

The pseudonymisation service gives, for the contract shipped under, the erased pupils'
pseudonyms under it and under the provider's earlier contracts (with their keys). A
statement naming such a pupil is never shipped. A pupil recognised only through an
earlier contract (the register predates this contract, e.g. a renewal) is remembered by
identifier in memory so the connector declares the erasure again after the run: the
service then extends the register to this contract and the hub strips the pupil at
registration too.
"""

from __future__ import annotations

from collections.abc import Iterator
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


@dataclass
class ErasureFilter:
    """Raises ``ErasedPupil`` for statements naming an erased pupil (see module doc)."""

    current: frozenset[str] = frozenset()
    earlier: tuple[EarlierErasures, ...] = ()
    to_declare: set[str] = field(default_factory=set)

    def check(self, raw: dict[str, Any], pseudonyms: frozenset[str]) -> None:
        """``pseudonyms``: the statement's pseudonyms under the current contract."""
        if not self.current.isdisjoint(pseudonyms):
            raise ErasedPupil
        for identifier in _identifiers(raw) if self.earlier else ():
            if any(pseudonym(e.key, identifier) in e.pseudonyms for e in self.earlier):
                self.to_declare.add(identifier)
                raise ErasedPupil

    def __bool__(self) -> bool:
        return bool(self.current or self.earlier)
