"""One report per analysis, built from the analysis' GeoJSON FeatureCollection exactly as the API
returns it (so the PDF shows what the viewer shows): the verdict or zones, the map image, every
rule / zone / team row, and the model's assumptions, limitations and sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .. import legend as L
from ..analysis.consequence.results import ExposureZones
from ..analysis.qra.results import (
    FnCurve,
    FnSummary,
    IndividualRisk,
    OutcomeCaseRow,
    SkippedCase,
    TargetCheck,
)
from ..analysis.rescue.results import NearestTeams, TimedRescueMetadata, TimedTeamProperties
from ..analysis.siting.results import (
    AppliedThreshold,
    Measured,
    ProposalProperties,
    RuleSummary,
    SitingFeatures,
)
from .fnchart import fn_png
from .mapimage import ContextSource, render_png
from .pdf import Report, Section, Table


def _tag_text(tag: str | None) -> str:
    """A constant's tag as people read it: [M] values are "unconfirmed, configurable" (never "as remembered")."""
    return "M 未确认，可配置\nunconfirmed, configurable" if tag == "M" else (tag or "—")


def _fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是 yes" if v else "否 no"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(v) for v in value]
    return []


# -- siting ------------------------------------------------------------------------------------

def _evidence(rule: RuleSummary, limit: int = 6) -> str:
    items = rule.offending
    names = []
    for o in items[:limit]:
        label = o.get("name") or f"{o.get('layer', '')} #{o.get('id', '')}"   # a reference: layer, id, name, measures
        if o.get("distance_m") is not None:
            label += f" ({_fmt(o['distance_m'], 0)} m)"
        names.append(label)
    more = f" … +{len(items) - limit}" if len(items) > limit else ""
    return "; ".join(names) + more if names else "—"


def _applied(m: Measured | AppliedThreshold) -> str:
    if m.value is None:
        return "—"
    text = f"{_fmt(m.value, 2)} {m.unit or ''}".strip()
    what = m.quantity if isinstance(m, Measured) else m.basis
    return f"{text} ({what})" if what else text


def siting_report(fc: SitingFeatures, context: ContextSource | None = None, font: Path | None = None) -> Report:
    meta = fc.metadata
    proposal = fc.proposal
    name = (proposal.name if proposal else None) or "拟选址 proposal"
    verdict = meta.verdict
    rows, classes = [], []
    for r in meta.rules:
        rows.append([f"{r.description.zh or r.id}\n{r.id}", L.zh_en(L.OUTCOMES, r.outcome),
                     _applied(r.measured), _applied(r.threshold), r.source or "—",
                     _evidence(r), "; ".join(r.notes) or "—"])
        classes.append(r.outcome)
    fields = ["rule", "outcome", "measured", "threshold", "source", "evidence", "notes"]
    table = Table([L.zh_en(L.FIELDS, k) for k in fields], rows, [0.2, 0.08, 0.14, 0.14, 0.18, 0.16, 0.1], classes)
    counts = ", ".join(f"{L.zh_en(L.OUTCOMES, k)}: {len(v)}" for k, v in meta.summary.items())
    fn_sections = [Section(f"社会风险 Societal risk (F-N) — {r.id}", image_png=fn_png(r.societal, font_path=font),
                           paragraphs=_fn_text(r.societal))
                   for r in meta.rules if r.societal is not None]
    return Report(
        kind="SITING",
        title=f"选址检查报告 Siting check — {name}",
        subtitle=f"规则集 rule set: {meta.rule_set.name or '—'}",
        verdict=f"结论 Verdict: {L.zh_en(L.VERDICTS, verdict)}", verdict_class=verdict,
        sections=[Section("地图 Map (含个人风险等值线 with IR contours where a QRA rule ran)",
                          image_png=render_png(fc.model_dump(mode="json"), context, font_path=font, legend=True)),
                  *_inventory_sections(proposal),
                  Section("规则逐条结果 Rules", paragraphs=[counts] if counts else [], table=table),
                  *fn_sections,
                  Section("判定规则 Verdict rule", paragraphs=[meta.verdict_rule])])


def _substance_label(name: Any) -> str:
    """中文 English of a known substance; the given name otherwise."""
    from ..models.substances import find

    sub = find(str(name)) if name else None
    return f"{sub.name_zh} {sub.name_en}" if sub else str(name or "—")


UNIT_TYPE_LABELS = {"storage": "储存单元 storage unit", "production": "生产装置 production (process) unit"}


