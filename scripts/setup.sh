#!/usr/bin/env bash
# Prepare a checkout: Python virtual environment with the package and its test tools, offline web
# assets, and the Jilin sample dataset. Idempotent; safe to run before every command.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "== installing Python dependencies" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,sample]"
  touch "$stamp"
fi
if [ -x scripts/setup_web_assets.sh ] || [ -f scripts/setup_web_assets.sh ]; then
  bash scripts/setup_web_assets.sh
fi
# Rebuild the sample when it is missing or when its generator, data tables, layer specs or the service code it
# calls (sensors, depots/shelters/plans, GB 18218 grading) changed.
sample_stamp=sample_data/.built-$(cat sample_data/*.py gis_service/data/*.csv layers/*.yaml \
  gis_service/monitoring/sample.py gis_service/analysis/resources/sample.py gis_service/analysis/grading.py \
  gis_service/models/grading.py | sha1sum | cut -c1-12)
if [ ! -f sample_data/jilin_sample.gpkg ] || [ ! -f "$sample_stamp" ]; then
  echo "== building the Jilin sample dataset" >&2
  rm -f sample_data/.built-*
  .venv/bin/python sample_data/make_sample.py
  touch "$sample_stamp"
fi
