#!/usr/bin/env bash
# Run the production topology on loopback and break it (docs/operations.md, "Cluster harness"):
#   scripts/cluster.sh [--kills N] [--seconds S] [--seed X] [--overlap SHARE] [--connectors 1-3] [--keep]
# Needs what scripts/test-services.sh provides (PostgreSQL on 127.0.0.1:5432, nginx, openssl).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m tests.cluster "$@"
