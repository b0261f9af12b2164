"""Which consequence models apply to which feature: hazard sources (by substance and storage), tailings
dams (breach runout corridor) and goaf areas (subsidence influence zone); what-if releases."""

from __future__ import annotations

import math
from typing import Any

from shapely.geometry.base import BaseGeometry

from ... import geodesy
from ...models import goaf, tailings
from ...models.substances import STORAGE_TYPES, UnknownSubstance, lookup
from ...validation import Problem, ValidationFailed
from .combine import combine
from .inventory import parse_inventory
from .params import (
    EXPOSURE_LAYERS,
    MAX_QUANTITY_T,
    RELEASE_SOURCE,
    TYPICAL_SOURCE,
    WEATHER,
    WORST_CASE_SOURCE,
    ScenarioParams,
)
from .runners import RUNNERS, Candidate, scenario_set
from .zones import Zone, ZoneSet, buffer_m, order_zones


def hazard_source_zones(feature_geometry: BaseGeometry, inventory: Any, params: ScenarioParams | None = None,
                        *, source: dict[str, Any] | None = None) -> ZoneSet:
    """Zones of a hazard source by substance and storage: VCE (flammable gases), pool fire (flammable liquids),
    BLEVE fireball and jet fire (pressurised / compressed flammable gases) and toxic dispersion (dense or passive,
    chosen by the Britter–McQuaid criterion). One zone per model and level, the union over the inventory's
    substances, naming the substance that reaches farthest. Skipped models are listed with their reason."""
    p = params or ScenarioParams()
    items, warnings = parse_inventory(inventory)
    models: list[dict[str, Any]] = []
    cands: list[Candidate] = []
    skipped: list[dict[str, str]] = []
    for item in items:
        run, skip = scenario_set(item, p)
        skipped += skip
        for kind in run:
            cands += RUNNERS[kind](item, feature_geometry, p, models, warnings)
    weather_src = (WORST_CASE_SOURCE if (p.wind_speed_m_s, p.stability) == WEATHER["worst"] else
                   TYPICAL_SOURCE if (p.wind_speed_m_s, p.stability) == WEATHER["typical"] else "user's weather")
    assumptions = [
        f"Weather: wind {p.wind_speed_m_s:g} m/s, stability {p.stability}, {p.terrain} terrain ({weather_src}); "
        f"ambient {p.ambient_k:g} K, RH {p.relative_humidity:g}.",
        ("Wind direction not given: toxic zones are circles of the maximum downwind distance (the wind may blow "
         "from any direction)." if p.wind_dir_deg is None else
         f"Wind from {p.wind_dir_deg:g}° (meteorological convention); plumes point to "
         f"{(p.wind_dir_deg + 180) % 360:g}°."),
        "Toxic release rate: " + (f"{p.release_rate_g_s:g} g/s as given." if p.release_rate_g_s is not None else
                                  f"inventory × {p.release_fraction:g} over {p.release_duration_min:g} min "
                                  f"({RELEASE_SOURCE})."),
        "Toxic model: Britter–McQuaid (1988) when the workbook's criterion calls the release dense, else the "
        "Gaussian plume; each toxic zone states which and why.",
        f"Explosion: TNT equivalence with {p.cloud_fraction:g} of the flammable inventory in the cloud, yield "
        f"η = {p.yield_factor:g}, surface-burst Kingery–Bulmash curve (reflection counted once); "
        f"{'liquids included' if p.vce_for_liquids else 'flammable gases only'}; no VCE for ammonia / H₂S unless "
        "vce_low_reactivity.",
        "Pool fire (flammable liquids): burning rate per substance (Babrauskas 1983) unless burning_rate_kg_m2_s is "
        f"given; the pool is the whole item lost at once spread to {p.min_pool_thickness_mm:g} mm, bounded by a "
        f"{p.pool_area_m2:g} m² bund (polygon units: the smaller of that and the polygon) — never the whole polygon.",
        f"Pressurised liquefied flammables: BLEVE fireball of the whole quantity and a jet fire from a "
        f"{p.hole_diameter_mm:g} mm hole at {p.jet_pressure_mpa:g} MPa.",
        "Zones combine all substances of the unit: each zone is the union over substances and names the one "
        "reaching farthest; substances are not assumed to be released together.",
        "Polygon units: circles become geodesic buffers of the unit's outline; plumes start at its centroid.",
    ]
    if skipped:
        warnings.append("models skipped: " + "; ".join(f"{s['substance']} {s['model']}: {s['reason']}"
                                                       for s in skipped))
    zs = ZoneSet(order_zones(combine(cands)), models, p.model_dump(mode="json"), source or {}, assumptions, warnings)
    zs.skipped = skipped
    return zs


