#!/bin/sh
# Start of the pseudonymisation service container (run after the image's entry point has
# turned the FILE__ secrets into variables). On first start: a SoftHSM2 token on the
# service's own volume, and the master secret imported into it once as key version v1
# (non-extractable from then on). Then `edh pseudonym serve` on port 8010.
set -eu
: "${SOFTHSM2_CONF:?}" "${EDH_PSEUDONYM__TOKEN_LABEL:?}" "${EDH_PSEUDONYM__PIN:?}"
state=$(dirname "$SOFTHSM2_CONF")
if [ ! -s "$SOFTHSM2_CONF" ]; then
  mkdir -p "$state/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\n' "$state" >"$SOFTHSM2_CONF"
fi
if ! softhsm2-util --show-slots | grep -q "Label: *${EDH_PSEUDONYM__TOKEN_LABEL} *$"; then
  softhsm2-util --init-token --free --label "$EDH_PSEUDONYM__TOKEN_LABEL" \
    --pin "$EDH_PSEUDONYM__PIN" --so-pin "$EDH_PSEUDONYM__PIN" >/dev/null
  edh pseudonym keys import v1 --secret-file /run/secrets/pseudonymisation_secret
fi
exec edh pseudonym serve --host 0.0.0.0 --port 8010
