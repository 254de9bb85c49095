"""A small C2SP ``tlog-witness``: cosigns a log's checkpoints only when they extend the
last one it cosigned.

It holds its own Ed25519 key and a state file with the latest cosigned checkpoint per
origin (written atomically before answering). ``POST /add-checkpoint`` takes
``old <size>``, the consistency proof lines, an empty line and the signed checkpoint, and
answers (C2SP ``tlog-witness``): 200 with the cosignature line; 404 for an unknown origin;
403 when no signature is from the log's trusted key; 400 for a malformed request or
``old`` above the new size; 409 (``text/x.tlog.size``, the latest cosigned size) when
``old`` is not the size it last cosigned, or for another root at the same size; 422 when
the consistency proof does not hold. ``GET /checkpoint?origin=...`` returns the latest
cosigned checkpoint (the hub's note with the cosignature), for ``edh audit verify``.

Nothing here imports the hub's database: a witness runs on another machine.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.note import (
    COSIGNATURE_V1,
    NoteError,
    Verifier,
    cosign_line,
    join_note,
    parse_checkpoint,
    split_note,
    verified_by,
)
from hub.trail.merkle import verify_consistency

MAX_BODY = 64 * 1024
MAX_PROOF = 63
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, content type and body."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> Answer:
    return Answer(status, (message + "\n").encode())


class Witness:
    """Cosigns checkpoints of the logs in ``logs`` (their verifier keys, named by origin)."""

    def __init__(
        self, name: str, key: Ed25519PrivateKey, state_file: Path, logs: list[Verifier]
    ) -> None:
        self.name = name
        self.key = key
        self.state_file = state_file
        self.logs = {log.name: log for log in logs}
        self._lock = threading.Lock()

    @property
    def verifier(self) -> Verifier:
        """The witness's cosigner key (give its ``vkey`` to the hub and the DPO)."""
        return Verifier(self.name, self.key.public_key(), COSIGNATURE_V1)

    def _state(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {}
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def _save(self, state: dict[str, Any]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".witness-state.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.state_file)

    def latest(self, origin: str) -> str | None:
        """The latest cosigned checkpoint note of ``origin``, with its cosignature."""
        entry = self._state().get(origin)
        return None if entry is None else str(entry["note"])

    def add_checkpoint(self, request: bytes) -> Answer:
        """Handle one ``add-checkpoint`` request body (see the module docstring)."""
        try:
            old, proof, note = _parse_request(request)
            body, lines = split_note(note)
            checkpoint = parse_checkpoint(body)
        except (NoteError, ValueError):
            return _text(400, "malformed add-checkpoint request")
        log = self.logs.get(checkpoint.origin)
        if log is None:
            return _text(404, "unknown log origin")
        if not any(verified_by(body, line, log) for line in lines):
            return _text(403, "no signature from the log's key")
        if old > checkpoint.size:
            return _text(400, "old size is above the checkpoint size")
        with self._lock:  # check and persist atomically
            state = self._state()
            known = state.get(checkpoint.origin, {"size": 0, "root": ""})
            if old != known["size"]:
                return Answer(409, f"{known['size']}\n".encode(), SIZE_TYPE)
            known_root = base64.b64decode(known["root"]) if known["root"] else b""
            if old == checkpoint.size and known_root != checkpoint.root:
                return _text(409, "another root at the same size")
            if old and not verify_consistency(
                old, checkpoint.size, known_root, checkpoint.root, proof
            ):
                return _text(422, "the consistency proof does not hold")
            if not old and proof:
                return _text(400, "a proof from size 0 must be empty")
            cosignature = cosign_line(body, self.name, self.key, int(time.time()))
            state[checkpoint.origin] = {
                "size": checkpoint.size,
                "root": base64.b64encode(checkpoint.root).decode(),
                "note": join_note(body, [*lines, cosignature]),
            }
            self._save(state)
        return Answer(200, (cosignature + "\n").encode())


def _parse_request(request: bytes) -> tuple[int, list[bytes], str]:
    """``(old size, proof hashes, checkpoint note)``; ``ValueError`` when malformed."""
    text = request.decode("utf-8")
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise ValueError("missing old size line")
    size_text = lines[0][4:]
    if not size_text.isdigit() or str(int(size_text)) != size_text:
        raise ValueError("malformed old size")
    proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    if len(proof) > MAX_PROOF or any(len(h) != 32 for h in proof):
        raise ValueError("malformed consistency proof")
    return int(size_text), proof, note


def request_body(old: int, proof: list[bytes], note: str) -> bytes:
    """An ``add-checkpoint`` request body."""
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


class _Handler(BaseHTTPRequestHandler):
    witness: Witness

    def _answer(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/add-checkpoint":
            self._answer(_text(404, "not found"))
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            self._answer(_text(400, "missing or oversized body"))
            return
        self._answer(self.witness.add_checkpoint(self.rfile.read(length)))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        origin = parse_qs(url.query).get("origin", [""])[0]
        note = self.witness.latest(origin) if url.path == "/checkpoint" else None
        if note is None:
            self._answer(_text(404, "no cosigned checkpoint"))
            return
        self._answer(Answer(200, note.encode()))

    def log_message(self, format: str, *args: Any) -> None:
        return


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for ``witness`` (call ``serve_forever``; port 0 picks a free one)."""
    handler = type("WitnessHandler", (_Handler,), {"witness": witness})
    return ThreadingHTTPServer((host, port), handler)
