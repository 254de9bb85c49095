#!/usr/bin/env bash
# Quick start, command 1: install, then run the hub with its demo on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/edh-demo "$@"
