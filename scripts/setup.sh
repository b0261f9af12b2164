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
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
if [ -x scripts/setup_web_assets.sh ] || [ -f scripts/setup_web_assets.sh ]; then
  bash scripts/setup_web_assets.sh
fi
if [ ! -f sample_data/jilin_sample.gpkg ]; then
  echo "== building the Jilin sample dataset" >&2
  .venv/bin/python sample_data/make_sample.py
fi
