"""The incident state machine as pure functions over the events of the timeline.

A dispatch sends one unit — a rescue team (whole) or items from a supply depot — and moves through
``dispatched → en_route → on_scene → released`` (调派 → 在途 → 到场 → 撤离). Each step is an event; a step out of
order is refused. ``released`` may follow any earlier state (a unit recalled before arriving). An incident is
``active`` until its ``closed`` event; closing releases every unit still out (each as its own event).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

STATES = ("dispatched", "en_route", "on_scene", "released")
STATE_ZH = {"dispatched": "已调派", "en_route": "在途", "on_scene": "到场", "released": "已撤离"}
NEXT = {"dispatched": ("en_route", "released"), "en_route": ("on_scene", "released"), "on_scene": ("released",),
        "released": ()}
KIND_ZH = {"created": "事故报告", "analysis": "附加分析", "dispatch": "调派", "unit_state": "状态变更", "note": "备注",
           "closed": "结束"}
ANALYSIS_KINDS = ("exposure", "rescue", "resources", "evacuation")
ANALYSIS_ZH = {"exposure": "影响范围", "rescue": "救援队伍", "resources": "资源调集", "evacuation": "疏散安置"}
INCIDENT_TYPES = ("chemical", "mine", "goaf", "tailings_dam", "fire", "medical", "flood", "other")
INCIDENT_TYPE_ZH = {"chemical": "危险化学品事故", "mine": "矿山事故", "goaf": "采空区塌陷", "tailings_dam": "尾矿库溃坝",
                    "fire": "火灾", "medical": "医疗急救", "flood": "水灾", "other": "其他"}


class TransitionRefused(ValueError):
    """A step that the state machine does not allow (the API answers 409 naming the field)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def units(events: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Dispatches of one incident by dispatch id (the seq of its dispatch event), with their current state and
    the time of each state reached."""
    out: dict[int, dict[str, Any]] = {}
    for e in events:
        if e["kind"] == "dispatch":
            d = e["data"]
            out[e["seq"]] = {"dispatch_id": e["seq"], "incident_id": e["incident_id"], "layer": d["layer"],
                             "unit_id": d["unit_id"], "name": d.get("name"), "items": d.get("items"),
                             "eta_min": d.get("eta_min"), "state": "dispatched",
                             "times": {"dispatched": e["t"]}}
        elif e["kind"] == "unit_state":
            u = out.get(e["data"]["dispatch_id"])
            if u is not None:
                u["state"] = e["data"]["state"]
                u["times"][e["data"]["state"]] = e["t"]
    for u in out.values():
        u["state_zh"] = STATE_ZH[u["state"]]
    return out


def check_step(unit: Mapping[str, Any], state: str) -> None:
    if state not in STATES[1:]:
        raise TransitionRefused("state", f"state must be one of {', '.join(STATES[1:])} (got {state!r})")
    if state not in NEXT[unit["state"]]:
        allowed = ", ".join(NEXT[unit["state"]]) or "none (the unit is released)"
        raise TransitionRefused("state", f"dispatch {unit['dispatch_id']} is {unit['state']}; "
                                f"it can go to: {allowed} (got {state!r})")


def is_active(unit: Mapping[str, Any]) -> bool:
    return unit["state"] != "released"


def commitments(active_units: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], dict[str, int] | None]:
    """(layer, id) → items out (depots) or None (a team, committed whole), over units not released."""
    out: dict[tuple[str, int], dict[str, int] | None] = {}
    for u in active_units:
        if not is_active(u):
            continue
        key = (u["layer"], int(u["unit_id"]))
        items = u.get("items")
        if u["layer"] != "supply_depots" or items is None:
            out[key] = None
            continue
        prev = out.get(key, {})
        if prev is None:
            continue
        merged = dict(prev)
        for k, q in items.items():
            merged[k] = merged.get(k, 0) + int(q)
        out[key] = merged
    return out
