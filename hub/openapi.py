"""The published OpenAPI document, true to what the hub answers: every operation lists
the RFC 9457 problem responses the error handlers produce (``hub.errors``) instead of
FastAPI's 422, which the hub never sends."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from contracts.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; extension members may follow.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "instance"],
}
PROBLEMS = {
    "400": "Malformed or invalid input (the parameter is named)",
    "401": "Authentication required or failed",
    "403": "Role or policy refusal (reasons given)",
    "404": "Not found",
    "405": "Method not allowed",
    "409": "Conflict with the current state",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "503": "A dependency (database, policy engine, audit log, store) is unavailable; retry",
}


def _with_problems(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for status, description in PROBLEMS.items():
        responses.setdefault(
            status, {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}
        )


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (``/openapi.json``) document the problem responses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = PROBLEM_SCHEMA
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    _with_problems(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
