"""Benchmark: the one-page brief PDF (GET /reports/brief/{layer}/{id}.pdf through the reports facade) against the
obvious alternative a commander has without it — the exposure PDF and the rescue PDF rendered one after the other.
Prints medians and the ratio. Target (issue 18): brief p50 under 1.5 s.

    .venv/bin/python bench/bench_brief.py            # 7 runs each on the Jilin sample (embedded store)
"""

from __future__ import annotations

import argparse
import statistics
import time

from gis_service.analysis.consequence.params import scenario_params
from gis_service.services.container import Services


def _time(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    svc = Services.build()
    params = scenario_params(wind_dir_deg=270, wind_speed_m_s=3, stability="D")
    svc.reports.brief_feature("hazard_sources", 1, params)                 # warm: road graph, fonts
    ours = _time(lambda: svc.reports.brief_feature("hazard_sources", 1, params), args.runs)
    hz = svc.layers.store.get("hazard_sources", 1).geometry
    alt = _time(lambda: (svc.reports.exposure("hazard_sources", 1, params),
                         svc.reports.rescue(hz.x, hz.y, "chemical", k=5, by="time")), args.runs)
    m1, m2 = statistics.median(ours), statistics.median(alt)
    print(f"brief PDF (one page)            p50 {m1:.3f} s  (max {max(ours):.3f} s, {args.runs} runs)")
    print(f"exposure PDF + rescue PDF        p50 {m2:.3f} s")
    print(f"ratio brief / (exposure+rescue)  {m1 / m2:.2f}   target: brief p50 < 1.5 s → {'met' if m1 < 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
