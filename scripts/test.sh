#!/usr/bin/env bash
# Run the whole test suite. PostGIS tests skip when no server answers and browser tests skip
# without Chromium, unless GIS_REQUIRE_POSTGIS=1 / GIS_REQUIRE_BROWSER=1 (CI sets both).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .            # lint, imports, complexity (mccabe C901 ≤ 14)
.venv/bin/mypy                    # types of gis_service/ (configuration in pyproject.toml)
exec .venv/bin/python -m pytest "$@"