def _inventory_sections(proposal: ProposalProperties | None) -> list[Section]:
    """The proposal's inventory as the QRA used it (design maximum quantities), or a line saying there is none."""
    inv = (proposal.inventory if proposal else None) or []
    if proposal is not None and proposal.kind == "park" and not inv:
        return []
    if not inv:
        return [Section("危险化学品存量 Inventory", paragraphs=[
            "未提供存量：外部安全防护距离按筛查距离判定（非标准值）。 No inventory given: the external safety "
            "distance was judged by the screening distance (not from a standard); give the inventory for a QRA."])]
    unit = UNIT_TYPE_LABELS.get((proposal.unit_type if proposal else None) or "storage", "—")
    # inventory rows are the request's own items (free-form beyond substance and quantity_t): read as given
    rows = [[_substance_label(i.get("substance")), _fmt(i.get("quantity_t"), 1), _fmt(i.get("operating_temp_c"), 0),
             i.get("containment") or "—", i.get("cas") or "—"] for i in inv if isinstance(i, dict)]
    table = Table(["物质 substance", "设计最大量 q t", "操作温度 °C", "围护 containment", "CAS"], rows,
                  [0.34, 0.18, 0.16, 0.16, 0.16])
    return [Section("危险化学品存量 Inventory (定量风险评价输入 QRA input)",
                    paragraphs=[f"单元类型 unit type: {unit}"], table=table)]


def _fn_text(fn: FnCurve | FnSummary) -> list[str]:
    a = fn.assessment
    return [f"区域 region: {a.region_zh} ({a.region})",
            f"计入受体 receptors counted: {fn.receptors_counted}; 期望死亡 expected deaths "
            f"{fn.expected_deaths_per_year:.3g} /年",
            f"判据线 criterion lines: {a.lines.basis}"]


# -- quantitative risk -------------------------------------------------------------------------

def _targets_table(targets: list[TargetCheck]) -> Table:
    rows = [[t.name or f"#{t.id}", L.zh_en(L.RECEPTOR_CLASSES, t.receptor_class), t.target_class_zh or t.target_class,
             f"{t.ir_per_year:.2e}", f"{t.criterion_per_year:.0e}", "不通过 fail" if t.verdict == "fail" else "通过 pass"]
            for t in targets]
    return Table(["名称 name", "类别 class", "防护目标类别 GB 36894 class", "IR /年", "基准 criterion /年",
                  "结论 verdict"], rows, [0.28, 0.14, 0.22, 0.12, 0.12, 0.12], [t.verdict for t in targets])


def _contours_table(ir: IndividualRisk) -> Table:
    rows = [[f"{p.level_per_year:.0e}", f"{p.label_zh}\n{p.label_en}", _fmt(p.area_m2 / 1e6, 4)]
            for p in sorted(ir.contours, key=lambda p: -p.level_per_year)]
    return Table(["IR /年", "等值线 contour", "面积 area km²"], rows, [0.14, 0.66, 0.2])


def _cases_table(cases: list[OutcomeCaseRow]) -> Table:
    rows = [[c.id, c.substance, c.loc, c.outcome, f"{c.frequency_per_year:.2e}", _tag_text(c.loc_confidence)]
            for c in cases[:200]]
    return Table(["情景 case", "物质 substance", "泄漏 LOC", "后果 outcome", "频率 f /年", "可信度 tag"], rows,
                 [0.3, 0.14, 0.18, 0.14, 0.12, 0.12])


def _skipped_text(s: SkippedCase) -> str:
    return f"{_fmt(s.installation) if s.installation is not None else ''} {s.extra('substance') or ''}: " \
           f"{s.extra('reason') or ''}".strip()