# -- tailings dams and goaf ----------------------------------------------------------------------

def tailings_zones(point: BaseGeometry, props: dict[str, Any], params: ScenarioParams | None = None,
                   *, source: dict[str, Any] | None = None) -> ZoneSet:
    """Breach runout corridor (Rico et al. 2008) along the dam's downstream azimuth; the grade is reported."""
    p = params or ScenarioParams()
    try:
        h = float(props["dam_height_m"])
        v = float(props["total_storage_1e4m3"])
        az = float(props["downstream_azimuth_deg"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed([Problem(None, "properties", "a tailings dam needs dam_height_m, total_storage_1e4m3 "
                                        "and downstream_azimuth_deg")]) from None
    res = tailings.breach_runout(h, v, max_length_m=p.max_corridor_m)
    grade = tailings.tailings_grade(v, h, downstream_important=p.downstream_important)
    lon0, lat0 = geodesy.anchor(point)
    shape = geodesy.local_shape_to_lonlat(res.corridor_local_m, lon0, lat0, az)
    zh, en = "溃坝下泄影响走廊", "Breach runout corridor"
    details = {"runout_distance_m": round(res.runout_distance_m, 1), "corridor_length_capped": res.corridor_length_capped,
               "downstream_azimuth_deg": az, "grade": grade.grade, "grade_label": grade.grade_label,
               "drawing_limit_m": p.max_corridor_m,
               "uncertainty": "observed runouts scatter about a factor of 4 around the regression (10× outliers)"}
    zone = Zone("red", zh, en, "tailings_runout", res.model, None, None, res.corridor_length_m, shape, None, None,
                details, threshold_source="Concha Larrauri & Lall (2018) maximum runout distance D_max [M]",
                model_reason="tailings dam breach: released volume and runout from the dam height and storage",
                truncated=res.corridor_length_capped,
                truncation_reason=(f"corridor drawn to the drawing limit max_corridor_m = {p.max_corridor_m:g} m; "
                                   f"computed runout {res.runout_distance_m:.0f} m") if res.corridor_length_capped
                else None,
                true_distance_m=res.runout_distance_m if res.corridor_length_capped else None)
    rd = res.to_dict()
    rd.pop("corridor_local_m", None)
    warnings = [res.limitations[0]] if res.corridor_length_capped else []
    assumptions = [f"Corridor along the downstream azimuth {az:g}°, drawn to the computed runout "
                   f"(drawing limit {p.max_corridor_m:g} m), widening from {res.corridor_start_width_m:g} m to "
                   f"{res.corridor_end_width_m:g} m."]
    return ZoneSet([zone], [rd, grade.to_dict()], p.model_dump(mode="json"), source or {}, assumptions, warnings)


def goaf_zones(polygon: BaseGeometry, props: dict[str, Any], params: ScenarioParams | None = None,
               *, source: dict[str, Any] | None = None) -> ZoneSet:
    """Red = the goaf outline (subsidence basin); orange = the outline buffered by r = H / tanβ.

    tanβ: ``params.tan_beta`` if given, else the feature's ``tan_beta``, else the model default 1.5.
    """
    p = params or ScenarioParams()
    try:
        depth = float(props["mining_depth_m"])
        thick = float(props["seam_thickness_m"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed([Problem(None, "properties", "a goaf area needs mining_depth_m and seam_thickness_m")]
                               ) from None
    tb = p.tan_beta if p.tan_beta is not None else props.get("tan_beta")
    dip = props.get("dip_deg")
    res = goaf.goaf_influence(depth, thick, dip_deg=None if dip is None else min(float(dip), 89.9),
                              tan_beta=None if tb is None else float(tb))
    r = res.influence_radius_m
    tb_used = res.parameters["tan_beta"]
    basis = ("scenario parameter" if p.tan_beta is not None else "feature attribute" if props.get("tan_beta")
             is not None else "model default")
    inner = Zone("red", "采空区塌陷范围", "Goaf outline (subsidence basin)", "goaf_subsidence", res.model, None, None, 0.0,
                 polygon, 0.0, None, {"max_subsidence_m": round(res.max_subsidence_m, 3)},
                 threshold_source="the goaf outline itself (subsidence basin)",
                 model_reason="goaf area: probability-integral subsidence method")
    outer = Zone("orange", "采空区地表移动影响范围", "Goaf surface-movement influence zone", "goaf_subsidence", res.model,
                 round(res.subsidence_ratio_at_buffer_edge, 5), "W/W0 at edge", r, buffer_m(polygon, r), r, None,
                 {"influence_radius_m": round(r, 2), "tan_beta": tb_used, "tan_beta_basis": basis},
                 threshold_source="edge of the main influence radius r = H/tanβ (probability-integral method) [S]",
                 model_reason="goaf area: probability-integral subsidence method")
    assumptions = [f"Influence zone = goaf outline buffered by r = H / tanβ = {depth:g} / {tb_used:g} = {r:.1f} m "
                   f"(tanβ from the {basis})."]
    return ZoneSet([inner, outer], [res.to_dict()], p.model_dump(mode="json"), source or {}, assumptions, [])


def check_layer(layer: str) -> str:
    """Raise ValidationFailed (field ``layer``, accepted values) unless ``layer`` has consequence models."""
    if layer not in EXPOSURE_LAYERS:
        raise ValidationFailed([Problem(None, "layer", f"no consequence model for layer {layer!r}; accepted: "
                                        f"{', '.join(EXPOSURE_LAYERS)}")])
    return layer


def zones_for(layer: str, feature: Any, params: ScenarioParams | None = None) -> ZoneSet:
    """Dispatch on the layer: ``feature`` is a store Feature (id, properties, geometry)."""
    check_layer(layer)
    geom = feature.geometry
    props = feature.properties
    source = {"layer": layer, "id": feature.id, "name": props.get("name"),
              "geometry_type": geom.geom_type, "anchor_lonlat": list(geodesy.anchor(geom))}
    if layer == "hazard_sources":
        return hazard_source_zones(geom, props.get("inventory"), params, source=source)
    if layer == "tailings_dams":
        return tailings_zones(geom, props, params, source=source)
    return goaf_zones(geom, props, params, source=source)


def what_if_zones(lon: float, lat: float, substance: str, quantity_t: float,
                  params: ScenarioParams | None = None, storage: str | None = None) -> ZoneSet:
    """Zones of a hypothetical release of ``quantity_t`` tonnes of ``substance`` at (lon, lat).

    Raises ValidationFailed naming ``substance`` (with the accepted keys), ``quantity_t`` or the point.
    """
    problems = []
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        problems.append(Problem(None, "point", f"must be WGS84 lon/lat within ±180/±90 (got {lon}, {lat})"))
    try:
        sub = lookup(substance)
    except UnknownSubstance as exc:
        problems.append(Problem(None, "substance", str(exc)))
        sub = None
    if isinstance(quantity_t, bool) or not isinstance(quantity_t, (int, float)) or not (
            math.isfinite(quantity_t) and 0 < quantity_t <= MAX_QUANTITY_T):
        problems.append(Problem(None, "quantity_t", f"must be a number of tonnes > 0 and ≤ {MAX_QUANTITY_T:g} "
                                f"(got {quantity_t!r})"))
    if storage is not None and storage not in STORAGE_TYPES:
        problems.append(Problem(None, "storage", f"must be one of {', '.join(STORAGE_TYPES)} (got {storage!r})"))
    if problems or sub is None:
        raise ValidationFailed(problems)
    source = {"layer": None, "what_if": True, "substance": sub.key, "quantity_t": float(quantity_t),
              "anchor_lonlat": [lon, lat]}
    item = {"substance": sub.key, "quantity_t": float(quantity_t)}
    if storage:
        item["storage"] = storage
    zs = hazard_source_zones(geodesy.point(lon, lat), [item], params, source=source)
    if not zs.zones:
        raise ValidationFailed([Problem(None, "release_type", f"no model of kinds {', '.join((params or ScenarioParams()).kinds)} "
                                        f"applies to {sub.key} (flammable={sub.flammable}, toxic={sub.toxic}, "
                                        f"phase={sub.phase})")])
    return zs


