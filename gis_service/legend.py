"""What every renderer shares (the Folium maps, the PDF reports, the viewer): Chinese labels (English beside)
for the codes analyses return, and the colours of zone and individual-risk levels. Everything a person reads
comes from here; machines keep the English codes. A leaf module: renderers import it, it imports nothing."""

from __future__ import annotations

from typing import Any

OUTCOMES = {"pass": ("通过", "pass"), "warn": ("警示", "warning"), "fail": ("不通过", "fail"),
            "not_evaluated": ("未评估", "not evaluated")}
VERDICTS = {"pass": ("通过", "pass"), "conditional": ("有条件通过", "conditional"), "fail": ("不通过", "fail")}
LEVELS = {"red": ("红区", "red zone"), "orange": ("橙区", "orange zone"), "yellow": ("黄区", "yellow zone")}
KINDS = {"explosion": ("爆炸超压", "explosion"), "fire": ("火灾热辐射", "fire"), "toxic": ("毒气扩散", "toxic release"),
         "tailings_runout": ("溃坝泥流", "tailings runout"), "goaf_subsidence": ("采空沉陷", "goaf subsidence")}
SEVERITIES = {"fail": ("否决项", "blocking"), "warn": ("警示项", "warning")}
MEETS = {True: ("达标", "meets"), False: ("未达标", "misses"), None: ("无法到达", "unreachable")}
# result fields shown in tables (viewer and reports)
FIELDS = {
    "border_zh": ("跨辖区", "crossing a border"), "other_jurisdiction": ("其他辖区", "other jurisdiction"),
    "other_jurisdictions": ("波及辖区", "other jurisdictions"), "admin_code": ("行政区划代码", "admin code"),
    "rule": ("规则", "rule"), "outcome": ("结果", "outcome"), "measured": ("测得值", "measured"),
    "threshold": ("阈值", "threshold"), "source": ("依据", "source"), "evidence": ("证据", "evidence"),
    "notes": ("说明", "notes"), "severity": ("类别", "severity"), "rank": ("序", "rank"), "name": ("名称", "name"),
    "team_type": ("队伍类型", "team type"), "distance_km": ("直线距离 km", "straight-line km"),
    "road_km": ("道路距离 km", "road km"), "eta_min": ("到达时间 min", "ETA min"),
    "standard_min": ("到达标准 min", "standard min"), "meets_standard": ("是否达标", "meets standard"),
    "level": ("分区", "zone"), "kind": ("类型", "kind"), "model": ("模型", "model"),
    "substance": ("主导物质", "driving substance"), "distance_m": ("距离 m", "distance m"),
    "receptor_count": ("受体数", "receptors"), "population": ("人口", "population"),
    "receptor_class": ("受体类别", "class"), "zone": ("所在分区", "zone"),
    # properties of result features (popups on the viewer's result layers)
    "id": ("编号", "id"), "team_id": ("队伍编号", "team id"), "team_type_zh": ("队伍类型", "team type"),
    "personnel": ("人数", "personnel"), "on_duty": ("在岗", "on duty"), "county": ("所在县区", "county"),
    "bearing_deg": ("方位角 °", "bearing °"), "standard_source": ("标准来源", "standard source"),
    "reachable": ("可到达", "reachable"), "access_m": ("接驳距离 m", "access leg m"),
    "road_distance_m": ("道路距离 m", "road distance m"), "role": ("角色", "role"),
    "label_zh": ("名称", "label"), "label_en": ("英文名称", "English label"), "threshold_unit": ("单位", "unit"),
    "threshold_source": ("阈值来源", "threshold source"), "model_reason": ("模型选择", "model choice"),
    "truncated": ("截断", "truncated"), "truncation_reason": ("截断原因", "truncation reason"),
    "true_distance_m": ("实际距离 m", "true distance m"),
    # an inventory item's optional attributes (the popups' inventory tables)
    "flash_point_c": ("闪点 °C", "flash point °C"), "boiling_point_c": ("沸点 °C", "boiling point °C"),
    "operating_temp_c": ("操作温度 °C", "operating temperature °C"), "pipe_length_m": ("管长", "pipe length"),
    "pipe_diameter_mm": ("管径", "pipe diameter"), "transfers_per_year": ("装卸次数/年", "transfers per year"),
    "containment": ("围护", "containment"), "hazard_category": ("危险类别", "hazard category"),
    "transfer_equipment": ("装卸设备", "transfer equipment"),
    "beyond_model_range": ("超出模型适用范围", "beyond the model's range"), "near_field": ("近场", "near field"),
    "geometry_basis": ("几何依据", "geometry basis"), "level_name": ("等级描述", "level"),
    "level_basis": ("等级依据", "level basis"), "distance_unit": ("距离单位", "distance unit"),
    "innermost_level": ("所在最内区", "innermost zone"), "class_zh": ("类别", "class"),
    "rule_id": ("规则", "rule id"), "rule_zh": ("规则", "rule"), "rule_en": ("规则（英文）", "rule (English)"),
    "layer": ("图层", "layer"), "verdict": ("结论", "verdict"), "verdict_zh": ("结论", "verdict"),
    "exposure": ("暴露", "exposure"), "by_substance": ("各物质", "by substance"),
    "feature_type": ("要素类型", "feature type"),
}
RECEPTOR_CLASSES = {"school": ("学校", "school"), "hospital": ("医院", "hospital"),
                    "care_home": ("养老机构", "care home"), "residential": ("居民区", "residential")}


def zh_en(table: dict, key: Any, sep: str = " ") -> str:
    """``"通过 pass"`` for a known code, the code itself otherwise."""
    pair = table.get(key)
    return f"{pair[0]}{sep}{pair[1]}" if pair else ("—" if key is None else str(key))


def catalogue() -> dict[str, Any]:
    """The label catalogue as JSON for the viewer (MEETS keyed by "true"/"false"/"null")."""
    def pairs(table: dict) -> dict[str, dict[str, str]]:
        return {("null" if k is None else str(k).lower() if isinstance(k, bool) else k): {"zh": v[0], "en": v[1]}
                for k, v in table.items()}
    return {"outcomes": pairs(OUTCOMES), "verdicts": pairs(VERDICTS), "levels": pairs(LEVELS),
            "kinds": pairs(KINDS), "severities": pairs(SEVERITIES), "meets": pairs(MEETS),
            "fields": pairs(FIELDS), "receptor_classes": pairs(RECEPTOR_CLASSES)}


# Zone levels of the consequence analyses and individual-risk contour levels (per year, GB 36894-2018; 1e-6 for
# reference), darkest = highest risk: the Folium maps, the viewer (config.json) and the PDF map image.
LEVEL_COLORS = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#fecc5c"}
IR_LEVEL_COLOURS = {3e-5: "#7f0000", 1e-5: "#d7301f", 3e-6: "#fc8d59", 1e-6: "#fdcc8a", 3e-7: "#fef0d9"}


def ir_levels() -> list[dict[str, Any]]:
    """``[{level, color}]`` for ``RiskMap.irLayer``, highest level first."""
    return [{"level": lvl, "color": c} for lvl, c in IR_LEVEL_COLOURS.items()]
