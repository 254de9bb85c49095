"""Usage policies: Rego evaluated by a real OPA engine (in-process or server)."""
