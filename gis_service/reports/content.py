"""One report per analysis, built from the analysis' GeoJSON FeatureCollection exactly as the API
returns it (so the PDF shows what the viewer shows): the verdict or zones, the map image, every
rule / zone / team row, and the model's assumptions, limitations and sources."""

from __future__ import annotations

from typing import Any

from ..stores.base import Store
from . import labels as L
from .mapimage import render_png
from .pdf import Report, Section, Table


def _fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是 yes" if v else "否 no"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def _measure(m: dict | None) -> str:
    if not m or m.get("value") is None:
        return "—"
    text = f"{_fmt(m['value'], 2)} {m.get('unit') or ''}".strip()
    what = m.get("quantity") or m.get("basis")
    return f"{text} ({what})" if what else text


def _role(p: dict[str, Any]) -> str:
    return p.get("role") or p.get("feature_type") or p.get("kind") or ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(v) for v in value]
    return []


# -- siting ------------------------------------------------------------------------------------

def _evidence(rule: dict[str, Any], limit: int = 6) -> str:
    items = rule.get("offending") or []
    names = []
    for o in items[:limit]:
        if isinstance(o, dict):
            label = o.get("name") or f"{o.get('layer', '')} #{o.get('id', '')}"
            if o.get("distance_m") is not None:
                label += f" ({_fmt(o['distance_m'], 0)} m)"
            names.append(label)
        else:
            names.append(str(o))
    more = f" … +{len(items) - limit}" if len(items) > limit else ""
    return "; ".join(names) + more if names else "—"


def siting_report(fc: dict[str, Any], store: Store | None = None) -> Report:
    meta = fc.get("metadata") or {}
    proposal = next((f for f in fc.get("features", []) if _role(f.get("properties") or {}) == "proposal"), None)
    name = ((proposal or {}).get("properties") or {}).get("name") or "拟选址 proposal"
    verdict = meta.get("verdict")
    rules = meta.get("rules") or []
    rows, classes = [], []
    for r in rules:
        d = r.get("description") or {}
        rows.append([f"{d.get('zh') or r.get('id')}\n{r.get('id')}", L.zh_en(L.OUTCOMES, r.get("outcome")),
                     _measure(r.get("measured")), _measure(r.get("threshold")), r.get("source") or "—",
                     _evidence(r), "; ".join(_strings(r.get("notes"))) or "—"])
        classes.append(r.get("outcome"))
    fields = ["rule", "outcome", "measured", "threshold", "source", "evidence", "notes"]
    table = Table([L.zh_en(L.FIELDS, k) for k in fields], rows, [0.2, 0.08, 0.14, 0.14, 0.18, 0.16, 0.1], classes)
    summary = meta.get("summary") or {}
    counts = ", ".join(f"{L.zh_en(L.OUTCOMES, k)}: {len(v)}" for k, v in summary.items() if isinstance(v, list))
    rs = meta.get("rule_set")
    rs_text = rs.get("name") if isinstance(rs, dict) else rs
    return Report(
        title=f"选址检查报告 Siting check — {name}",
        subtitle=f"规则集 rule set: {rs_text or '—'}",
        verdict=f"结论 Verdict: {L.zh_en(L.VERDICTS, verdict)}", verdict_class=verdict,
        sections=[Section("地图 Map", image_png=render_png(fc, store)),
                  Section("规则逐条结果 Rules", paragraphs=[counts] if counts else [], table=table),
                  Section("判定规则 Verdict rule", paragraphs=_strings(meta.get("verdict_rule")))])


# -- exposure ----------------------------------------------------------------------------------

