"""Sample sensors for the Jilin demonstration dataset (hooked into ``build_sample`` of sample_data/jilin_sample.py).

Every major hazard source of grade-relevant size gets gauges on its storage unit and a gas detector;
every tailings dam flagged ``online_monitoring`` gets the GB 51108 monitoring items (phreatic line,
displacement, rainfall, beach length); every untreated goaf area a subsidence benchmark; each chemical
park's first hazard source a wind vane and anemometer; every unit holding chlorine a toxic-gas detector. Positions are a few tens of metres from the
monitored feature. Ids of the monitored features are their 1-based positions in the generated layers
(the sample writes ids 1..n). All synthetic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from .kinds import kinds

Rows = list[tuple[BaseGeometry, dict[str, Any]]]
CHLORINE = "chlorine"  # the inventory's English substance key (gis_service/data/substances.csv)


def _near(rng: np.random.Generator, geom: BaseGeometry, metres: float) -> Point:
    p = geom.representative_point()
    d, az = rng.uniform(5, metres), rng.uniform(0, 2 * math.pi)
    return Point(p.x + d * math.sin(az) / (111_320 * math.cos(math.radians(p.y))), p.y + d * math.cos(az) / 110_574)


def make_sensors(rng: np.random.Generator, layers: dict[str, Rows], county_of: Callable[[BaseGeometry], str | None],
                 synthetic: str) -> Rows:
    """Sensor rows (geometry, properties) for the sample's hazard sources, tailings dams and goaf areas."""
    table = kinds()
    rows: Rows = []
    numbers: dict[tuple[str, int, str], int] = {}

    def add(layer: str, fid: int, geom: BaseGeometry, kind: str, name: str) -> None:
        p = _near(rng, geom, 60)
        n = numbers[(layer, fid, kind)] = numbers.get((layer, fid, kind), 0) + 1
        rows.append((p, {"name": f"{name}{table[kind].label_zh}{n}号（示例）", "kind": kind, "unit": table[kind].unit,
                         "source_layer": layer, "source_id": fid, "county": county_of(p),
                         "data_source": synthetic + "; sensor synthetic"}))

    parks_seen: set[Any] = set()
    for fid, (g, props) in enumerate(layers["hazard_sources"], start=1):
        base = props["name"].replace("（示例）", "")
        gases = [i.get("substance", "") for i in props.get("inventory") or []]
        add("hazard_sources", fid, g, "flammable_gas" if fid % 3 else "toxic_gas", base)
        if props.get("unit_type") == "storage":
            add("hazard_sources", fid, g, "tank_level", base)
        if fid % 4 == 0:
            add("hazard_sources", fid, g, "pressure", base)
        if fid % 5 == 0 and gases:
            add("hazard_sources", fid, g, "temperature", base)
        park = props.get("park_id")
        if park is not None and park not in parks_seen:
            parks_seen.add(park)
            add("hazard_sources", fid, g, "wind_direction", base)
            add("hazard_sources", fid, g, "wind_speed", base)
    for fid, (g, props) in enumerate(layers["tailings_dams"], start=1):
        if not props.get("online_monitoring"):
            continue
        base = props["name"].replace("（示例）", "")
        for kind in ("phreatic_depth", "dam_displacement", "rainfall", "beach_length"):
            add("tailings_dams", fid, g, kind, base)
    for fid, (g, props) in enumerate(layers["goaf_areas"], start=1):
        if props.get("treatment_status") == "untreated":
            add("goaf_areas", fid, g, "subsidence", props["name"].replace("（示例）", ""))
    # Every unit holding chlorine has a toxic-gas detector (GB/T 50493-2019: toxic-gas detection wherever a toxic gas
    # can be released; AQ 3035-2010: monitoring of major hazard sources). Added after all the others, so the ids and
    # positions of the sensors above do not depend on this rule.
    for fid, (g, props) in enumerate(layers["hazard_sources"], start=1):
        holds_chlorine = any(i.get("substance") == CHLORINE for i in props.get("inventory") or [])
        if holds_chlorine and ("hazard_sources", fid, "toxic_gas") not in numbers:
            add("hazard_sources", fid, g, "toxic_gas", props["name"].replace("（示例）", ""))
    return rows
