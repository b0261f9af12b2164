"""Regrade the sample's hazard sources and report which units changed grade, and why.

    .venv/bin/python scripts/regrade_report.py --out /tmp/new.json [--baseline /tmp/old.json]

Writes one record per unit (S, R, grade, refused, and each substance's Q and β). With ``--baseline`` (the same
file written by another version of the code, e.g. ``PYTHONPATH=<old checkout> python scripts/regrade_report.py
--out /tmp/old.json``) it prints how many units changed grade and, for each, the substances whose Q or β
changed. Only the pure grading model and the bulk people count are used, so the script runs on old and new code.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def grade_sample(gpkg: Path) -> dict[str, dict]:
    from gis_service.analysis.grading import people_within_each
    from gis_service.config import Settings
    from gis_service.models.grading import grade_unit
    from gis_service.stores import make_store

    store = make_store(Settings(store="embedded", gpkg_path=gpkg))
    store.init()
    units = store.frame("hazard_sources")
    rec = store.frame("receptors", ["population"])
    people = people_within_each(units.geometry.values, rec.geometry.values, rec["population"].values)
    out = {}
    for fid, inv, pp in zip(units.index, units["inventory"], people, strict=True):
        r = grade_unit(inv, int(pp))
        out[str(int(fid))] = {
            "S": round(r.S, 4), "R": round(r.R, 4), "grade": r.grade, "people": int(pp),
            "refused": getattr(r, "refused", None),
            "terms": {t.substance_key: [t.critical_quantity_t, t.beta] for t in r.terms},
            "excluded": sorted(e["substance"] for e in r.excluded),
        }
    return out


def compare(old: dict[str, dict], new: dict[str, dict]) -> dict:
    changed, reasons = [], Counter()
    for fid, n in new.items():
        o = old.get(fid)
        if o is None or o["grade"] == n["grade"]:
            continue
        why, keys = [], []
        for key in sorted(set(o["terms"]) | set(n["terms"])):
            a, b = o["terms"].get(key), n["terms"].get(key)
            if a is None:
                why.append(f"{key} now counted (Q {b[0]:g} t, β {b[1]:g})")
                keys.append(f"{key}: now counted (Q {b[0]:g} t, β {b[1]:g})")
            elif b is None:
                why.append(f"{key} no longer counted")
                keys.append(f"{key}: no longer counted")
            elif a != b:
                why.append(f"{key} Q {a[0]:g}→{b[0]:g} t, β {a[1]:g}→{b[1]:g}")
                keys.append(f"{key}: Q {a[0]:g}→{b[0]:g} t, β {a[1]:g}→{b[1]:g}")
        if n["refused"]:
            why.append(f"refused: {n['refused']}")
            keys.append("refused")
        if not why:
            why.append("people within 500 m changed" if o["people"] != n["people"] else "unexplained")
            keys.append(why[-1])
        reasons.update(keys)
        changed.append({"id": int(fid), "from": o["grade"], "to": n["grade"], "S": [o["S"], n["S"]],
                        "R": [o["R"], n["R"]], "why": why})
    return {"units": len(new), "changed": len(changed), "reasons": dict(reasons.most_common()),
            "details": sorted(changed, key=lambda c: c["id"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, default=Path("sample_data/jilin_sample.gpkg"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--baseline", type=Path)
    args = ap.parse_args()
    new = grade_sample(args.gpkg)
    args.out.write_text(json.dumps(new, ensure_ascii=False, indent=1))
    grades = Counter(str(v["grade"]) for v in new.values())
    print(f"{len(new)} units graded; grade counts: {dict(sorted(grades.items()))}; "
          f"refused: {sum(1 for v in new.values() if v['refused'])}")
    if args.baseline:
        rep = compare(json.loads(args.baseline.read_text()), new)
        print(f"units that changed grade: {rep['changed']} of {rep['units']}")
        for k, v in rep["reasons"].items():
            print(f"  {v:4d} × {k}")
        for c in rep["details"]:
            print(f"  unit {c['id']}: {c['from']} → {c['to']} (S {c['S'][0]}→{c['S'][1]}, R {c['R'][0]}→{c['R'][1]}): "
                  + "; ".join(c["why"]))


if __name__ == "__main__":
    main()
