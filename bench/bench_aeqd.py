"""Benchmark: the local AEQD transformers built from their PROJ pipeline (ours) against ``Transformer.from_crs``
(the obvious route, and ours until 5 Dec 2026), side by side.

Every buffer, plume footprint, QRA grid and exposure zone is drawn in an azimuthal equidistant plane centred on its
feature, so a batch builds one transformer pair per feature. ``from_crs`` finds the operation by searching PROJ's
database; the pipeline string is that operation written out. The bench builds ``--n`` pairs for distinct centres
both ways (interleaved rounds, so load falls on both alike), checks that both give the same coordinates bit for
bit, and prints the median microseconds per pair and the ratio.

    .venv/bin/python bench/bench_aeqd.py --n 300 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from pyproj import CRS, Transformer

from gis_service import geodesy


def crs_pair(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    wgs84 = CRS.from_epsg(4326)
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.9f} +lon_0={lon0:.9f} +datum=WGS84 +units=m +no_defs")
    return Transformer.from_crs(wgs84, aeqd, always_xy=True), Transformer.from_crs(aeqd, wgs84, always_xy=True)


def pipeline_pair(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    return geodesy._aeqd_pair.__wrapped__(lon0, lat0)   # the service's own builder, without its cache


def timed(build, centres) -> tuple[float, list]:
    t = time.perf_counter()
    pairs = [build(lon, lat) for lon, lat in centres]
    return (time.perf_counter() - t) / len(centres) * 1e6, pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="transformer pairs per round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    ours, theirs = [], []
    for r in range(args.rounds):
        centres = [(round(float(x), 9), round(float(y), 9))
                   for x, y in zip(rng.uniform(73, 135, args.n), rng.uniform(18, 54, args.n), strict=True)]
        order = [("ours", pipeline_pair), ("from_crs", crs_pair)]
        results = {}
        for name, build in order if r % 2 == 0 else order[::-1]:
            results[name] = timed(build, centres)
        ours.append(results["ours"][0])
        theirs.append(results["from_crs"][0])
        lon = np.array([c[0] for c in centres]) + 0.01
        lat = np.array([c[1] for c in centres]) + 0.01
        for (fo, io), (fc, ic), x, y in zip(results["ours"][1], results["from_crs"][1], lon, lat, strict=True):
            a, b = fo.transform(x, y), fc.transform(x, y)
            assert a == b and io.transform(*a) == ic.transform(*b), "the two routes disagree"
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"{args.n} transformer pairs × {args.rounds} rounds (same coordinates bit for bit in every round)")
    print(f"  ours (PROJ pipeline): median {o:8.1f} µs per pair")
    print(f"  Transformer.from_crs: median {t:8.1f} µs per pair")
    print(f"  from_crs / ours = {t / o:.0f}×")


if __name__ == "__main__":
    main()
