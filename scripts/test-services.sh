#!/usr/bin/env bash
# Make sure the real services the tests use are there: PostgreSQL (the machine's), Chromium,
# nginx (the cluster harness's proxy).
# The S3 server and the Kafka-protocol broker are started by the test fixtures themselves.
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
# infra tests: infra/gen-secrets.sh makes keys and certificates with openssl.
if ! command -v openssl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq openssl >/dev/null
fi
# key custody tests: a PKCS#11 token (SoftHSM2) holding the pseudonymisation keys.
if [ ! -e /usr/lib/softhsm/libsofthsm2.so ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq softhsm2 >/dev/null
fi
# cluster harness (scripts/cluster.sh): the proxy of infra/proxy/nginx.conf.
if [ ! -x /usr/sbin/nginx ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nginx-light >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
