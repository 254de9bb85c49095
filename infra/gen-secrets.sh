#!/bin/sh
# Create every secret the compose topology reads, under infra/secrets/ (never overwrites).
# Random passwords (hex, URL-safe), Ed25519 keys, a self-signed TLS pair for a trial:
# replace tls_cert.pem/tls_key.pem (and tls_ca.pem) with the real ones of EDH_PUBLIC_HOST.
set -eu
cd "$(dirname "$0")"
host=${EDH_PUBLIC_HOST:-localhost}
mkdir -p secrets
chmod 700 secrets
umask 022

new() { # <file> <command...>: write the command's output to secrets/<file> unless present
  file="secrets/$1"
  shift
  if [ ! -s "$file" ]; then
    "$@" >"$file"
    echo "created $file"
  fi
}
random() { openssl rand -hex 24; }
ed25519() { openssl genpkey -algorithm ed25519; }

new postgres_password random
new pseudonymisation_secret openssl rand -hex 32
new pseudonym_service_token openssl rand -hex 32
new pseudonym_token_pin random
new hub_secret openssl rand -hex 32
new keycloak_db_password random
new keycloak_admin_password random
new minio_root_user sh -c 'echo "edh-root-$(openssl rand -hex 4)"'
new minio_root_password random
new minio_hub_secret random
new minio_sandbox_secret random
new minio_erasure_secret random
new connector_xapi_secret random
new hub_signing_key.pem ed25519
new audit_signing_key.pem ed25519
new contract_signing_key.pem ed25519
new connector_signing_key.pem ed25519
new hub_database_url sh -c \
  "echo \"postgresql+psycopg://edh:\$(cat secrets/postgres_password)@postgres:5432/edh\""
new minio_connectors sh -c "grep -v '^[[:space:]]*\\(#\\|\$\\)' minio/connectors.conf \
  | while read -r id _; do echo \"\$id \$(openssl rand -hex 24)\"; done"
if [ ! -s secrets/tls_key.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=${host}" -addext "subjectAltName=DNS:${host}" \
    -keyout secrets/tls_key.pem -out secrets/tls_cert.pem 2>/dev/null
  echo "created secrets/tls_cert.pem and secrets/tls_key.pem (self-signed for ${host})"
fi
# CA bundle the hub trusts for TLS to the proxy: the trial certificate itself; with a
# certificate from a real CA, put that CA's bundle here instead.
new tls_ca.pem cat secrets/tls_cert.pem
# Readable by the containers' own users (bind mounts keep these modes); the directory
# itself stays private to the operator.
chmod 644 secrets/*