def risk_report(ir: IndividualRisk, context: ContextSource | None = None, font: Path | None = None) -> Report:
    """IR contours, protection-target verdicts and the F-N curve of one installation or a park (the answer of
    ``GET /analysis/risk/individual…?societal=true``)."""
    meta = ir.metadata
    insts = meta.installations
    fn = meta.societal
    targets = sorted(meta.receptors, key=lambda t: -t.ir_per_year)  # highest IR first
    scen = meta.scenarios
    ptext = ", ".join(f"{k}={v}" for k, v in meta.parameters.items()
                      if v is not None and not isinstance(v, (list, dict)))
    names = "、".join(str(i.name or i.id) for i in insts[:6]) + (" …" if len(insts) > 6 else "")
    sections = [Section("地图 Map: 个人风险等值线 individual-risk contours",
                        image_png=render_png(ir.document(), context, font_path=font, legend=True)),
                Section("防护目标 Protection targets (GB 36894-2018 Table 1)",
                        paragraphs=[meta.criteria] if targets else ["范围内无防护目标 none within reach"],
                        table=_targets_table(targets) if targets else None),
                Section("等值线 Contours", table=_contours_table(ir) if ir.features else None,
                        paragraphs=[] if ir.features else ["最大个人风险低于 3×10⁻⁷/年 max IR below every level"])]
    if fn is not None:
        sections.append(Section("社会风险 Societal risk (F-N)", image_png=fn_png(fn, font_path=font),
                                paragraphs=[*_fn_text(fn), fn.day_night]))
    sections += [
        Section(f"结果情景 Outcome cases ({len(scen)})", table=_cases_table(scen) if scen else None,
                paragraphs=[] if len(scen) <= 200 else [f"前 200 个 first 200 of {len(scen)}; 全部见 JSON all in JSON"]),
        Section("跳过的情景 Skipped scenarios", bullets=[_skipped_text(s) for s in meta.skipped] or ["无 none"]),
        Section("方法与参数 Method and parameters", paragraphs=[meta.method, ptext]),
        Section("警示 Warnings", bullets=meta.warnings or ["无 none"]),
        Section("局限 Limitations", bullets=meta.limitations or ["—"]),
        Section("来源 Sources", bullets=list(dict.fromkeys(meta.sources)) or ["—"])]
    failing = ir.failing
    return Report(
        kind="QRA",
        title=f"定量风险评价报告 Quantitative risk — {names or '—'}",
        subtitle=f"{len(insts)} 个风险源 installation(s) · {meta.parameters.get('installation', '')} · GB 36894-2018",
        verdict=(f"最大个人风险 max IR {meta.max_ir.ir_per_year:.2e}/年 · {len(failing)}/{len(targets)} "
                 "个防护目标超出基准 protection targets above their criterion"),
        verdict_class="fail" if failing else "pass", sections=sections)


# -- exposure ----------------------------------------------------------------------------------

def exposure_report(fc: ExposureZones, context: ContextSource | None = None, font: Path | None = None) -> Report:
    meta = fc.metadata
    src = meta.source
    zones = fc.zones
    zrows, zcls = [], []
    for p in zones:
        ex = p.exposure
        thr = f"{_fmt(p.threshold, 2)} {p.threshold_unit or ''}".strip()
        flags = [label for on, label in ((p.truncated, "截断 truncated"), (p.near_field, "近场 near field")) if on]
        rows_extra = f" ⚠ {', '.join(flags)}" if flags else ""
        zrows.append([f"{p.label_zh or L.zh_en(L.LEVELS, p.level)}\n{p.label_en or ''}",
                      p.model or "—", thr + rows_extra, p.substance or "—",
                      _fmt(p.distance_m, 0), _fmt(ex.receptor_count), _fmt(ex.total_population)])
        zcls.append("fail" if p.level == "red" else "warn")
    zcols = ["level", "model", "threshold", "substance", "distance_m", "receptor_count", "population"]
    ztable = Table([L.zh_en(L.FIELDS, k) for k in zcols], zrows, [0.2, 0.22, 0.14, 0.12, 0.1, 0.1, 0.12], zcls)
    receptors = sorted(fc.receptors, key=lambda p: (-{"red": 2, "orange": 1, "yellow": 0}.get(p.innermost_level or "", -1),
                                                    p.distance_m or 0))
    rrows = [[p.name or f"#{p.id}", p.class_zh or L.zh_en(L.RECEPTOR_CLASSES, p.receptor_class),
              _fmt(p.population), _fmt(p.distance_m, 0), L.zh_en(L.LEVELS, p.innermost_level)]
             for p in receptors]
    rcols = ["name", "receptor_class", "population", "distance_m", "zone"]
    rtable = Table([L.zh_en(L.FIELDS, k) for k in rcols], rrows, [0.36, 0.16, 0.16, 0.14, 0.18],
                   ["fail" if p.innermost_level == "red" else "warn" for p in receptors])
    total = meta.exposure
    params = meta.parameters
    ptext = ", ".join(f"{k}={v}" for k, v in params.items() if v is not None and not isinstance(v, (list, dict)))
    zone_notes = []
    for p in zones:
        text = f"{p.label_zh or p.level}: {p.model or ''} — {_extra(p, 'level_name') or ''}"
        if p.threshold_source:
            text += f"; 阈值来源 threshold source: {p.threshold_source}"
        if p.model_reason:
            text += f"; 模型选择 model choice: {p.model_reason}"
        if p.truncated:
            text += f"; 截断 truncated: {p.truncation_reason or ''}"
        zone_notes.append(text)
    sources, limits = [], []
    for m in meta.models:
        sources += _strings(m.sources)
        limits += _strings(m.limitations)
    return Report(
        kind="EXPOSURE",
        title=f"暴露分析报告 Exposure — {src.name or src.layer or ''}",
        subtitle=f"{src.layer or ''} #{'' if src.id is None else src.id}",
        verdict=(f"暴露受体 {total.receptor_count} 个，人口 {total.total_population}"
                 f" — exposed receptors {total.receptor_count}, population {total.total_population}"),
        verdict_class="fail" if total.receptor_count else "pass",
        sections=[Section("地图 Map", image_png=render_png(fc.model_dump(mode="json"), context, font_path=font, legend=True,
                                                          wind=(params.get("wind_dir_deg"), params.get("wind_speed_m_s")))),
                  Section("影响分区 Zones", table=ztable),
                  Section("暴露受体 Exposed receptors (by zone, nearest first)",
                          paragraphs=[] if rrows else ["无 none"], table=rtable if rrows else None),
                  Section("模型与阈值 Models and thresholds", bullets=list(dict.fromkeys(zone_notes)) or ["—"]),
                  Section("未运行的模型 Models not run", bullets=_strings(meta.skipped_models) or ["—"]),
                  Section("情景参数 Scenario parameters", paragraphs=[ptext]),
                  Section("假设 Assumptions", bullets=_strings(meta.assumptions) + _strings(meta.population_note)),
                  Section("警示 Warnings", bullets=_strings(meta.warnings) or ["无 none"]),
                  Section("局限 Limitations", bullets=list(dict.fromkeys(limits)) or ["—"]),
                  Section("来源 Sources", bullets=list(dict.fromkeys(sources)) or ["—"])])


