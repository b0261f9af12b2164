"""Emergency-plan (预案) coverage of the major hazard sources: which sources have no filed, current plan, by county.

A hazard source is **covered** on a day when some plan in the ``emergency_plans`` layer lists it in
``hazard_source_ids``, is ``filed`` (已备案, after 《生产安全事故应急预案管理办法》 (应急管理部令第2号, 2019) the
enterprise files its plan with the authority) and its ``review_date`` (评估到期日: the plan is evaluated at least
every three years under the same measures [S]) is on or after that day. Otherwise its reason is the best it has:
``expired`` (a filed plan whose review date has passed), ``not_filed`` (a plan pending or not filed) or
``no_plan``. Plans of a government level (province, city, county) do not cover a source unless they list it:
the measures require each enterprise with a major hazard source to have its own plan.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import shapely
from shapely.geometry import mapping

from ...stores.base import Store
from .inputs import PLANS

HAZARDS = "hazard_sources"
REASON_ZH = {"no_plan": "无预案", "not_filed": "预案未备案", "expired": "预案已过评估期"}
RANK = {"covered": 0, "expired": 1, "not_filed": 2, "no_plan": 3}
SOURCE = ("《生产安全事故应急预案管理办法》(应急管理部令第2号, 2019): enterprises file plans (备案) and evaluate them "
          "at least every three years; GB/T 29639-2020 (plan drafting guide)")


def _status(plan: dict[str, Any], as_of: date) -> str:
    if plan.get("filing_status") != "filed":
        return "not_filed"
    review = plan.get("review_date")
    try:
        ok = review is not None and date.fromisoformat(str(review)) >= as_of
    except ValueError:
        ok = False
    return "covered" if ok else "expired"


def coverage(store: Store, as_of: date) -> dict[str, Any]:
    """FeatureCollection of the hazard sources without a filed, current plan, with a per-county summary."""
    plans = store.frame(PLANS, ["name", "level", "hazard_source_ids", "filing_status", "review_date"])
    best: dict[int, tuple[str, dict[str, Any] | None]] = {}
    for pid, row in plans.iterrows():
        filed = {"id": int(pid), **{k: row[k] for k in ("name", "level", "filing_status", "review_date")}}
        status = _status(filed, as_of)
        for hid in row["hazard_source_ids"] or []:
            prev = best.get(int(hid))
            if prev is None or RANK[status] < RANK[prev[0]]:
                best[int(hid)] = (status, filed)
    hazards = store.frame(HAZARDS, ["name", "enterprise", "grade", "county"])
    feats: list[dict[str, Any]] = []
    by_county: dict[str, dict[str, Any]] = {}
    pts = shapely.point_on_surface(hazards.geometry.to_numpy()) if len(hazards) else []
    for (hid, row), pt in zip(hazards.iterrows(), pts, strict=True):
        status, plan = best.get(int(hid), ("no_plan", None))
        county = row["county"] or "—"
        c = by_county.setdefault(county, {"county": county, "hazard_sources": 0, "covered": 0, "no_plan": 0,
                                          "not_filed": 0, "expired": 0, "without": []})
        c["hazard_sources"] += 1
        c[status] += 1
        if status == "covered":
            continue
        c["without"].append(int(hid))
        feats.append({"type": "Feature", "id": int(hid), "geometry": mapping(pt), "properties": {
            "hazard_source_id": int(hid), "name": row["name"], "enterprise": row["enterprise"],
            "grade": None if row["grade"] != row["grade"] or row["grade"] is None else int(row["grade"]),
            "county": county, "reason": status, "reason_zh": REASON_ZH[status],
            "plan": None if plan is None else {k: (str(v) if k == "review_date" and v is not None else v)
                                               for k, v in plan.items()}}})
    counties = sorted(by_county.values(), key=lambda c: (-(c["hazard_sources"] - c["covered"]), c["county"]))
    return {"type": "FeatureCollection", "features": feats, "metadata": {
        "analysis": "emergency-plan coverage 预案覆盖", "as_of": as_of.isoformat(),
        "hazard_sources": len(hazards), "without_current_plan": len(feats), "by_county": counties,
        "rule": "covered = listed by a plan that is filed (已备案) and whose review date is on or after as_of",
        "source": SOURCE}}
