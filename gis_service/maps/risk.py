"""Risk map: individual-risk contours (GB 36894 levels) as nested coloured polygons, protection targets coloured
by their verdict, and the F-N curve drawn as an inline SVG chart beside the map (no chart library, no CDN)."""

from __future__ import annotations

import html
import math
from typing import Any

import folium

from ..config import Settings
from ..stores.base import Store
from .base import add_legend, add_panel
from .results import _frame, collection_bbox

LEVEL_COLOURS = {3e-5: "#7f0000", 1e-5: "#d7301f", 3e-6: "#fc8d59", 1e-6: "#fdcc8a", 3e-7: "#fef0d9"}
N_RANGE = (1.0, 1e4)
F_RANGE = (1e-9, 1e-1)


def _log_pos(v: float, lo: float, hi: float, size: float) -> float:
    return (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * size


def fn_svg(fn: dict[str, Any], width: int = 360, height: int = 300) -> str:
    """The F-N curve (step line) with the criterion lines and the three regions, as an SVG string."""
    ml, mb, mt, mr = 52, 40, 26, 10
    w, h = width - ml - mr, height - mt - mb

    def xy(n: float, f: float) -> tuple[float, float]:
        n = min(max(n, N_RANGE[0]), N_RANGE[1])
        f = min(max(f, F_RANGE[0]), F_RANGE[1])
        return ml + _log_pos(n, *N_RANGE, w), mt + h - _log_pos(f, *F_RANGE, h)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="F-N curve" font-family="sans-serif" '
             'font-size="10">', f'<rect x="{ml}" y="{mt}" width="{w}" height="{h}" fill="#fff" stroke="#333"/>']
    for e in range(0, 5):
        x, _ = xy(10.0**e, 1)
        parts.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + h}" stroke="#ddd"/>'
                     f'<text x="{x:.1f}" y="{mt + h + 13}" text-anchor="middle">10{_sup(e)}</text>')
    for e in range(-9, 0):
        _, y = xy(1, 10.0**e)
        parts.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + w}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{ml - 4}" y="{y + 3:.1f}" text-anchor="end">10{_sup(e)}</text>')
    lines = (fn.get("assessment") or {}).get("lines") or {}
    for key, colour, label in (("upper", "#d7301f", "不可接受线 upper"), ("lower", "#1a9850", "可接受线 lower")):
        ln = lines.get(key)
        if not ln:
            continue
        c, k = ln["c_per_year"], ln["k"]
        pts = [xy(n, c / n**k) for n in (1.0, 10.0, 100.0, 1000.0, 1e4)]
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-dasharray="5,3"/>')
        lx, ly = pts[1]
        parts.append(f'<text x="{lx + 4:.1f}" y="{ly - 4:.1f}" fill="{colour}">{html.escape(label)}</text>')
    curve = fn.get("fn_curve") or []
    if curve:
        step: list[tuple[float, float]] = []
        prev_n = 1.0
        for pt in curve:  # F(N) is constant between events: horizontal then vertical steps
            n, f = pt["n"], pt["f_per_year"]
            step += [xy(prev_n, f), xy(n, f)]
            prev_n = n
        step.append(xy(prev_n, F_RANGE[0]))
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in step)
        parts.append(f'<polyline points="{d}" fill="none" stroke="#08306b" stroke-width="2"/>')
    else:
        parts.append(f'<text x="{ml + w / 2}" y="{mt + h / 2}" text-anchor="middle">无 N ≥ 1 的事件 '
                     'no event with N ≥ 1</text>')
    region = (fn.get("assessment") or {}).get("region_zh", "")
    parts.append(f'<text x="{ml}" y="{mt - 8}" font-weight="bold">F-N 社会风险曲线 {html.escape(region)}</text>')
    parts.append(f'<text x="{ml + w / 2}" y="{height - 6}" text-anchor="middle">死亡人数 N</text>')
    parts.append(f'<text x="12" y="{mt + h / 2}" transform="rotate(-90 12 {mt + h / 2})" text-anchor="middle">'
                 '累计频率 F (/年)</text></svg>')
    return "".join(parts)


