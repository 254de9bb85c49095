#!/bin/sh
# One-shot MinIO set-up (idempotent): buckets, versioning, object lock, policies, identities.
set -eu
dir=$(dirname "$0")
retention_days=${EDH_AUDIT_RETENTION_DAYS:-365}
mc alias set edh http://minio:9000 "$(cat /run/secrets/minio_root_user)" \
  "$(cat /run/secrets/minio_root_password)" >/dev/null

# The lake: every overwrite or delete keeps the previous version.
mc mb --ignore-existing edh/edh-lake
mc version enable edh/edh-lake
# Audit exports and published checkpoints (EDH_AUDIT__PUBLISH_TO=object-store, prefix
# audit-witness/): object lock (write once), compliance-mode retention; the hub may put
# and read there, never delete (policy-hub.json).
if ! mc stat edh/edh-audit >/dev/null 2>&1; then
  mc mb --with-lock edh/edh-audit
fi
mc retention set --default COMPLIANCE "${retention_days}d" edh/edh-audit

add_identity() { # <user> <policy name> <policy file> <secret>
  mc admin policy create edh "$2" "$3"
  mc admin user add edh "$1" "$4"
  mc admin policy attach edh "$2" --user "$1" >/dev/null 2>&1 || true
}
add_identity edh-hub edh-hub "$dir/policy-hub.json" "$(cat /run/secrets/minio_hub_secret)"
add_identity edh-sandbox edh-sandbox "$dir/policy-sandbox.json" \
  "$(cat /run/secrets/minio_sandbox_secret)"
# A pupil's erasure: the only identity allowed to delete object versions (the hub's own
# policy grants no s3:DeleteObjectVersion, so every other delete leaves a version behind).
add_identity edh-erasure edh-erasure "$dir/policy-erasure.json" \
  "$(cat /run/secrets/minio_erasure_secret)"

grep -v '^[[:space:]]*\(#\|$\)' "$dir/connectors.conf" | while read -r connector provider; do
  case "${connector}${provider}" in
    *[!a-z0-9-]*) echo "minio-init: ids must be [a-z0-9-]: ${connector} ${provider}" >&2; exit 1 ;;
  esac
  secret=$(awk -v id="$connector" '$1 == id { print $2 }' /run/secrets/minio_connectors)
  if [ -z "$secret" ]; then
    echo "minio-init: no secret for connector ${connector} in minio_connectors" >&2
    exit 1
  fi
  policy_file=$(mktemp)
  sed "s/@PROVIDER_ID@/${provider}/g" "$dir/policy-connector.json.tmpl" >"$policy_file"
  add_identity "connector-${connector}" "connector-${connector}" "$policy_file" "$secret"
  rm -f "$policy_file"
done
echo "minio-init: done"
