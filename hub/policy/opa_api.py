"""A small server speaking the OPA REST API, evaluating with the real OPA engine.

It answers the part of OPA's API the hub's server adapter (``hub.policy.server``) and a
cluster harness use, with OPA's status codes and bodies:

- ``PUT /v1/policies/{id}`` (Rego text; 400 when it does not compile), ``GET`` and
  ``DELETE /v1/policies/{id}``, ``GET /v1/policies``;
- ``PUT /v1/data/{path}`` (JSON, 204; replaces the document), ``GET``/``POST
  /v1/data/{path}`` (``{"result": ...}``, no ``result`` when undefined; ``POST`` takes
  ``{"input": ...}``), ``DELETE /v1/data/{path}`` (204, 404 when absent);
- ``GET /health`` (``{}``; with ``?bundles`` 500 until policies are loaded) and
  ``GET /v1/status`` (the loaded bundle: module ids and a revision).

Every change builds a fresh engine from all policies and data and swaps it in, so an
answer given after a ``PUT`` returns sees it. Evaluation errors answer 500
``internal_error``; anything else malformed 400 ``invalid_parameter``. It is started by
the tests and by ``edh policy serve-opa-api`` (loopback by default: it has no
authentication, like an OPA without an authorization policy).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

log = logging.getLogger("hub.policy.opa_api")

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_POLICY_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,200}$")
MAX_BODY = 64 * 1024 * 1024


class ApiError(Exception):
    """An OPA-style error answer: status, ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _keys(path: str) -> list[str]:
    if path and not _PATH.match(path):
        raise ApiError(400, "invalid_parameter", f"invalid data path {path[:80]!r}")
    return path.split("/") if path else []


class OpaState:
    """Policies and data, and the engine built from them (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.policies: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self._engine = self._build(self.policies, self.data)

    @staticmethod
    def _build(policies: dict[str, str], data: dict[str, Any]) -> OpaEngine:
        engine = OpaEngine()
        try:
            for policy_id, source in policies.items():
                engine.add_policy(policy_id, source)
            engine.add_data(data)
        except OpaError as exc:
            engine.close()
            raise ApiError(400, "invalid_parameter", str(exc)) from exc
        return engine

    def _swap(self, policies: dict[str, str], data: dict[str, Any]) -> None:
        """Build an engine for ``policies`` and ``data``; keep them only if it loads."""
        engine = self._build(policies, data)
        old, self._engine = self._engine, engine
        self.policies, self.data = policies, data
        old.close()

    def put_policy(self, policy_id: str, source: str) -> None:
        with self._lock:
            self._swap({**self.policies, policy_id: source}, self.data)

    def delete_policy(self, policy_id: str) -> None:
        with self._lock:
            if policy_id not in self.policies:
                raise ApiError(404, "resource_not_found", f"policy {policy_id} not found")
            self._swap({k: v for k, v in self.policies.items() if k != policy_id}, self.data)

    def put_data(self, path: str, document: Any) -> None:
        keys = _keys(path)
        with self._lock:
            if not keys:
                if not isinstance(document, dict):
                    raise ApiError(400, "invalid_parameter", "root data must be an object")
                self._swap(self.policies, document)
                return
            data = json.loads(json.dumps(self.data))
            node = data
            for key in keys[:-1]:
                child = node.get(key)
                node = node.setdefault(key, {}) if child is None else child
                if not isinstance(node, dict):
                    raise ApiError(400, "invalid_parameter", f"{key} is not an object")
            node[keys[-1]] = document
            self._swap(self.policies, data)

    def delete_data(self, path: str) -> None:
        keys = _keys(path)
        with self._lock:
            data = json.loads(json.dumps(self.data))
            node = data
            for key in keys[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if not keys or not isinstance(node, dict) or keys[-1] not in node:
                raise ApiError(404, "resource_not_found", f"storage path /{path} not found")
            del node[keys[-1]]
            self._swap(self.policies, data)

    def evaluate(self, path: str, input: Any) -> tuple[bool, Any]:
        """``(defined, value)`` of ``data.<path>`` for ``input``."""
        dotted = ".".join(_keys(path))
        with self._lock:
            engine = self._engine
            try:
                return True, engine.eval_document(dotted, input)
            except OpaUndefinedError:
                return False, None
            except OpaError as exc:
                raise ApiError(500, "internal_error", str(exc)) from exc

    def revision(self) -> str:
        with self._lock:
            text = json.dumps(self.policies, sort_keys=True).encode()
        return hashlib.sha256(text).hexdigest()


class OpaApiHandler(BaseHTTPRequestHandler):
    """Routes one request of the OPA REST API to the server's :class:`OpaState`."""

    server: OpaApiServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: Any = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            raise ApiError(400, "invalid_parameter", "missing or oversized Content-Length")
        return self.rfile.read(int(length))

    def _json_body(self) -> Any:
        raw = self._body()
        try:
            return json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "invalid_parameter", "body is not JSON") from exc

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        try:
            status, body = self._route(method, parts.path.rstrip("/"), parse_qs(parts.query))
        except ApiError as exc:
            status, body = exc.status, {"code": exc.code, "message": exc.message}
        self._send(status, body)

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        state = self.server.state
        if path == "/health" and method == "GET":
            if "bundles" in query and not state.policies:
                return 500, {"error": "bundles not activated"}
            return 200, {}
        if path == "/v1/status" and method == "GET":
            bundle = {"name": "edh", "active_revision": state.revision()}
            return 200, {"result": {"bundles": {"edh": bundle}, "plugins": {}}}
        if path == "/v1/policies" and method == "GET":
            items = [{"id": k, "raw": v} for k, v in state.policies.items()]
            return 200, {"result": items}
        if path.startswith("/v1/policies/"):
            return self._policy(method, path.removeprefix("/v1/policies/"))
        if path == "/v1/data" or path.startswith("/v1/data/"):
            return self._data(method, path.removeprefix("/v1/data").lstrip("/"))
        raise ApiError(404, "resource_not_found", "no such endpoint")

    def _policy(self, method: str, policy_id: str) -> tuple[int, Any]:
        state = self.server.state
        if not _POLICY_ID.match(policy_id):
            raise ApiError(400, "invalid_parameter", "invalid policy id")
        if method == "PUT":
            try:
                source = self._body().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ApiError(400, "invalid_parameter", "policy is not UTF-8") from exc
            state.put_policy(policy_id, source)
            return 200, {}
        if method == "GET" and policy_id in state.policies:
            return 200, {"result": {"id": policy_id, "raw": state.policies[policy_id]}}
        if method == "DELETE":
            state.delete_policy(policy_id)
            return 200, {}
        raise ApiError(404, "resource_not_found", f"policy {policy_id} not found")

    def _data(self, method: str, path: str) -> tuple[int, Any]:
        state = self.server.state
        if method == "PUT":
            state.put_data(path, self._json_body())
            return 204, None
        if method == "DELETE":
            state.delete_data(path)
            return 204, None
        body = self._json_body() if method == "POST" else None
        if body is not None and not isinstance(body, dict):
            raise ApiError(400, "invalid_parameter", 'body must be {"input": ...}')
        defined, value = state.evaluate(path, (body or {}).get("input"))
        return 200, ({"result": value} if defined else {})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


class OpaApiServer(ThreadingHTTPServer):
    """The OPA REST API on ``(host, port)``; ``port`` 0 picks a free one."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), OpaApiHandler)
        self.state = OpaState()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a daemon thread (stop with ``shutdown()`` then ``server_close()``)."""
        thread = threading.Thread(target=self.serve_forever, name="opa-api", daemon=True)
        thread.start()
        return thread
