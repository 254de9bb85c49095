"""Building the configured PolicyEngine and attaching it to the hub's context."""

from __future__ import annotations

from hub.config import PolicySettings
from hub.context import HubContext
from hub.enforcement.data import Documents, PolicyDataSync, install
from hub.policy.bundle import PolicyBundle
from hub.policy.inprocess import InProcessPolicyEngine
from hub.policy.port import PolicyEngine, PolicyEngineError
from hub.policy.server import OpaServerPolicyEngine, client_for


def build_policy_engine(settings: PolicySettings) -> PolicyEngine:
    """The in-process OPA engine, or the OPA server client when ``engine=server``.

    Raises ``PolicyEngineError`` when the policies do not load.
    """
    bundle = PolicyBundle.load(settings.directory)
    if settings.engine == "server":
        client = client_for(settings.server_url, settings.timeout_seconds)
        return OpaServerPolicyEngine(bundle, client)
    return InProcessPolicyEngine(bundle)


def attach_policy(ctx: HubContext, documents: Documents) -> PolicyDataSync:
    """Set ``ctx.policy``, publish the areas' data ``documents``, keep them fresh, add
    ``policy`` to the health checks."""
    policy = build_policy_engine(ctx.settings.policy)
    ctx.policy = policy
    sync = install(ctx.engine, policy, documents)

    def health() -> None:
        policy.health()
        if sync.is_stale:
            raise PolicyEngineError("policy data documents are stale (last refresh failed)")

    ctx.health_checks["policy"] = health
    return sync
