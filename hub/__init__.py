"""Education Data Hub: the control plane (registry, contracts, policy, ingest, catalog, audit)."""
