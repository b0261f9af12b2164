"""Siting input: a proposal from a GeoJSON body (Feature or a FeatureCollection of one), refused with
a clear problem when it is not a usable site (see :func:`proposal_from_geojson`)."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.validation import explain_validity

from ... import geodesy
from ...catalog import Catalog
from ...geojson_io import check_crs_member, parse_geometry, parse_json
from ...validation import Problem, ValidationFailed, check_geometry, coerce_value
from ..consequence.inventory import parse_inventory
from .results import HAZARD_LAYER, PARK_LAYER, Proposal
from .rules import PROPOSAL_KINDS
from .upload import UNIT_TYPES

DEFAULT_MAX_AREA_KM2 = 200_000.0  # cap when no province polygon is loaded (Jilin ≈ 187 400 km²)


# -- input -----------------------------------------------------------------------------------------

def _unclosed_rings(geom: dict[str, Any]) -> list[str]:
    """Ring paths (e.g. ``coordinates[0]``) whose first and last positions differ (RFC 7946 §3.1.6)."""
    t, coords = geom.get("type"), geom.get("coordinates")
    if not isinstance(coords, list):
        return []  # not an array: parse_geometry names the problem
    polys = [coords] if t == "Polygon" else coords if t == "MultiPolygon" else []
    out = []
    for pi, poly in enumerate(polys):
        for ri, ring in enumerate(poly if isinstance(poly, list) else []):
            if isinstance(ring, list) and len(ring) >= 2 and ring[0] != ring[-1]:
                out.append(f"coordinates[{pi}][{ri}]" if t == "MultiPolygon" else f"coordinates[{ri}]")
    return out


MAX_PROPOSAL_VERTICES = 20_000  # fair use: a surveyed park boundary has hundreds, not hundreds of thousands
MAX_PROPOSAL_SPAN_DEG = 20.0    # a proposal over ~2000 km across is not a site (Jilin spans ~9° of longitude)


def _check_size(geom) -> None:
    """Refuse proposals too big to be a site: too many vertices, or an extent wider than
    MAX_PROPOSAL_SPAN_DEG (this also keeps every edge far below the 180° that geodesic
    edges cannot span)."""
    n = int(shapely.get_num_coordinates(geom))
    if n > MAX_PROPOSAL_VERTICES:
        raise ValidationFailed([Problem(None, "geometry", f"{n} vertices; at most {MAX_PROPOSAL_VERTICES} are "
                                        "accepted (simplify the boundary)")])
    x0, y0, x1, y1 = geom.bounds if not geom.is_empty else (0, 0, 0, 0)
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        return  # not lon/lat at all: check_geometry names that problem
    if x1 - x0 > MAX_PROPOSAL_SPAN_DEG or y1 - y0 > MAX_PROPOSAL_SPAN_DEG:
        raise ValidationFailed([Problem(None, "geometry", f"extent {x1 - x0:.1f}° × {y1 - y0:.1f}° is larger than "
                                        f"{MAX_PROPOSAL_SPAN_DEG:g}° × {MAX_PROPOSAL_SPAN_DEG:g}°: not a site")])


def _feature_doc(body: bytes | str | dict) -> dict[str, Any]:
    """The one GeoJSON Feature of a body (a Feature, or a FeatureCollection of exactly one)."""
    doc = parse_json(body.encode() if isinstance(body, str) else body) if not isinstance(body, dict) else body
    if not isinstance(doc, dict):
        raise ValidationFailed([Problem(None, "body", "expected a GeoJSON Feature")])
    check_crs_member(doc)
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list) or len(feats) != 1:
            raise ValidationFailed([Problem(None, "features", "a FeatureCollection must hold exactly one Feature "
                                            f"(got {len(feats) if isinstance(feats, list) else 'none'})")])
        doc = feats[0]
        if isinstance(doc, dict):
            check_crs_member(doc)
    if not isinstance(doc, dict) or doc.get("type") != "Feature":
        raise ValidationFailed([Problem(None, "type", f"expected a GeoJSON Feature, got "
                                        f"{doc.get('type') if isinstance(doc, dict) else type(doc).__name__!r}")])
    return doc


def _checked_geometry(spec, geom, repair: bool, notes: list[str]):
    """The proposal's geometry checked against the layer spec; an invalid polygon is repaired with
    make_valid (and a note) only when ``repair``."""
    clean, why = check_geometry(spec, geom)
    if why and why.startswith("invalid geometry") and repair:
        fixed = shapely.make_valid(shapely.force_2d(geom))
        polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
        clean = shapely.union_all(polys) if polys else None
        if clean is None or clean.is_empty:
            raise ValidationFailed([Problem(None, "geometry", f"{why}; make_valid left no polygon")])
        notes.append(f"geometry repaired with make_valid ({explain_validity(geom)}); "
                     f"area after repair {geodesy.area_m2(clean) / 1e6:.4f} km²")
        why = None
    if why:
        hint = " (pass repair=true to fix it with make_valid)" if why.startswith("invalid geometry") else ""
        raise ValidationFailed([Problem(None, "geometry", why + hint)])
    return clean


def proposal_from_geojson(body: bytes | str | dict, catalog: Catalog, *, kind: str | None = None,
                          repair: bool = False,
                          max_area: tuple[float, str] = (DEFAULT_MAX_AREA_KM2, "configured cap")) -> Proposal:
    """A GeoJSON Feature (or a FeatureCollection of exactly one) → :class:`Proposal`, or ValidationFailed.

    ``properties`` may carry ``inventory`` (list of {substance, cas?, quantity_t}), ``unit_type`` (storage |
    production: the QRA's vessel type; default storage), ``kind``
    (park | installation; default: installation with an inventory or for a point, else park) and ``name``.
    Refused, naming the problem: unreadable JSON, a non-WGS84 ``crs`` member, coordinates outside lon/lat
    range, unclosed rings, empty geometry, wrong geometry type, invalid (e.g. self-intersecting)
    geometry unless ``repair`` (then ``make_valid`` and a note), an area above ``max_area`` (km², basis:
    the province polygon's area, which the siting facade measures).
    """
    doc = _feature_doc(body)
    props = doc.get("properties") or {}
    if not isinstance(props, dict):
        raise ValidationFailed([Problem(None, "properties", "properties must be an object")])
    raw_geom = doc.get("geometry")
    if isinstance(raw_geom, dict):
        unclosed = _unclosed_rings(raw_geom)
        if unclosed:
            raise ValidationFailed([Problem(None, "geometry", f"polygon ring {', '.join(unclosed)} is not closed: "
                                            "its first and last positions must be identical (RFC 7946 §3.1.6)")])
    geom = parse_geometry(raw_geom)
    _check_size(geom)
    inventory = check_inventory(catalog, props.get("inventory"))
    unit_type = props.get("unit_type")
    if unit_type is not None and unit_type not in UNIT_TYPES:
        raise ValidationFailed([Problem(None, "unit_type", f"must be one of {', '.join(UNIT_TYPES)} "
                                        f"(got {str(unit_type)[:50]!r}): a storage unit or a production (process) unit")])
    kind = kind or props.get("kind") or ("installation" if inventory or geom.geom_type == "Point" else "park")
    if kind not in PROPOSAL_KINDS:
        raise ValidationFailed([Problem(None, "kind", f"must be one of {', '.join(PROPOSAL_KINDS)} (got {kind!r})")])
    spec = catalog[PARK_LAYER if kind == "park" else HAZARD_LAYER]
    notes: list[str] = []
    clean = _checked_geometry(spec, geom, repair, notes)
    if kind == "park" and clean.geom_type == "Point":
        raise ValidationFailed([Problem(None, "geometry", "a chemical park proposal needs a Polygon or MultiPolygon "
                                        "boundary (a Point is accepted for an installation)")])
    if clean.geom_type in ("Polygon", "MultiPolygon"):
        limit, basis = max_area
        area = geodesy.area_m2(clean) / 1e6
        if area > limit:
            raise ValidationFailed([Problem(None, "geometry", f"polygon area {area:,.0f} km² is larger than the "
                                            f"province: limit {basis}")])
    name = props.get("name")
    return Proposal(clean, kind, None if name is None else str(name), inventory, None, notes, unit_type)


def check_inventory(catalog: Catalog, value: Any) -> list[dict[str, Any]] | None:
    """A proposal's inventory checked like a stored hazard source's (the catalogue's ``inventory`` schema), with
    every substance known to the models; None for none. ValidationFailed names the item."""
    if value is None or value == []:
        return None
    try:
        inv = coerce_value(catalog[HAZARD_LAYER].attribute("inventory"), value)
    except ValueError as exc:
        raise ValidationFailed([Problem(None, "inventory", str(exc))]) from None
    _items, warnings = parse_inventory(inv)
    unknown = [w for w in warnings if "not modelled" in w]
    if unknown:
        raise ValidationFailed([Problem(None, "inventory", w) for w in unknown])
    return inv
