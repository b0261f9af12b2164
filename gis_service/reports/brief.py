"""The one-page brief (简报) for a commander: exactly one A4 page with the map (zones, wind arrow, legend,
scale, north arrow, place names), each zone's true reach, the exposed population and the most sensitive
receptors, the nearest capable teams with their road ETA against the standard, an alarm's reading and
history when the brief is for an alarm, the assumptions, Beijing time, the data's as-of time and a document
number. Everything is laid into one frame that reportlab shrinks to fit (``KeepInFrame(mode="shrink")``), so
the brief is one page whatever the number of rows; long lists are cut to their first rows and say so.

Inputs are the analyses' typed results (:class:`~gis_service.analysis.consequence.results.ExposureZones`,
:class:`~gis_service.analysis.rescue.results.NearestTeams`), read by attribute; every text a user could have
typed (names, notes) is escaped before it reaches reportlab's paragraph markup."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import legend as L
from ..analysis.consequence.results import ExposureZones, ZoneProperties
from ..analysis.rescue.results import NearestTeams, TimedTeamProperties
from .mapimage import ContextSource, render_png
from .pdf import _esc, _register_font, plain_superscripts
from .stamp import beijing

SENSITIVITY = {"hospital": 0, "care_home": 1, "school": 2, "residential": 3}   # who cannot leave by themselves first
LEVEL_RANK = {"red": 0, "orange": 1, "yellow": 2}
MAX_ZONES, MAX_RECEPTORS, MAX_TEAMS = 12, 6, 5


@dataclass
class Series:
    """A sensor's recent readings for the alarm brief's chart, with its alarm thresholds."""

    name: str | None
    unit: str | None
    thresholds: dict[str, float | None]                      # high_high, high, low, low_low (as configured)
    readings: list[tuple[float, float]] = field(default_factory=list)   # (epoch s, value), oldest first


@dataclass
class Brief:
    title: str
    place: str
    doc_no: str
    exposure: ExposureZones | None = None         # GET /analysis/exposure… (receptor features included)
    rescue: NearestTeams | None = None            # GET /analysis/rescue/nearest…
    alarm: dict[str, Any] | None = None           # the alarm document (monitoring), with its history
    series: Series | None = None                  # the alarm's sensor readings
    as_of: datetime | None = None                 # the newest write to the data the brief used
    attribution: str = ""
    notes: list[str] = field(default_factory=list)
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))


def _km(m: float | None) -> str:
    if m is None:
        return "—"
    return f"{m / 1000:.2f} km" if m < 10_000 else f"{m / 1000:.1f} km"


def _extra(p: ZoneProperties, name: str) -> Any:
    """A member a model family adds to a zone (kept as an extra member: true reach, model range), or None."""
    return (p.model_extra or {}).get(name)


def zone_reach(p: ZoneProperties) -> str:
    """A zone's true reach: its distance, or for a zone drawn short of its level the distance the level is
    reached at, or "beyond the model's range" when the model cannot say."""
    drawn = _km(p.distance_m)
    if not p.truncated:
        return drawn
    true = _extra(p, "true_distance_m")
    if _extra(p, "beyond_model_range"):  # the zone's own wording (issue 17), the same as the API, viewer and PDFs
        rng = f"{(_extra(p, 'model_range_m') or 10_000) / 1000:g} km"
        return f"超出模型适用范围 {rng} beyond the model's range of {rng} (> {drawn})"
    if true is None or _extra(p, "true_distance_is_lower_bound"):
        return f"超出模型范围 beyond the model's range (> {drawn})"
    return f"{_km(true)}（图上画至 drawn to {drawn}，超出模型有效范围 beyond the model's valid range）"


def zone_rows(fc: ExposureZones | None) -> list[list[str]]:
    zones = sorted(fc.zones if fc else [], key=lambda p: (LEVEL_RANK.get(p.level, 9), -p.distance_m))
    rows = []
    for p in zones[:MAX_ZONES]:
        thr = f"{'—' if p.threshold is None else f'{p.threshold:g}'} {p.threshold_unit or ''}".strip()
        rows.append([p.label_zh or L.zh_en(L.LEVELS, p.level), thr, p.substance or "—", zone_reach(p),
                     str(p.exposure.total_population), str(p.exposure.receptor_count)])
    if len(zones) > MAX_ZONES:
        rows.append([f"… 另 {len(zones) - MAX_ZONES} 个 more (见暴露报告 see the exposure report)", "", "", "", "", ""])
    return rows


def sensitive_receptors(fc: ExposureZones | None) -> list[list[str]]:
    recs = sorted(fc.receptors if fc else [], key=lambda p: (LEVEL_RANK.get(p.innermost_level or "", 9),
                                                             SENSITIVITY.get(p.receptor_class or "", 9), -p.population))
    return [[p.name or f"#{p.id}", p.class_zh or L.zh_en(L.RECEPTOR_CLASSES, p.receptor_class),
             L.zh_en(L.LEVELS, p.innermost_level), str(p.population), _km(p.distance_m)]
            for p in recs[:MAX_RECEPTORS]]


def team_rows(fc: NearestTeams | None) -> list[list[str]]:
    rows = []
    for p in (fc.teams if fc else [])[:MAX_TEAMS]:
        timed = p if isinstance(p, TimedTeamProperties) else None
        eta = timed.eta_min if timed else None
        road = timed.road_distance_m if timed else None
        meets = timed.meets_standard if timed else None
        rows.append([str(p.rank), p.name or "—", p.team_type_zh or p.team_type or "—",
                     _km(road if road is not None else p.distance_m),
                     f"{'—' if eta is None else f'{eta:.0f}'} / {p.standard_min:g} min", L.zh_en(L.MEETS, meets)])
    return rows


def scenario_text(params: dict[str, Any]) -> str:
    """The scenario in words (never a raw dict)."""
    wind = params.get("wind_dir_deg")
    parts = [f"风从 wind from {wind:g}°" if isinstance(wind, (int, float)) else "风向未知：全向 all directions",
             f"风速 {params['wind_speed_m_s']:g} m/s" if isinstance(params.get("wind_speed_m_s"), (int, float)) else "",
             f"稳定度 stability {params['stability']}" if params.get("stability") else "",
             _preset(params),
             f"释放 {params['release_rate_g_s']:g} g/s" if params.get("release_rate_g_s") else "",
             f"持续 {params['release_duration_min']:g} min" if params.get("release_duration_min") else ""]
    return "；".join(p for p in parts if p)


PRESETS = {"worst": ("F", 1.5, "最不利气象 worst-case weather"), "typical": ("D", 3.0, "典型气象 typical weather")}


def _preset(params: dict[str, Any]) -> str:
    """The weather preset's name, when the stability and speed used are the preset's own."""
    p = PRESETS.get(params.get("weather") or "")
    return p[2] if p and params.get("stability") == p[0] and params.get("wind_speed_m_s") == p[1] else ""


def assumptions(b: Brief) -> list[str]:
    out = []
    if b.exposure:
        meta = b.exposure.metadata
        out.append("情景 scenario: " + scenario_text(meta.parameters))
        out += meta.assumptions[:3]
        skipped = meta.skipped_models   # the model families' own records (substance, model, reason): read as given
        if skipped:
            out.append("未运行的模型 models not run: " + "；".join(
                f"{s.get('substance', '')} {L.zh_en(L.KINDS, s.get('model'))}" if isinstance(s, dict) else str(s)
                for s in skipped[:4]) + (" …" if len(skipped) > 4 else ""))
    if b.rescue:
        rmeta = b.rescue.metadata
        by = "道路时间 road time" if rmeta.by == "time" else "直线距离 straight line"
        out.append(f"救援队伍按{by}排序；到达标准见 standards: " + "；".join(
            f"{v.team_type_zh or k} {v.standard_min:g} min" for k, v in rmeta.standards.items()))
    out += b.notes
    return out


def _alarm_lines(b: Brief) -> list[str]:
    a = b.alarm or {}
    if not a:
        return []
    lines = [f"报警 alarm #{a.get('id')} · {a.get('level_zh') or a.get('level')} · {a.get('rule_zh') or a.get('rule')} · "
             f"状态 {a.get('status')} · 报警值 opened {a.get('opened_value')} · 峰值 peak {a.get('peak_value')} · "
             f"最新 last {a.get('last_value')}"]
    if a.get("opened_at"):
        lines.append(f"报警时间 opened: {beijing(_parse(a['opened_at']))}"
                     + (f" · 确认 acknowledged: {beijing(_parse(a['acknowledged_at']))}" if a.get("acknowledged_at") else ""))
    hist = a.get("history") or []
    if hist:
        lines.append("经过 history: " + "；".join(
            f"{h.get('event')} {beijing(_parse(h['at']))[:16]}" if isinstance(h, dict) and h.get("at") else str(h)
            for h in hist[-6:]))
    return lines


def _parse(value: Any) -> datetime | None:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _series_png(series: Series, font: Path, width_in: float = 7.0, height_in: float = 1.3) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    fp = FontProperties(fname=str(font), size=7)
    fig = Figure(figsize=(width_in, height_in), dpi=110)
    ax = fig.add_axes((0.07, 0.22, 0.9, 0.68))
    pts = series.readings
    if pts:
        t0 = pts[-1][0]
        ax.plot([(t - t0) / 60 for t, _ in pts], [v for _, v in pts], color="#08519c", linewidth=1.2)
    for key, colour in (("high_high", "#d7301f"), ("high", "#fd8d3c"), ("low", "#fd8d3c"), ("low_low", "#d7301f")):
        v = series.thresholds.get(key)
        if isinstance(v, (int, float)):
            ax.axhline(v, color=colour, linestyle="--", linewidth=0.8)
    ax.set_xlabel("分钟（相对最新读数）minutes before the last reading", fontproperties=fp)
    ax.set_ylabel(series.unit or "", fontproperties=fp)
    ax.tick_params(labelsize=6)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def render_brief(b: Brief, context: ContextSource | None, font: Path) -> bytes:
    """The brief as PDF bytes: exactly one A4 page, ``font`` embedded."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Frame, Image, KeepInFrame, Paragraph, Spacer, Table, TableStyle

    fname = _register_font(font)
    base = ParagraphStyle("b", fontName=fname, fontSize=8, leading=10.5, wordWrap="CJK")
    st = {"title": ParagraphStyle("t", parent=base, fontSize=14, leading=18),
          "sub": ParagraphStyle("s", parent=base, fontSize=7.5, textColor="#444444"),
          "h": ParagraphStyle("h", parent=base, fontSize=9.5, leading=12, spaceBefore=4, spaceAfter=2),
          "cell": ParagraphStyle("c", parent=base, fontSize=7, leading=8.6),
          "p": base}
    width, height = A4
    margin = 11 * mm
    text_w = width - 2 * margin

    def table(cols: list[str], rows: list[list[str]], fr: list[float], classes: list[str | None] | None = None):
        data = [[Paragraph(_esc(c), st["cell"]) for c in cols]] + [[Paragraph(_esc(v), st["cell"]) for v in r] for r in rows]
        t = Table(data, colWidths=[text_w * f for f in fr])
        style = [("FONTNAME", (0, 0), (-1, -1), fname), ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                 ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]
        fills = {"red": "#fee0d2", "orange": "#fdd0a2", "yellow": "#ffffcc", "pass": "#e5f5e0", "fail": "#fee0d2"}
        for i, c in enumerate(classes or []):
            if c in fills:
                style.append(("BACKGROUND", (0, i + 1), (-1, i + 1), colors.HexColor(fills[c])))
        t.setStyle(TableStyle(style))
        return t

    total = b.exposure.metadata.exposure if b.exposure else None
    teams = team_rows(b.rescue)
    met = sum(1 for r in teams if r[-1].startswith("达标"))
    head = [f"暴露人口 exposed population {total.total_population}" if total else "",
            f"受体 receptors {total.receptor_count}" if total else "",
            f"达标队伍 teams meeting the standard {met}/{len(teams)}" if b.rescue else ""]
    flow: list = [Paragraph(_esc(b.title), st["title"]),
                  Paragraph(_esc(f"{b.place}  ·  文档编号 document {b.doc_no}"), st["sub"]),
                  Paragraph(_esc(f"生成 generated {beijing(b.generated)}  ·  数据截至 data as of "
                                 f"{beijing(b.as_of) if b.as_of else '—'}"), st["sub"]),
                  Paragraph("<b>" + _esc(" · ".join(h for h in head if h)) + "</b>", st["h"])]
    alarm = _alarm_lines(b)
    if alarm:
        flow.append(Paragraph(_esc("报警读数与经过 Alarm reading and history"), st["h"]))
        flow += [Paragraph(_esc(x), st["p"]) for x in alarm]
    map_fc = _map_doc(b)
    params = b.exposure.metadata.parameters if b.exposure else {}
    png = render_png(map_fc, context, width_in=7.2, height_in=4.0, dpi=130, font_path=font,
                     wind=(params.get("wind_dir_deg"), params.get("wind_speed_m_s")) if b.exposure else None,
                     legend=True)
    img = Image(io.BytesIO(png))
    img.drawWidth, img.drawHeight = text_w, img.imageHeight * text_w / img.imageWidth
    flow.append(img)
    if b.attribution:   # the basemap's credit and 审图号 as text (searchable), under the map
        flow.append(Paragraph(_esc(b.attribution), st["sub"]))
    if b.series and b.series.readings:
        s_img = Image(io.BytesIO(_series_png(b.series, font)))
        s_img.drawWidth, s_img.drawHeight = text_w, s_img.imageHeight * text_w / s_img.imageWidth
        flow += [Paragraph(_esc(f"{b.series.name or ''} 读数 readings ({b.series.unit or ''})"), st["h"]), s_img]
    zrows = zone_rows(b.exposure)
    if zrows:
        flow += [Paragraph(_esc("影响分区与真实影响距离 Zones and their true reach"), st["h"]),
                 table(["分区 zone", "阈值 threshold", "物质 substance", "影响距离 reach", "人口 population", "受体 receptors"],
                       zrows, [0.2, 0.12, 0.1, 0.36, 0.11, 0.11],
                       [_zone_class(r[0]) for r in zrows])]
    rrows = sensitive_receptors(b.exposure)
    if rrows:
        flow += [Paragraph(_esc("最敏感的受体 Most sensitive receptors"), st["h"]),
                 table(["名称 name", "类别 class", "所在分区 zone", "人口 population", "距离 distance"], rrows,
                       [0.4, 0.14, 0.16, 0.14, 0.16])]
    if teams:
        flow += [Paragraph(_esc("最近的有能力队伍 Nearest capable teams (道路 ETA / 标准 standard)"), st["h"]),
                 table(["序 rank", "名称 name", "类型 type", "道路距离 road", "ETA / 标准 standard", "达标 meets"], teams,
                       [0.06, 0.38, 0.14, 0.12, 0.16, 0.14], ["pass" if r[-1].startswith("达标") else "fail" for r in teams])]
    notes = assumptions(b)
    if notes:
        flow.append(Paragraph(_esc("假设与说明 Assumptions"), st["h"]))
        flow += [Paragraph("• " + _esc(n), st["p"]) for n in notes]
    flow.append(Spacer(1, 2))

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1, initialFontName=fname, initialFontSize=8)
    c.setTitle(plain_superscripts(b.title))
    c.setAuthor("risk map service 风险地图服务")
    c.setSubject(b.doc_no)
    frame = Frame(margin, margin + 6 * mm, text_w, height - 2 * margin - 6 * mm, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    frame.addFromList([KeepInFrame(text_w, height - 2 * margin - 6 * mm, flow, mode="shrink")], c)
    c.setFont(fname, 7)
    c.setFillColor(colors.HexColor("#555555"))
    c.drawString(margin, margin, plain_superscripts(f"{b.doc_no} · {beijing(b.generated)}"))
    c.drawRightString(width - margin, margin, "第 1 / 1 页 page 1 of 1")
    c.showPage()
    c.save()
    return buf.getvalue()


def _zone_class(label: str) -> str | None:
    for key, words in (("red", ("红", "red")), ("orange", ("橙", "orange")), ("yellow", ("黄", "yellow"))):
        if any(w in label for w in words):
            return key
    return None


def _map_doc(b: Brief) -> dict[str, Any]:
    """One FeatureCollection for the map image: the exposure's zones and receptors, the rescue's teams and
    routes, and the incident point or source."""
    feats: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    if b.exposure:
        feats += [f.model_dump(mode="json") for f in b.exposure.features]
        meta["source"] = b.exposure.metadata.source.model_dump(mode="json")
    if b.rescue:
        feats += [f.model_dump(mode="json") for f in b.rescue.features]
        meta["origin"] = b.rescue.metadata.origin.model_dump(mode="json")
    return {"type": "FeatureCollection", "features": feats, "metadata": meta}