def _extra(model: BaseModel, name: str) -> Any:
    """A member a model family adds to the typed record (kept as an extra member), or None."""
    return (model.model_extra or {}).get(name)


# -- rescue ------------------------------------------------------------------------------------

def rescue_report(fc: NearestTeams, context: ContextSource | None = None, font: Path | None = None) -> Report:
    meta = fc.metadata
    teams = fc.teams
    rows, cls = [], []
    for p in teams:
        timed = p if isinstance(p, TimedTeamProperties) else None
        meets = timed.meets_standard if timed else None
        road = timed.road_distance_m if timed else None
        rows.append([_fmt(p.rank), p.name or "—", p.team_type_zh or p.team_type, _fmt(p.distance_m / 1000, 1),
                     _fmt(road / 1000, 1) if road is not None else "—", _fmt(timed.eta_min if timed else None, 1),
                     _fmt(p.standard_min, 0), L.zh_en(L.MEETS, meets)])
        cls.append("pass" if meets is True else "fail")
    cols = ["rank", "name", "team_type", "distance_km", "road_km", "eta_min", "standard_min", "meets_standard"]
    table = Table([L.zh_en(L.FIELDS, k) for k in cols], rows, [0.05, 0.3, 0.11, 0.1, 0.1, 0.1, 0.1, 0.14], cls)
    inc_label = meta.incident_label.get(meta.incident)
    inc_text = f"{inc_label.zh} {inc_label.en}" if inc_label else meta.incident
    standards = [f"{v.team_type_zh} {k}: {_fmt(v.standard_min, 0)} min — {v.source}"
                 for k, v in meta.standards.items()]
    met = sum(1 for p in teams if isinstance(p, TimedTeamProperties) and p.meets_standard is True)
    timed_meta = meta if isinstance(meta, TimedRescueMetadata) else None
    method = [timed_meta.method, *([timed_meta.network] if timed_meta.network else [])] if timed_meta else []
    return Report(
        kind="RESCUE",
        title="最近救援队伍报告 Nearest rescue teams",
        subtitle=(f"事故 incident: {inc_text} · {meta.origin.lat}°N {meta.origin.lon}°E · "
                  f"排序 ranked by {'道路时间 road time' if meta.by == 'time' else '直线距离 straight line'}"),
        verdict=f"{met}/{len(teams)} 支队伍达到到达标准 teams meet the arrival standard",
        verdict_class="pass" if teams and met == len(teams) else ("conditional" if met else "fail"),
        sections=[Section("地图 Map", image_png=render_png(fc.model_dump(mode="json"), context, font_path=font, legend=True)),
                  Section("队伍 Teams", table=table, paragraphs=[meta.reason] if meta.reason else []),
                  Section("到达标准 Arrival standards", bullets=standards or ["—"]),
                  Section("方法 Method", paragraphs=method),
                  Section("局限 Limitations", bullets=meta.limitations or ["—"])])
