"""Durations compared as xAPI 2.0 §4.2.7 says: to 0.01 second precision.

``PT1.1237S`` and ``PT1.12S`` are the same duration for statement comparison (re-posting
an id, a signed statement's JWS payload against its body); the stored statement keeps
what the client sent.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

_SECONDS = re.compile(r"(\d+(?:\.\d+)?)S$")


def truncated(duration: str) -> str:
    """``duration`` with its seconds truncated to hundredths, in one canonical spelling."""
    match = _SECONDS.search(duration)
    if match is None:
        return duration
    hundredths = int(Decimal(match.group(1)) * 100)
    return f"{duration[: match.start()]}{hundredths // 100}.{hundredths % 100:02d}S"


def _with_result_duration(holder: dict[str, Any]) -> dict[str, Any]:
    result = holder.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("duration"), str):
        return holder
    return {**holder, "result": {**result, "duration": truncated(result["duration"])}}


def comparable(statement: dict[str, Any]) -> dict[str, Any]:
    """``statement`` with the durations of its result and sub-statement's result truncated
    to 0.01 s, for comparisons only."""
    statement = _with_result_duration(statement)
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        statement = {**statement, "object": _with_result_duration(obj)}
    return statement
