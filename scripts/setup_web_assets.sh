#!/usr/bin/env bash
# Install the viewer's and the maps' browser assets (markercluster, leaflet-draw, awesome-markers,
# Leaflet.VectorGrid for the vector tiles, Font Awesome, jQuery, Bootstrap) from the npm registry into web/node_modules, exactly as pinned
# by web/package-lock.json. The service serves them at /static/vendor/...; no page ever loads a CDN.
# Leaflet itself comes from the xstatic-leaflet PyPI package (a dependency in pyproject.toml).
#
# Idempotent: does nothing when web/node_modules already matches the lock file. --force reinstalls.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v npm >/dev/null 2>&1; then
  echo "setup_web_assets: npm not found; install Node.js 18+ (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

stamp=node_modules/.lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup_web_assets: web/node_modules is up to date with package-lock.json"
  exit 0
fi

npm ci --no-audit --no-fund --ignore-scripts --legacy-peer-deps
echo "$want" > "$stamp"
echo "setup_web_assets: installed $(ls node_modules | wc -l) packages into web/node_modules"
