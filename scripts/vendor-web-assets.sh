#!/usr/bin/env bash
# Vendor the web assets the hub serves itself (no CDN): the État's design system (DSFR,
# npm @gouvfr/dsfr) and Swagger UI (npm swagger-ui-dist), at pinned versions, with their
# licences, into hub/web/static/. Only the files the pages use are copied; the result is
# committed, so the hub and its tests need no npm. Rerun after changing a version below.
set -euo pipefail
cd "$(dirname "$0")/.."
DSFR_VERSION=1.15.3
SWAGGER_UI_VERSION=5.36.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@gouvfr/dsfr@$DSFR_VERSION" "swagger-ui-dist@$SWAGGER_UI_VERSION" >/dev/null)
mkdir -p "$work/dsfr" "$work/swagger"
tar -xzf "$work/gouvfr-dsfr-$DSFR_VERSION.tgz" -C "$work/dsfr" --strip-components=1
tar -xzf "$work/swagger-ui-dist-$SWAGGER_UI_VERSION.tgz" -C "$work/swagger" --strip-components=1

dsfr=hub/web/static/dsfr
rm -rf "$dsfr" && mkdir -p "$dsfr/fonts" "$dsfr/favicon"
cp "$work/dsfr/LICENSE.md" "$work/dsfr/dist/dsfr.min.css" "$work/dsfr/dist/dsfr.module.min.js" "$dsfr/"
cp "$work/dsfr/dist/fonts/"*.woff2 "$dsfr/fonts/"
cp "$work/dsfr/dist/favicon/favicon.svg" "$work/dsfr/dist/favicon/favicon.ico" "$dsfr/favicon/"
# The icons the design system's CSS itself draws (alerts, links, menus, pagination...).
grep -o 'url(icons/[^)]*)' "$dsfr/dsfr.min.css" | sed 's/^url(//; s/)$//' | sort -u |
  while read -r icon; do
    mkdir -p "$dsfr/$(dirname "$icon")"
    cp "$work/dsfr/dist/$icon" "$dsfr/$icon"
  done
echo "@gouvfr/dsfr $DSFR_VERSION" > "$dsfr/VERSION"

swagger=hub/web/static/swagger-ui
rm -rf "$swagger" && mkdir -p "$swagger"
cp "$work/swagger/"{LICENSE,NOTICE,swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png} "$swagger/"
echo "swagger-ui-dist $SWAGGER_UI_VERSION" > "$swagger/VERSION"
du -sh "$dsfr" "$swagger"
