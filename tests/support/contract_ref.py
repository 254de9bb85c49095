"""A contract as key derivation sees it (id and master key version), for tests that
derive keys of contracts they name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContractRef:
    id: str
    key_version: str = "v1"
