"""The connector's durable pipeline state: next batch sequence number and source cursors.

Saved atomically (write, fsync, rename) after each batch the hub has registered. A crash
before the save replays that batch with the same sequence number, which the hub
recognises (idempotent), so nothing is lost and nothing is registered twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PipelineState:
    """``next_sequence`` is per connector; ``cursors`` map a source id to its position."""

    path: Path
    next_sequence: int = 1
    cursors: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> PipelineState:
        """The saved state at ``path`` (a fresh one if absent)."""
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        return cls(
            path, int(data["next_sequence"]), {k: int(v) for k, v in data["cursors"].items()}
        )

    def advance(self, source: str, cursor: int, used_sequence: bool) -> None:
        """Record a finished batch and persist durably."""
        self.cursors[source] = cursor
        if used_sequence:
            self.next_sequence += 1
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            json.dump({"next_sequence": self.next_sequence, "cursors": self.cursors}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
