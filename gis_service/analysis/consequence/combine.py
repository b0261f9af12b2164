"""Zone candidates of every substance of a unit → one zone per (kind, level): the union of the substances'
zones, driven by the farthest reaching one."""

from __future__ import annotations

from shapely.ops import unary_union

from .runners import Candidate
from .zones import Zone, level_labels, level_name

_WHAT = {"explosion": ("爆炸超压", "Explosion overpressure"), "fire": ("池火热辐射", "Pool fire thermal radiation"),
         "toxic": ("毒气扩散", "Toxic dispersion"), "fireball": ("BLEVE火球热辐射", "BLEVE fireball radiation"),
         "jet_fire": ("喷射火热辐射", "Jet fire radiation")}


def combine(cands: list[Candidate]) -> list[Zone]:
    """One zone per (kind, level): the union of every substance's zone; the farthest reaching drives it."""
    groups: dict[tuple[str, int, float], list[Candidate]] = {}
    for c in cands:
        key = (c.kind, c.rank, c.threshold) if c.kind != "toxic" else (c.kind, c.rank, 0.0)
        groups.setdefault(key, []).append(c)
    zones = []
    for (kind, rank, _t), group in groups.items():
        driver = max(group, key=lambda c: c.distance_m)
        level = level_name(rank)
        zh, en = level_labels(level, *_WHAT[kind])
        buffers = {c.buffer_m is not None for c in group}
        geom = driver.geometry if len(group) == 1 or buffers == {True} else unary_union([c.geometry for c in group])
        details = {
            "level_name": driver.level_name,
            "by_substance": [{"substance": c.substance, "distance_m": round(c.distance_m, 2),
                              "threshold": c.threshold, "basis": c.basis, "model": c.model,
                              "truncated": c.truncated,
                              "true_distance_m": None if c.true_distance_m is None else round(c.true_distance_m, 1),
                              "beyond_model_range": c.beyond_model_range}
                             for c in sorted(group, key=lambda c: -c.distance_m)],
        }
        if driver.basis:
            details["level_basis"] = driver.basis
        trunc = [c for c in group if c.truncated]
        t_driver = max(trunc, key=lambda c: (c.beyond_model_range, c.true_distance_m or 0.0)) if trunc else None
        zones.append(Zone(
            level, zh, en, kind, driver.model, driver.threshold, driver.unit, driver.distance_m, geom,
            driver.buffer_m if buffers == {True} else None, driver.substance, details,
            threshold_source=driver.threshold_source, model_reason=driver.model_reason,
            truncated=bool(trunc), truncation_reason=t_driver.truncation_reason if t_driver else None,
            true_distance_m=t_driver.true_distance_m if t_driver else None,
            true_distance_is_lower_bound=bool(t_driver and t_driver.lower_bound),
            beyond_model_range=bool(t_driver and t_driver.beyond_model_range),
            near_field=any(c.near_field for c in group)))
    return zones