def exposure_report(fc: dict[str, Any], store: Store | None = None) -> Report:
    meta = fc.get("metadata") or {}
    src = meta.get("source") or {}
    zones = [f["properties"] for f in fc.get("features", [])
             if _role(f.get("properties") or {}) == "zone"]
    receptors = [f["properties"] for f in fc.get("features", [])
                 if _role(f.get("properties") or {}) == "receptor"]
    zrows, zcls = [], []
    for p in zones:
        ex = p.get("exposure") or {}
        thr = f"{_fmt(p.get('threshold'), 2)} {p.get('threshold_unit') or ''}".strip()
        flags = [label for key, label in (("truncated", "截断 truncated"), ("near_field", "近场 near field"))
                 if p.get(key)]
        rows_extra = f" ⚠ {', '.join(flags)}" if flags else ""
        zrows.append([f"{p.get('label_zh') or L.zh_en(L.LEVELS, p.get('level'))}\n{p.get('label_en') or ''}",
                      p.get("model") or "—", thr + rows_extra, p.get("substance") or "—",
                      _fmt(p.get("distance_m"), 0), _fmt(ex.get("receptor_count")), _fmt(ex.get("total_population"))])
        zcls.append("fail" if p.get("level") == "red" else "warn")
    zcols = ["level", "model", "threshold", "substance", "distance_m", "receptor_count", "population"]
    ztable = Table([L.zh_en(L.FIELDS, k) for k in zcols], zrows, [0.2, 0.22, 0.14, 0.12, 0.1, 0.1, 0.12], zcls)
    receptors.sort(key=lambda p: (-{"red": 2, "orange": 1, "yellow": 0}.get(p.get("innermost_level"), -1),
                                  p.get("distance_m") or 0))
    rrows = [[p.get("name") or f"#{p.get('id')}", p.get("class_zh") or L.zh_en(L.RECEPTOR_CLASSES, p.get("receptor_class")),
              _fmt(p.get("population")), _fmt(p.get("distance_m"), 0), L.zh_en(L.LEVELS, p.get("innermost_level"))]
             for p in receptors]
    rcols = ["name", "receptor_class", "population", "distance_m", "zone"]
    rtable = Table([L.zh_en(L.FIELDS, k) for k in rcols], rrows, [0.36, 0.16, 0.16, 0.14, 0.18],
                   ["fail" if p.get("innermost_level") == "red" else "warn" for p in receptors])
    total = meta.get("exposure") or {}
    params = meta.get("parameters") or {}
    ptext = ", ".join(f"{k}={v}" for k, v in params.items() if v is not None and not isinstance(v, (list, dict)))
    zone_notes = []
    for p in zones:
        text = f"{p.get('label_zh') or p.get('level')}: {p.get('model') or ''} — {p.get('level_name') or ''}"
        if p.get("threshold_source"):
            text += f"; 阈值来源 threshold source: {p['threshold_source']}"
        if p.get("model_reason"):
            text += f"; 模型选择 model choice: {p['model_reason']}"
        if p.get("truncated"):
            text += f"; 截断 truncated: {p.get('truncation_reason') or ''}"
        zone_notes.append(text)
    sources, limits = [], []
    for m in meta.get("models") or []:
        sources += _strings(m.get("sources"))
        limits += _strings(m.get("limitations"))
    return Report(
        title=f"暴露分析报告 Exposure — {src.get('name') or src.get('layer', '')}",
        subtitle=f"{src.get('layer', '')} #{src.get('id', '')}",
        verdict=(f"暴露受体 {total.get('receptor_count', 0)} 个，人口 {total.get('total_population', 0)}"
                 f" — exposed receptors {total.get('receptor_count', 0)}, population {total.get('total_population', 0)}"),
        verdict_class="fail" if total.get("receptor_count") else "pass",
        sections=[Section("地图 Map", image_png=render_png(fc, store)),
                  Section("影响分区 Zones", table=ztable),
                  Section("暴露受体 Exposed receptors (by zone, nearest first)",
                          paragraphs=[] if rrows else ["无 none"], table=rtable if rrows else None),
                  Section("模型与阈值 Models and thresholds", bullets=list(dict.fromkeys(zone_notes)) or ["—"]),
                  Section("未运行的模型 Models not run", bullets=_strings(meta.get("skipped_models")) or ["—"]),
                  Section("情景参数 Scenario parameters", paragraphs=[ptext]),
                  Section("假设 Assumptions", bullets=_strings(meta.get("assumptions"))
                          + _strings(meta.get("population_note"))),
                  Section("警示 Warnings", bullets=_strings(meta.get("warnings")) or ["无 none"]),
                  Section("局限 Limitations", bullets=list(dict.fromkeys(limits)) or ["—"]),
                  Section("来源 Sources", bullets=list(dict.fromkeys(sources)) or ["—"])])


# -- rescue ------------------------------------------------------------------------------------

def rescue_report(fc: dict[str, Any], store: Store | None = None) -> Report:
    meta = fc.get("metadata") or {}
    teams = [f["properties"] for f in fc.get("features", []) if _role(f.get("properties") or {}) == "team"]
    rows, cls = [], []
    for p in teams:
        meets = p.get("meets_standard")
        rows.append([_fmt(p.get("rank")), p.get("name") or "—", p.get("team_type_zh") or p.get("team_type") or "—",
                     _fmt((p.get("distance_m") or 0) / 1000, 1) if p.get("distance_m") is not None else "—",
                     _fmt(p["road_distance_m"] / 1000, 1) if p.get("road_distance_m") is not None else "—",
                     _fmt(p.get("eta_min"), 1), _fmt(p.get("standard_min"), 0),
                     L.zh_en(L.MEETS, meets if meets in (True, False) else None)])
        cls.append("pass" if meets is True else "fail")
    cols = ["rank", "name", "team_type", "distance_km", "road_km", "eta_min", "standard_min", "meets_standard"]
    table = Table([L.zh_en(L.FIELDS, k) for k in cols], rows, [0.05, 0.3, 0.11, 0.1, 0.1, 0.1, 0.1, 0.14], cls)
    origin = meta.get("origin") or {}
    inc = meta.get("incident")
    inc_label = (meta.get("incident_label") or {}).get(inc) if isinstance(inc, str) else None
    inc_text = f"{inc_label['zh']} {inc_label['en']}" if inc_label else str(inc)
    standards = [f"{v.get('team_type_zh', k)} {k}: {_fmt(v.get('standard_min'), 0)} min — {v.get('source', '')}"
                 for k, v in (meta.get("standards") or {}).items()]
    met = sum(1 for p in teams if p.get("meets_standard") is True)
    return Report(
        title="最近救援队伍报告 Nearest rescue teams",
        subtitle=(f"事故 incident: {inc_text} · {origin.get('lat', '—')}°N {origin.get('lon', '—')}°E · "
                  f"排序 ranked by {'道路时间 road time' if meta.get('by') == 'time' else '直线距离 straight line'}"),
        verdict=f"{met}/{len(teams)} 支队伍达到到达标准 teams meet the arrival standard",
        verdict_class="pass" if teams and met == len(teams) else ("conditional" if met else "fail"),
        sections=[Section("地图 Map", image_png=render_png(fc, store)),
                  Section("队伍 Teams", table=table, paragraphs=_strings(meta.get("reason"))),
                  Section("到达标准 Arrival standards", bullets=standards or ["—"]),
                  Section("方法 Method", paragraphs=_strings(meta.get("method")) + _strings(meta.get("network"))),
                  Section("局限 Limitations", bullets=_strings(meta.get("limitations")) or ["—"])])
