"""Regenerate the sample's exposure zones and summarise them: models used, toxic zones cut at the drawing
limit, items whose three toxic zones no longer discriminate (red = orange = yellow at the limit).

    .venv/bin/python scripts/exposure_report.py [--weather worst|typical]

Runs on old code too (``PYTHONPATH=<old checkout>``): fields missing there are read from the model records.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, default=Path("sample_data/jilin_sample.gpkg"))
    ap.add_argument("--weather", default=None)
    args = ap.parse_args()
    from gis_service.analysis.consequence import dispatch as scenarios
    from gis_service.analysis.consequence.params import scenario_params
    from gis_service.config import Settings
    from gis_service.stores import make_store

    store = make_store(Settings(store="embedded", gpkg_path=args.gpkg))
    store.init()
    units = store.frame("hazard_sources")
    params = scenario_params(weather=args.weather) if args.weather else scenario_params()
    toxic_items = same = cut_zones = zones_total = 0
    models, kinds = Counter(), Counter()
    for fid, inv in zip(units.index, units["inventory"], strict=True):
        zs = scenarios.hazard_source_zones(units.geometry[fid], inv, params)
        for z in zs.zones:
            zones_total += 1
            kinds[z.kind] += 1
            cut_zones += bool(getattr(z, "truncated", False))
        for m in zs.models:
            if m["kind"] != "toxic":
                continue
            toxic_items += 1
            models[m.get("model", "Gaussian plume (old code)").split(" (")[0]] += 1
            rows = m["zones"]
            cut = [r.get("truncated", r.get("truncated_at_max_distance")) for r in rows]
            if len(rows) == 3 and all(cut):
                same += 1
    print(f"weather: {params.wind_speed_m_s:g} m/s {params.stability}; {len(units)} hazard sources")
    print(f"zones: {zones_total} ({dict(kinds)}); zones cut at the drawing limit and flagged: {cut_zones}")
    print(f"toxic inventory items: {toxic_items}; models: {dict(models)}")
    print(f"toxic items with red = orange = yellow cut at max_plume_m: {same}")


if __name__ == "__main__":
    main()
