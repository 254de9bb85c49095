#!/bin/sh
# First start of PostgreSQL only: the identity provider's own database and role.
set -eu
password=$(cat /run/secrets/keycloak_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v kc_password="$password" <<'SQL'
CREATE ROLE keycloak LOGIN PASSWORD :'kc_password';
CREATE DATABASE keycloak OWNER keycloak;
SQL
