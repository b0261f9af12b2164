#!/usr/bin/env bash
# Start the service on the embedded store (GeoPackage, no server) with the Jilin sample data.
# Any GIS_* variable overrides the default (see gis_service/config.py); extra args go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gis-service serve "$@"
