#!/bin/bash
# Start Keycloak with its passwords read from secret files (Keycloak has no *_FILE support).
set -euo pipefail
KC_DB_PASSWORD=$(cat /run/secrets/keycloak_db_password)
KC_BOOTSTRAP_ADMIN_PASSWORD=$(cat /run/secrets/keycloak_admin_password)
export KC_DB_PASSWORD KC_BOOTSTRAP_ADMIN_PASSWORD
exec /opt/keycloak/bin/kc.sh start --import-realm
