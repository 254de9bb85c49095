#!/usr/bin/env bash
# The data-space demo: the demo hub (provider, `edh-demo`) and a lab's hub (consumer,
# `edh serve`), each its own process. The lab discovers the demo dataset, negotiates
# through the ethics gate and receives a sandbox data address, all over the Dataspace
# Protocol (`edh dataspace-demo`). Both hubs keep running afterwards; Ctrl-C stops them.
# EDH_DEMO_EXIT=1 stops them once the walk is done (used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/edh ] || scripts/bootstrap.sh
provider_port=${PROVIDER_PORT:-8000}
lab_port=${LAB_PORT:-8001}
dir=${EDH_DEMO_DIR:-.edh-demo-dataspace}
mkdir -p "$dir"
EDH_PUBLIC_URL="http://127.0.0.1:$provider_port" \
  .venv/bin/edh-demo --port "$provider_port" --data-dir "$dir/provider" >"$dir/provider.log" 2>&1 &
provider=$!
EDH_DEV_MODE=true EDH_DATA_DIR="$dir/lab" EDH_PUBLIC_URL="http://127.0.0.1:$lab_port" \
  .venv/bin/edh serve --port "$lab_port" >"$dir/lab.log" 2>&1 &
lab=$!
trap 'kill "$provider" "$lab" 2>/dev/null || true' EXIT
.venv/bin/edh dataspace-demo \
  --provider "http://127.0.0.1:$provider_port" --provider-dir "$dir/provider" \
  --lab "http://127.0.0.1:$lab_port" --lab-dir "$dir/lab"
if [ "${EDH_DEMO_EXIT:-0}" != 1 ]; then
  echo "provider hub: http://127.0.0.1:$provider_port  lab hub: http://127.0.0.1:$lab_port (Ctrl-C to stop)"
  wait
fi
