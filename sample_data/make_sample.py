#!/usr/bin/env python
"""Regenerate the Jilin demonstration GeoPackage (see README.md in this folder).

    python sample_data/make_sample.py                      # → sample_data/jilin_sample.gpkg
    python sample_data/make_sample.py OUT.gpkg --scale 10  # 10× the features, for benchmarks

All logic lives in ``jilin_sample.py`` beside this script; this script only picks the default output path.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jilin_sample import main  # noqa: E402 - the generator sits beside this script

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        args = [str(Path(__file__).resolve().parent / "jilin_sample.gpkg"), *args]
    sys.exit(main(args))
