"""Maps of analysis results: exposure zones, nearest rescue teams, siting checks.

Each ``render_*`` function takes the analysis' result (as the API returns it) and draws it; the maps
facade (:class:`gis_service.services.maps.MapsService`) runs the analysis first. Zones are
coloured red/orange/yellow by ``level``; receptors inside a zone are drawn in the colour of the
innermost zone with a black ring; teams and routes carry ETA labels; siting conflicts are red with
the rule table beside the map. Assumptions, limitations and sources travel with the map (panel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import shapely
from pydantic import BaseModel
from shapely.geometry import shape

from ..analysis.consequence.results import ExposureZones, ZoneFeature, ZoneProperties
from ..analysis.rescue.results import NearestTeams, TimedRescueMetadata, TimedTeamProperties
from ..analysis.siting.results import AppliedThreshold, Measured, SitingCheck, SitingFeatures
from ..config import Settings
from ..legend import LEVEL_COLORS
from .base import Basemap, LayerSource, add_legend, add_panel, add_vector_basemap, new_map, padded
from .elements import ResultLayer
from .style import level_legend

MAX_NOTES = 12


def collection_bbox(*collections: dict[str, Any]) -> tuple[float, float, float, float] | None:
    geoms = [shape(f["geometry"]) for fc in collections for f in fc.get("features", []) if f.get("geometry")]
    geoms = [g for g in geoms if not g.is_empty]
    if not geoms:
        return None
    return tuple(float(v) for v in shapely.total_bounds(geoms))  # type: ignore[return-value]


def _frame(layers: LayerSource | None, settings: Settings, bbox) -> tuple[folium.Map, Basemap]:
    box = padded(bbox, 0.15, 0.01) if bbox else None
    m, base = new_map(settings, box)
    if base.url is None and layers is not None:
        add_vector_basemap(m, layers, box)
    return m, base


def _subset(fc: dict[str, Any], pred) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [f for f in fc.get("features", []) if pred(f)]}


def _role(f: dict[str, Any]) -> str | None:
    p = f.get("properties") or {}
    return p.get("role") or p.get("feature_type") or p.get("kind")


def _fmt(v: Any, nd: int = 1) -> Any:
    if isinstance(v, float):
        return round(v, nd)
    return v


# -- exposure ---------------------------------------------------------------------------------

KIND_ZH = {"explosion": "爆炸 Explosion", "fire": "池火 Pool fire", "toxic": "毒气 Toxic release",
           "fireball": "BLEVE火球 Fireball", "jet_fire": "喷射火 Jet fire",
           "tailings_runout": "溃坝泥流 Tailings runout", "goaf_subsidence": "采空沉陷 Goaf subsidence"}


def render_exposure(fc: ExposureZones, settings: Settings, layers: LayerSource | None = None,
                    source: dict[str, Any] | None = None) -> folium.Map:
    """Zones by level (one toggle per model kind), exposed receptors highlighted, the source, and a
    panel with the zone table, exposure totals, assumptions and warnings from ``fc.metadata``."""
    meta = fc.metadata
    zones = fc.zone_features()
    receptors = _collection(fc.receptor_features())
    src_fc = {"type": "FeatureCollection", "features": [source] if source else []}
    m, base = _frame(layers, settings, collection_bbox(_collection(zones), src_fc))
    kinds: dict[str, list[tuple[ZoneFeature, ZoneProperties]]] = {}
    for f, p in zip(zones, fc.zones, strict=True):
        kinds.setdefault(p.kind or "zone", []).append((f, p))
    for kind, pairs in kinds.items():
        # draw the outer (yellow) zones first so the red ones stay on top and clickable
        pairs = sorted(pairs, key=lambda fp: -list(LEVEL_COLORS).index(fp[1].level) if fp[1].level in LEVEL_COLORS else 0)
        m.add_child(ResultLayer(_collection([f for f, _ in pairs]), KIND_ZH.get(kind, kind),
                                {"role": "zone", "labelKey": "label_zh"}))
    if receptors["features"]:
        m.add_child(ResultLayer(receptors, f"区内受体 Exposed receptors ({len(receptors['features'])})",
                                {"role": "receptor"}))
    if source:
        m.add_child(ResultLayer(src_fc, "风险源 Source", {"role": "source"}))
    rows = []
    for p in fc.zones:
        ex = p.exposure
        rows.append({"cells": [p.label_zh or p.level, KIND_ZH.get(p.kind, p.kind), _fmt(p.threshold, 2),
                               p.threshold_unit, _fmt(p.distance_m, 0), ex.receptor_count, ex.total_population],
                     "cls": {"red": "fail", "orange": "warn", "yellow": "warn"}.get(p.level, "")})
    title = "暴露分析 Exposure — " + str(meta.source.name or meta.source.substance or "")
    summary = meta.exposure
    tables: list[dict[str, Any]] = [{"title": "影响区 Zones", "columns": ["区 zone", "类型 kind", "阈值 threshold", "单位 unit",
                                                  "距离 distance (m)", "受体 receptors", "人口 population"],
               "rows": rows},
              {"title": "合计 Total (union of zones)",
               "rows": [["受体 receptors", summary.receptor_count], ["人口 population", summary.total_population]]
               + [[f"人口 {k}", v] for k, v in summary.population_by_class.items()]}]
    notes = [*meta.warnings, *meta.assumptions, meta.population_note][:MAX_NOTES]
    add_panel(m, title, notes, tables, basemap=base)
    add_legend(m, [], extra=level_legend() + [
        {"label": "区内受体 receptor inside (innermost zone colour)", "family": "point", "color": "#000",
         "fillColor": LEVEL_COLORS["red"]},
        {"label": "风险源 source", "family": "point", "color": "#67000d", "fillColor": "#ef3b2c",
         "icon": "industry"}])
    return m


# -- rescue -----------------------------------------------------------------------------------

def _collection(feats: Sequence[BaseModel]) -> dict[str, Any]:
    """Typed features as a GeoJSON FeatureCollection for a map layer (their JSON form)."""
    return {"type": "FeatureCollection", "features": [f.model_dump(mode="json") for f in feats]}


def render_rescue(fc: NearestTeams, settings: Settings, layers: LayerSource | None = None,
                  isochrones: Sequence[dict[str, Any]] = ()) -> folium.Map:
    """The incident, the teams (ranked, ETA/distance labels), their routes, optional isochrones and a
    panel with the ranking, arrival standards and limitations."""
    meta = fc.metadata
    origin = meta.origin
    name = "、".join(v.zh for v in meta.incident_label.values()) or meta.incident
    incident = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [origin.lon, origin.lat]},
         "properties": {"role": "incident", "name": f"事故点 Incident: {name}", "incident": meta.incident,
                        "lon": origin.lon, "lat": origin.lat}}]}
    teams = _collection(fc.team_features())
    routes = _collection(fc.routes)
    iso_feats = [f for iso in isochrones for f in iso.get("features", []) if f.get("geometry")
                 and not (f.get("properties") or {}).get("empty")]
    m, base = _frame(layers, settings, collection_bbox(incident, teams, routes))
    if iso_feats:
        m.add_child(ResultLayer({"type": "FeatureCollection", "features": iso_feats}, "等时圈 Isochrones",
                                {"role": "isochrone", "labelKey": "minutes_label"}))
    if routes["features"]:
        m.add_child(ResultLayer(routes, "路线 Routes", {"role": "route", "showDistance": False}))
    m.add_child(ResultLayer(teams, "救援队伍 Teams", {"role": "team", "permanentLabels": True, "rankLabels": True}))
    m.add_child(ResultLayer(incident, "事故点 Incident", {"role": "incident"}))
    rows = []
    for p in fc.teams:
        meets = p.meets_standard if isinstance(p, TimedTeamProperties) else None
        eta = p.eta_min if isinstance(p, TimedTeamProperties) else None
        rows.append({"cells": [p.rank, p.name, p.team_type_zh or p.team_type, _fmt(p.distance_m / 1000, 1),
                               _fmt(eta, 1), p.standard_min, "—" if meets is None else ("是" if meets else "否")],
                     "cls": "" if meets is None else ("pass" if meets else "fail")})
    notes = []
    if meta.reason:
        notes.append(meta.reason)
    notes.append(f"方式 by: {meta.by}; 能力匹配 capable: {', '.join(meta.capable_team_types)}")
    for st in meta.standards.values():
        notes.append(f"{st.team_type_zh} 到达标准 {st.standard_min} min — {st.source}")
    method = [meta.method] if isinstance(meta, TimedRescueMetadata) else []
    notes += (method + meta.limitations)[:MAX_NOTES]
    add_panel(m, "最近救援队伍 Nearest rescue teams",
              notes, [{"columns": ["#", "名称 name", "类型 type", "直线 km", "ETA min", "标准 min", "达标"],
                       "rows": rows}], basemap=base)
    legend = [{"label": "事故点 incident", "family": "point", "color": "#67000d", "fillColor": "#ef3b2c",
               "icon": "triangle-exclamation"},
              {"label": "救援队伍 team (rank · ETA)", "family": "point", "color": "#08519c", "fillColor": "#3182bd",
               "icon": "plus"},
              {"label": "路线 route", "family": "line", "color": "#2171b5", "fillColor": "#2171b5"}]
    if iso_feats:
        legend.append({"label": "等时圈 isochrone", "family": "polygon", "color": "#41ab5d", "fillColor": "#a1d99b"})
    add_legend(m, [], extra=legend)
    return m


# -- siting -----------------------------------------------------------------------------------

OUTCOME_ZH = {"pass": "通过 pass", "warn": "警告 warn", "fail": "不通过 fail", "not_evaluated": "未评估 n/a"}


def _measure(d: Measured | AppliedThreshold) -> str:
    if d.value is None:
        return "—"
    return f"{d.value:g} {d.unit or ''}".strip()


def render_siting(report: SitingCheck, fc: SitingFeatures, settings: Settings,
                  layers: LayerSource | None = None) -> folium.Map:
    """The proposal (dashed), conflict geometries (red) and context zones, with the verdict and the
    rule table beside the map. ``report`` is SitingReport.document(), ``fc`` to_feature_collection()."""
    doc = fc.model_dump(mode="json")          # the layers draw GeoJSON
    proposal = _subset(doc, lambda f: _role(f) == "proposal")
    conflicts = _subset(doc, lambda f: _role(f) == "conflict")
    zones = _subset(doc, lambda f: _role(f) not in ("proposal", "conflict"))
    m, base = _frame(layers, settings, collection_bbox(proposal, conflicts))
    if zones["features"]:
        m.add_child(ResultLayer(zones, "相关区域 Context zones", {"role": "zone"}, show=True))
    m.add_child(ResultLayer(proposal, "拟选址 Proposal", {"role": "proposal"}))
    if conflicts["features"]:
        m.add_child(ResultLayer(conflicts, f"冲突 Conflicts ({len(conflicts['features'])})",
                                {"role": "conflict", "labelKey": "rule_id"}))
    rows = []
    for r in report.rules:
        rows.append({"cells": [r.id, r.description.zh, OUTCOME_ZH.get(r.outcome, r.outcome), r.severity,
                               _measure(r.measured), _measure(r.threshold), len(r.offending)],
                     "cls": {"fail": "fail", "warn": "warn", "pass": "pass"}.get(r.outcome, "")})
    verdict = report.verdict
    label = report.verdict_label
    prop = report.proposal
    notes = [f"方案 proposal: {prop.name or '—'} ({prop.kind}), 面积 area {prop.area_km2} km²"]
    notes += [str(n) for n in prop.notes]
    rs = report.rule_set
    notes.append(f"规则集 rule set: {rs.title.zh} ({rs.file})")
    notes.append(report.verdict_rule)
    content = {"title": "选址检查 Siting check", "verdict": f"{label.zh} {label.en}".strip(),
               "verdict_class": verdict, "notes": [n for n in notes if n], "wide": True,
               "alerts": [base.notice] if base.notice else [],
               "tables": [{"title": "规则 Rules", "columns": ["规则 rule", "说明", "结果 outcome", "级别 severity",
                                                              "测得 measured", "阈值 threshold", "冲突 n"],
                           "rows": rows}]}
    from .elements import Panel

    m.add_child(Panel(content, position="topright"))
    add_legend(m, [], extra=[
        {"label": "拟选址 proposal", "family": "polygon", "color": "#252525", "fillColor": "#969696"},
        {"label": "冲突 conflict", "family": "polygon", "color": "#a50f15", "fillColor": "#fb6a4a"}] + level_legend())
    return m
