#!/usr/bin/env bash
# Install the viewer's and the maps' browser assets (markercluster, leaflet-draw, awesome-markers,
# Leaflet.VectorGrid for the vector tiles, Font Awesome, jQuery, Bootstrap) from the npm registry into web/node_modules, exactly as pinned
# by web/package-lock.json. The service serves them at /static/vendor/...; no page ever loads a CDN.
# Leaflet itself comes from the xstatic-leaflet PyPI package (a dependency in pyproject.toml).
# Then bundles the viewer's ES modules (web/main.js and everything it imports) into one minified file,
# web/dist/viewer.bundle.js, with esbuild (a devDependency in the same lock file; no network), and records the
# SHA-256 of every source in web/dist/viewer.bundle.sha256: the service serves the bundle only while those
# sources are unchanged, else the modules themselves (gis_service/maps/bundle.py). web/dist/ is not committed.
#
# Idempotent: installs nothing when web/node_modules already matches the lock file (--force reinstalls);
# the bundle is rebuilt every run (esbuild takes well under a second).
set -euo pipefail
cd "$(dirname "$0")/../web"

build_bundle() {
  # the sources the service checks (bundle.py SOURCES): the entry, the viewer, monitoring and every module in js/
  local tmp=dist/.viewer.bundle.$$
  mkdir -p dist
  node_modules/.bin/esbuild main.js --bundle --minify --format=esm --target=es2019 --legal-comments=none \
    --log-level=warning --outfile="$tmp.js"
  sha256sum main.js viewer.js monitoring.js js/*.js > "$tmp.sha256"
  mv -f "$tmp.js" dist/viewer.bundle.js          # the bundle first: a new bundle with old sums is refused as stale
  mv -f "$tmp.sha256" dist/viewer.bundle.sha256
  echo "setup_web_assets: bundled the viewer's modules into web/dist/viewer.bundle.js ($(wc -c < dist/viewer.bundle.js) bytes)"
}

if ! command -v npm >/dev/null 2>&1; then
  echo "setup_web_assets: npm not found; install Node.js 18+ (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

stamp=node_modules/.lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup_web_assets: web/node_modules is up to date with package-lock.json"
else
  npm ci --no-audit --no-fund --ignore-scripts --legacy-peer-deps
  echo "$want" > "$stamp"
  echo "setup_web_assets: installed $(ls node_modules | wc -l) packages into web/node_modules"
fi
build_bundle
