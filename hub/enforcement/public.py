"""Enforcement's published interface: the only module other areas and the pages import.

Enforcement owns every access decision: ``decide`` asks the policy engine (no side
effect), ``check`` decides and audits (a refusal ends the caller's transaction and raises
``Forbidden``, an engine or data outage ``PolicyUnavailable``), ``operator_action`` puts an
audited decision in front of an operator endpoint. An area that owns facts the policies
read describes them as ``PolicyDocument`` values, which the app gathers and hands to
enforcement, so enforcement imports no area. The decisions it hands out
(``hub.policy.port.PolicyDecision``) are frozen values.
"""

from __future__ import annotations

from hub.enforcement.data import PolicyDocument
from hub.enforcement.enforce import check, decide
from hub.enforcement.gate import operator_action

__all__ = ["PolicyDocument", "check", "decide", "operator_action"]
