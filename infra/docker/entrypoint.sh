#!/bin/sh
# Container entry point of the hub and the connector images.
# Secrets come from files: for every variable FILE__<NAME>=<path>, export <NAME> with the
# file's content (trailing newlines removed) and drop FILE__<NAME>; then run the command.
# A secret file that is missing or unreadable stops the container (exit 64), never a default.
set -eu
for name in $(env | sed -n 's/^FILE__\([A-Za-z_][A-Za-z0-9_]*\)=.*$/\1/p'); do
  eval "path=\${FILE__${name}}"
  if [ ! -r "$path" ]; then
    echo "edh-entrypoint: secret file for ${name} is missing or unreadable: ${path}" >&2
    exit 64
  fi
  value=$(cat "$path")
  export "${name}=${value}"
  unset "FILE__${name}"
done
exec "$@"
