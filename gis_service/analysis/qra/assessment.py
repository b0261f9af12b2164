"""Store-facing QRA: an installation (hazard source) or a park's hazard sources from the store → IR contours,
the protection targets' IR against their GB 36894 criterion and the F-N curve (:mod:`.engine` computes)."""

from __future__ import annotations

from typing import Any

import numpy as np
from shapely.geometry import MultiPoint

from ... import geodesy
from ...stores.base import Feature, Query, Store
from ...validation import Problem, ValidationFailed
from .data import QraParams, target_class_of
from .engine import (
    HAZARD_LAYER,
    MAX_INSTALLATIONS,
    PARK_LAYER,
    RECEPTOR_LAYER,
    Installation,
    QraResult,
    compute,
    contours_collection,
    societal_from,
)


def _installation(layer: str, f: Feature) -> Installation:
    props = f.properties
    return Installation(layer, f.id, props.get("name"), f.geometry, props.get("inventory"), props.get("unit_type"))


def installations_for(store: Store, layer: str | None = None, fid: int | None = None,
                      park_id: int | None = None) -> list[Installation]:
    if park_id is not None:
        store.get(PARK_LAYER, int(park_id))  # 404 when the park does not exist
        page = store.items(HAZARD_LAYER, Query(filters={"park_id": int(park_id)}, limit=MAX_INSTALLATIONS + 1))
        if not page.features:
            raise ValidationFailed([Problem(None, "park_id", f"park {park_id} has no hazard sources")])
        if len(page.features) > MAX_INSTALLATIONS:
            raise ValidationFailed([Problem(None, "park_id", f"more than {MAX_INSTALLATIONS} hazard sources")])
        return [_installation(HAZARD_LAYER, f) for f in page.features]
    if layer != HAZARD_LAYER:
        raise ValidationFailed([Problem(None, "layer", f"quantitative risk needs an inventory: layer must be "
                                        f"{HAZARD_LAYER!r} (got {layer!r})")])
    if fid is None:
        raise ValidationFailed([Problem(None, "id", "give a hazard source id or a park id")])
    return [_installation(layer, store.get(layer, int(fid)))]


def individual_risk(store: Store, p: QraParams, *, layer: str | None = None, fid: int | None = None,
                    park_id: int | None = None, societal: bool = False) -> dict[str, Any]:
    """IR contours and the protection targets' verdicts; with ``societal`` also the F-N curve of the same run
    (``metadata.societal``, as ``GET /analysis/risk/societal`` answers) — one QRA for the map, the chart and
    the report."""
    res = compute(installations_for(store, layer, fid, park_id), p)
    doc = contours_collection(res)
    feats = receptor_features(store, res)
    doc["metadata"]["receptors"] = receptor_checks(store, res, feats)
    if societal:
        doc["metadata"]["societal"] = societal_from(res, feats)
    return doc


def receptor_features(store: Store, res: QraResult) -> list[Feature]:
    if RECEPTOR_LAYER not in store.catalog:
        return []
    pts = MultiPoint([(i["lon"], i["lat"]) for i in res.installations]) if res.installations else None
    if pts is None:
        return []
    return store.within(RECEPTOR_LAYER, pts if len(res.installations) > 1 else pts.geoms[0], res.params.max_range_m)


def receptor_checks(store: Store | None, res: QraResult, feats: list[Feature] | None = None) -> list[dict[str, Any]]:
    """IR at each protection target within reach against its GB 36894 class criterion (``feats``: the targets
    already read, then ``store`` may be None)."""
    if feats is None:
        if store is None:
            raise ValueError("receptor_checks needs the store or the targets")
        feats = receptor_features(store, res)
    if not feats:
        return []
    ll = np.array([geodesy.anchor(f.geometry) for f in feats])
    ir = res.ir_at_lonlat(ll[:, 0], ll[:, 1])
    out = []
    for f, v in zip(feats, ir, strict=True):
        tc = target_class_of(f.properties.get("receptor_class"), f.properties.get("population"))
        limit = tc.ir_new if res.params.installation == "new" else tc.ir_existing
        out.append({"layer": RECEPTOR_LAYER, "id": f.id, "name": f.properties.get("name"),
                    "receptor_class": f.properties.get("receptor_class"), "population": f.properties.get("population"),
                    "target_class": tc.key, "target_class_zh": tc.label_zh, "ir_per_year": float(v),
                    "criterion_per_year": limit, "installation": res.params.installation,
                    "verdict": "fail" if v > limit else "pass"})
    return out


def societal_risk(store: Store, p: QraParams, *, layer: str | None = None, fid: int | None = None,
                  park_id: int | None = None) -> dict[str, Any]:
    insts = installations_for(store, layer, fid, park_id)
    res = compute(insts, p)
    feats = receptor_features(store, res)
    return societal_from(res, feats)


