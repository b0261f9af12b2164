"""After-action report (事故处置总结) of an incident: summary, the map (incident, dispatched units and their
planned routes), the units with the time of each state, the plans attached (resource assembly, evacuation,
rescue, exposure summaries) and the whole timeline. Renders the incidents facade's document; user text is
escaped by :func:`.pdf.render` like every other report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from .mapimage import ContextSource, render_png
from .pdf import Report, Section, Table

STATE_ORDER = ("dispatched", "en_route", "on_scene", "released")


def _t(value: str | None) -> str:
    if not value:
        return "—"
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%m-%d %H:%M:%S UTC")
    except ValueError:
        return value


def _minutes(a: str | None, b: str | None) -> str:
    if not a or not b:
        return "—"
    try:
        d = datetime.fromisoformat(b.replace("Z", "+00:00")) - datetime.fromisoformat(a.replace("Z", "+00:00"))
    except ValueError:
        return "—"
    return f"{d.total_seconds() / 60:.1f}"


def _items(items: dict[str, Any] | None) -> str:
    return "整队 whole team" if not items else "、".join(f"{k} × {v}" for k, v in items.items())


def _map_fc(doc: dict[str, Any]) -> dict[str, Any]:
    feats: list[dict[str, Any]] = [{"type": "Feature", "properties": {"role": "incident"},
                                    "geometry": {"type": "Point", "coordinates": [doc["lon"], doc["lat"]]}}]
    sent = {(u["layer"], u["unit_id"]) for u in doc.get("units", [])}
    rank = 0
    for e in doc.get("timeline", []):
        data = e.get("data") or {}
        if e["kind"] != "analysis" or data.get("analysis") != "resources":
            continue
        for f in (data.get("result") or {}).get("features", []):
            p = f.get("properties") or {}
            if p.get("role") != "source" or (p.get("layer"), p.get("id")) not in sent:
                continue
            rank += 1
            if f.get("geometry", {}).get("type") == "LineString":
                feats.append({"type": "Feature", "properties": {"role": "route"}, "geometry": f["geometry"]})
            feats.append({"type": "Feature", "properties": {"role": "team", "rank": rank},
                          "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]}})
    return {"type": "FeatureCollection", "features": feats, "metadata": {}}


def _analysis_lines(doc: dict[str, Any]) -> list[str]:
    out = []
    for e in doc.get("timeline", []):
        data = e.get("data") or {}
        if e["kind"] == "analysis":
            summary = "; ".join(f"{k}: {v}" for k, v in (data.get("summary") or {}).items())
            out.append(f"{_t(e['t'])} {data.get('analysis')}: {summary}")
    return out


def after_action(doc: dict[str, Any], context: ContextSource | None = None, font: Path | None = None) -> Report:
    units = doc.get("units", [])
    unit_rows = []
    for u in units:
        times = u.get("times") or {}
        unit_rows.append([u.get("dispatch_id"), u.get("name") or f"{u['layer']}/{u['unit_id']}", _items(u.get("items")),
                          *(_t(times.get(s)) for s in STATE_ORDER),
                          u.get("eta_min") if u.get("eta_min") is not None else "—",
                          _minutes(times.get("dispatched"), times.get("on_scene")), u.get("state_zh")])
    unit_table = Table(["#", "单位 unit", "装备 items", "调派 dispatched", "在途 en route", "到场 on scene",
                        "撤离 released", "计划 ETA min", "实际 min", "状态 state"], unit_rows,
                       [0.04, 0.16, 0.16, 0.1, 0.1, 0.1, 0.1, 0.07, 0.07, 0.1])
    tl_rows = []
    for e in doc.get("timeline", []):
        data = dict(e.get("data") or {})
        data.pop("result", None)
        detail = "; ".join(f"{k}: {v}" for k, v in data.items() if v not in (None, "", [], {}))
        tl_rows.append([e["seq"], _t(e["t"]), f"{e.get('kind_zh', '')} {e['kind']}", e.get("actor") or "—", detail])
    tl_table = Table(["seq", "时间 time", "事件 event", "操作者 actor", "内容 details"], tl_rows,
                     [0.06, 0.16, 0.16, 0.14, 0.48])
    closed = doc.get("status") == "closed"
    return Report(
        kind="INCIDENT",
        title=f"事故处置总结报告 After-action report — {doc.get('title', '')}",
        subtitle=(f"{doc.get('incident_type_zh', '')} {doc.get('incident_type', '')} · {doc['lat']:.5f}°N "
                  f"{doc['lon']:.5f}°E · 报告人 reporter {doc.get('reporter', '—')} · 发生 occurred "
                  f"{_t(doc.get('occurred_at'))}"),
        verdict=f"{doc.get('status_zh', '')} {doc.get('status', '')} · 调派 {len(units)} 个单位 units dispatched",
        verdict_class="pass" if closed else "conditional",
        sections=[Section("地图 Map", image_png=render_png(_map_fc(doc), context, font_path=font, legend=True)),
                  Section("调派单位 Dispatched units", table=unit_table),
                  Section("附加分析 Attached analyses and plans", bullets=_analysis_lines(doc) or ["—"]),
                  Section("时间线 Timeline (append-only)", table=tl_table),
                  Section("说明 Notes", bullets=[
                      "times are the service's clock (UTC) when each event was recorded; the timeline cannot be "
                      "edited (append-only in the database)",
                      "planned ETA: road time from the assembly plan; actual: dispatched → on scene"])])
