"""CQL2 over HTTP: a filtered page from our service vs from tipg itself, on the same PostGIS tables and filters.

    python -m venv /tmp/tipg && /tmp/tipg/bin/pip install tipg "uvicorn[standard]"     # once (tipg is not ours)
    python bench/bench_cql2_tipg.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/gis_national \\
        --tipg-python /tmp/tipg/bin/python [--repeat 5]

The filters are ``bench_cql2.CASES`` (comparison, LIKE, IN, BETWEEN and S_INTERSECTS on the national set), sent as
``filter-lang=cql2-text`` with ``limit=100`` to both servers (tipg 1.6 answers 500 to its own ``S_INTERSECTS`` with a
``BBOX``, so tipg gets the box as ``bbox=`` and the rest of the filter as CQL2: the same selection) (one uvicorn worker each), ordered by id on both
(``sortby=id`` for tipg; ours pages by id), one request at a time, the two servers taking turns. The first page's
ids are compared: both must answer the same features. Printed: median ms per page, ours / tipg, and each side's
``numberMatched`` (tipg counts the whole selection on every page; ours counts up to ``GIS_MATCHED_COUNT_CAP`` and
omits it above, see the README).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cql2 import CASES  # noqa: E402
from bench_tiles_tipg import Tipg  # noqa: E402
from conftest import ServerProcess  # noqa: E402


def tipg_query(text: str, bbox: tuple) -> dict:
    """The same selection for tipg: its CQL2 ``S_INTERSECTS`` with a ``BBOX`` fails (the envelope gets SRID 0:
    "Operation on mixed SRID geometries"), so the spatial part goes in its ``bbox`` parameter, the rest stays CQL2."""
    spatial = " AND S_INTERSECTS(geometry, BBOX({},{},{},{}))".format(*bbox)
    rest = text.replace(spatial, "") if spatial in text else ""
    if not rest and text != "S_INTERSECTS(geometry, BBOX({},{},{},{}))".format(*bbox):
        raise ValueError(f"cannot split {text!r}")
    q = {"bbox": ",".join(map(str, bbox)), "limit": 100, "sortby": "id"}
    return {**q, "filter": rest, "filter-lang": "cql2-text"} if rest else q


def page(port: int, path: str) -> tuple[float, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Accept": "application/geo+json"})
    resp = conn.getresponse()
    body = resp.read()
    dt = (time.perf_counter() - t0) * 1000
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{path}: HTTP {resp.status} {body[:300]!r}")
    return dt, json.loads(body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--tipg-python", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    plain = args.pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    print(f"load average at start: {os.getloadavg()[0]:.1f}; limit 100, median of {args.repeat}")
    print(f"{'layer':<15} {'ours ms':>9} {'tipg ms':>9} {'ours/tipg':>9}  {'matched ours':>12} {'matched tipg':>12}  filter")
    with ServerProcess({"GIS_STORE": "postgis", "GIS_DATABASE_URL": args.pg_url}) as ours, \
            Tipg(args.tipg_python, plain) as tipg:
        for layer, text, bbox, _pred in CASES:
            q = {"filter": text, "filter-lang": "cql2-text", "limit": 100}
            tq = tipg_query(text, bbox)
            paths = {"ours": (ours.port, f"/collections/{layer}/items?{urlencode(q)}"),
                     "tipg": (tipg.port, f"/collections/riskmap.{layer}/items?{urlencode(tq)}")}
            times: dict[str, list[float]] = {"ours": [], "tipg": []}
            docs: dict[str, dict] = {}
            for r in range(args.repeat + 1):   # the first round warms plans and connections, not counted
                for name in (("ours", "tipg") if r % 2 == 0 else ("tipg", "ours")):
                    dt, docs[name] = page(*paths[name])
                    if r:
                        times[name].append(dt)
            ids = {n: [f.get("id") for f in d["features"]] for n, d in docs.items()}
            same = [str(i) for i in ids["ours"]] == [str(i).rsplit(".", 1)[-1] for i in ids["tipg"]]
            o, t = statistics.median(times["ours"]), statistics.median(times["tipg"])
            print(f"{layer:<15} {o:>9.1f} {t:>9.1f} {o / t:>9.2f}  {docs['ours'].get('numberMatched', '—')!s:>12} "
                  f"{docs['tipg'].get('numberMatched', '—')!s:>12}  {text[:70]}{'' if same else '  (PAGES DIFFER)'}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
