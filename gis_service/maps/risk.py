"""Risk map: individual-risk contours (GB 36894 levels) as nested coloured polygons, protection targets coloured
by their verdict, and the F-N curve drawn as an inline SVG chart beside the map (no chart library, no CDN).
The contours and the chart are drawn by ``web/riskmap.js`` (``RiskMap.irLayer`` / ``RiskMap.fnChart``), the same
code the viewer uses."""

from __future__ import annotations

from typing import Any

import folium

from ..analysis.qra.results import IndividualRisk
from ..config import Settings
from ..legend import IR_LEVEL_COLOURS, ir_levels
from .base import LayerSource, add_legend, add_panel
from .elements import FnChart, IrContours, ResultLayer
from .results import _frame, collection_bbox


def render_risk(ir: IndividualRisk, settings: Settings, layers: LayerSource | None = None) -> folium.Map:
    """The contours, installations and protection targets of ``ir``; its F-N curve (``metadata.societal``, when
    the run has one) as a chart."""
    meta = ir.metadata
    inst_fc: dict[str, Any] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i.lon, i.lat]},
         "properties": {"name": i.name, "id": i.id}} for i in meta.installations]}
    contours = {"type": "FeatureCollection", "features": [f.model_dump(mode="json") for f in ir.features]}
    m, base = _frame(layers, settings, collection_bbox(contours, inst_fc))
    IrContours(contours, ir_levels(), name="个人风险等值线 IR contours").add_to(m)
    if inst_fc["features"]:  # names are data for riskmap.js, never template text (see elements.py)
        m.add_child(ResultLayer(inst_fc, "风险源 Installations", {"role": "source"}))
    rows = []
    for r in meta.receptors:
        cls = "fail" if r.verdict == "fail" else "pass"
        rows.append({"cells": [r.name, r.receptor_class, r.target_class_zh, f"{r.ir_per_year:.2e}",
                               f"{r.criterion_per_year:.0e}", "不通过 fail" if cls == "fail" else "通过 pass"],
                     "cls": cls})
    tables = [{"title": "防护目标 Protection targets (GB 36894)",
               "columns": ["名称", "类别", "防护目标类别", "IR /年", "基准 /年", "结论"], "rows": rows[:40]}]
    notes = [f"最大个人风险 max IR {meta.max_ir.ir_per_year:.2e}/年", meta.criteria, *meta.warnings[:4],
             f"跳过的情景 skipped scenarios: {len(meta.skipped)}", *meta.limitations[:3]]
    add_panel(m, "个人风险 Individual risk (GB 36894-2018)", notes, tables, basemap=base)
    add_legend(m, [], extra=[{"label": f"IR ≥ {lvl:.0e} /年", "family": "polygon", "color": c, "fillColor": c}
                             for lvl, c in IR_LEVEL_COLOURS.items()])
    if meta.societal is not None:
        FnChart(meta.societal.model_dump(mode="json", include={"fn_curve", "assessment"})).add_to(m)
    return m