def _sup(e: int) -> str:
    table = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return str(e).translate(table)


def render_risk(ir_fc: dict[str, Any], fn: dict[str, Any] | None, settings: Settings,
                store: Store | None = None) -> folium.Map:
    meta = ir_fc.get("metadata") or {}
    inst_fc: dict[str, Any] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
         "properties": {"name": i.get("name"), "id": i.get("id")}} for i in meta.get("installations", [])]}
    m, base = _frame(store, settings, collection_bbox(ir_fc, inst_fc))
    group = folium.FeatureGroup(name="个人风险等值线 IR contours", show=True)
    for f in sorted(ir_fc.get("features", []), key=lambda f: f["properties"]["level_per_year"]):
        level = f["properties"]["level_per_year"]
        colour = LEVEL_COLOURS.get(level, "#999")
        folium.GeoJson(f, style_function=lambda _f, c=colour: {"color": c, "fillColor": c, "weight": 1.5,
                                                               "fillOpacity": 0.45},
                       tooltip=f["properties"]["label_zh"]).add_to(group)
    group.add_to(m)
    for i in inst_fc["features"]:
        lon, lat = i["geometry"]["coordinates"]
        folium.CircleMarker([lat, lon], radius=5, color="#000", fill=True, fill_color="#e31a1c", fill_opacity=1,
                            tooltip=html.escape(f"风险源 {i['properties'].get('name') or i['properties'].get('id')}"),
                            ).add_to(m)
    rows = []
    for r in meta.get("receptors", []):
        rows.append({"cells": [r.get("name"), r.get("receptor_class"), r.get("target_class_zh"),
                               f"{r['ir_per_year']:.2e}", f"{r['criterion_per_year']:.0e}",
                               "不通过 fail" if r["verdict"] == "fail" else "通过 pass"],
                     "cls": "fail" if r["verdict"] == "fail" else "pass"})
    tables = [{"title": "防护目标 Protection targets (GB 36894)",
               "columns": ["名称", "类别", "防护目标类别", "IR /年", "基准 /年", "结论"], "rows": rows[:40]}]
    mx = meta.get("max_ir") or {}
    notes = [f"最大个人风险 max IR {mx.get('ir_per_year', 0):.2e}/年", meta.get("criteria", ""),
             *[str(w) for w in (meta.get("warnings") or [])][:4],
             f"跳过的情景 skipped scenarios: {len(meta.get('skipped') or [])}", *(meta.get("limitations") or [])[:3]]
    add_panel(m, "个人风险 Individual risk (GB 36894-2018)", notes, tables, basemap=base)
    add_legend(m, [], extra=[{"label": f"IR ≥ {lvl:.0e} /年", "family": "polygon", "color": c, "fillColor": c}
                             for lvl, c in LEVEL_COLOURS.items()])
    if fn is not None:
        box = (f'<div class="risk-fn-chart" style="position:absolute;bottom:40px;left:10px;z-index:1000;'
               f'background:#fff;padding:6px;border:1px solid #999;border-radius:4px">{fn_svg(fn)}</div>')
        root: Any = m.get_root()
        root.html.add_child(folium.Element(box))
    return m


def risk_map(store: Store, settings: Settings, params, *, layer: str | None = None, fid: int | None = None,
             park_id: int | None = None) -> folium.Map:
    from ..analysis.qra import service

    insts = service.installations_for(store, layer, fid, park_id)
    res = service.compute(insts, params)
    fc = service.contours_collection(res)
    feats = service.receptor_features(store, res)
    fc["metadata"]["receptors"] = service.receptor_checks(store, res, feats)
    fn = service.societal_from(res, feats)
    return render_risk(fc, fn, settings, store)
