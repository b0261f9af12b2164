"""Benchmark: serving the local basemap file's tiles (issue 18 item 9), our path against the obvious alternative.

Our path: the archive is opened once at start-up (MBTiles: one read-only SQLite connection; PMTiles: a memory map)
and every ``tile(z, x, y)`` is one indexed look-up. The obvious alternative: open the file for each tile request
(``sqlite3.connect`` + query + close; PMTiles: open + header + directory + read). Both read the same tiles of a
file built like the tests' (PNG tiles over Jilin, zooms 3–10: 907 tiles), in random order, interleaved
rounds. Also the HTTP route end to end (FastAPI TestClient, ``GET /basemap/{z}/{x}/{y}``) beside the same client's
``GET /conformance`` (a static JSON answer: the client's and the middleware's own cost).

    nice -n 10 .venv/bin/python bench/bench_basemap_tiles.py --rounds 5 --tiles 400

Prints the median µs per tile of each, and the ratio (alternative / ours)."""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from basemap_files import make_mbtiles, make_pmtiles, tiles  # noqa: E402

from gis_service.basemaps.archive import open_archive  # noqa: E402


def per_request_mbtiles(path: Path, z: int, x: int, y: int) -> bytes | None:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                         (z, x, (1 << z) - 1 - y)).fetchone()
        return bytes(row[0]) if row else None
    finally:
        db.close()


def per_request_pmtiles(path: Path, z: int, x: int, y: int) -> bytes | None:
    from pmtiles.reader import MmapSource, Reader

    with open(path, "rb") as f:
        return Reader(MmapSource(f)).get(z, x, y)


def timed(fn, addrs) -> float:
    t0 = time.perf_counter()
    for a in addrs:
        assert fn(*a) is not None
    return (time.perf_counter() - t0) / len(addrs) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tiles", type=int, default=400)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        zooms = range(3, 11)
        mb = make_mbtiles(Path(d) / "b.mbtiles", zooms=zooms)
        pm = make_pmtiles(Path(d) / "b.pmtiles", zooms=zooms)
        every = list(tiles(zooms=zooms))
        print(f"{len(every)} tiles per file; {args.tiles} random tiles per round, {args.rounds} rounds")
        from fastapi.testclient import TestClient

        from gis_service.api.app import create_app
        from gis_service.config import Settings

        results: dict[str, list[float]] = {}
        for kind, path, alt in (("mbtiles", mb, per_request_mbtiles), ("pmtiles", pm, per_request_pmtiles)):
            archive = open_archive(path)
            client = TestClient(create_app(Settings(basemap_file=path, log_level="WARNING")))

            def http(z, x, y, client=client):
                r = client.get(f"/basemap/{z}/{x}/{y}")
                return r.content if r.status_code == 200 else None

            for _ in range(args.rounds):
                addrs = random.sample(every, args.tiles)
                results.setdefault(f"{kind} ours (open once)", []).append(timed(archive.tile, addrs))
                results.setdefault(f"{kind} open per tile", []).append(timed(lambda *a, p=path, f=alt: f(p, *a), addrs))
                results.setdefault(f"{kind} HTTP GET /basemap", []).append(timed(http, addrs[: args.tiles // 4]))
                results.setdefault("HTTP GET /conformance (baseline)", []).append(
                    timed(lambda *a, c=client: c.get("/conformance").content, addrs[: args.tiles // 4]))
            archive.close()
        med = {k: statistics.median(v) for k, v in results.items()}
        for k, v in med.items():
            print(f"{k:32s} median {v:8.1f} µs/tile")
        for kind in ("mbtiles", "pmtiles"):
            print(f"{kind}: open per tile / ours = {med[f'{kind} open per tile'] / med[f'{kind} ours (open once)']:.1f}×")


if __name__ == "__main__":
    main()
