"""An uploaded proposal (GeoJSON, a zipped Shapefile or a GeoPackage) as one WGS84 GeoJSON Feature,
read with pyogrio (GDAL). Bad files are refused with 400 naming the ``file`` field. The features' inventory
(an ``inventory`` list or the flat columns of :data:`ITEM_COLUMNS`) and ``unit_type`` are kept in the Feature's
properties (:func:`inventory_from_rows`)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import shapely

from ...validation import INVENTORY_NUMBERS, Problem, ValidationFailed

SUFFIXES = (".geojson", ".json", ".zip", ".gpkg")
MAX_FEATURES = 1000
MAX_INVENTORY_ITEMS = 200
# one inventory item per feature, from flat columns (a Shapefile or GeoPackage cannot hold a list)
ITEM_COLUMNS = ("substance", "cas", "quantity_t", *INVENTORY_NUMBERS, "hazard_category", "containment",
                "transfer_equipment")
UNIT_TYPES = ("storage", "production")


def _refuse(msg: str) -> ValidationFailed:
    return ValidationFailed([Problem(None, "file", msg)])


def _check_geojson_crs(data: bytes) -> None:
    """A GeoJSON upload is judged like an item write: a legacy ``crs`` member naming anything but
    WGS84/CGCS2000 is refused (GDAL would otherwise honour it and reproject silently)."""
    import orjson

    from ...geojson_io import check_crs_member

    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return  # GDAL names the problem below
    if isinstance(doc, dict):
        try:
            check_crs_member(doc)
        except ValidationFailed as exc:
            raise _refuse(exc.problems[0].message) from None


def _layer_to_read(source: str, layer: str | None) -> str | None:
    """The layer to read: ``layer`` if the file has it; the only layer; else refused, naming the layers."""
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except Exception:  # noqa: BLE001 - unreadable: read_dataframe names the problem
        return layer
    if layer is not None:
        if layer not in names:
            raise ValidationFailed([Problem(None, "layer", f"the file has no layer {layer[:100]!r}; its layers: "
                                            f"{', '.join(names[:50])}")])
        return layer
    if len(names) > 1:
        raise ValidationFailed([Problem(None, "layer", f"the file holds {len(names)} layers ({', '.join(names[:50])}); "
                                        "say which one is the proposal with ?layer=NAME")])
    return None


def _plain(v: Any) -> Any:
    """A cell as plain Python: numpy scalars unwrapped; NaN, None and "" are None (an empty cell)."""
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        v = v.item()
    if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
        return None
    return v


def _items_of_cell(i: int, cell: Any) -> list[Any]:
    """The ``inventory`` cell of feature ``i``: a list (GeoJSON), or JSON text (a GeoPackage/Shapefile column)."""
    import orjson

    if isinstance(cell, str):
        try:
            cell = orjson.loads(cell)
        except orjson.JSONDecodeError:
            raise ValidationFailed([Problem(None, "inventory", f"feature {i}: the inventory column is not JSON "
                                            "(expected a list of {substance, quantity_t}, or use the columns "
                                            "substance and quantity_t, one item per feature)")]) from None
    if isinstance(cell, dict):
        return [cell]
    if isinstance(cell, list):
        return list(cell)
    raise ValidationFailed([Problem(None, "inventory", f"feature {i}: the inventory must be a list of "
                                    f"{{substance, quantity_t}} (got {type(cell).__name__})")])


def inventory_from_rows(rows: list[dict[str, Any]]) -> tuple[list[Any], dict[str, Any]]:
    """The inventory items of a file's features and its proposal-level attributes (``unit_type``, ``kind``).

    Each feature may carry an ``inventory`` (a list, or JSON text in a column) and/or flat columns
    ``substance``, ``quantity_t`` (and the optional item attributes of :data:`ITEM_COLUMNS`): one item per
    feature. Items are checked later against the catalogue (the same check as a stored hazard source's)."""
    items: list[Any] = []
    extra: dict[str, Any] = {}
    for i, row in enumerate(rows):
        cell = _plain(row.get("inventory"))
        if cell is not None:
            items.extend(_items_of_cell(i, cell))
        flat = {k: _plain(row.get(k)) for k in ITEM_COLUMNS}
        if flat["substance"] is not None or flat["quantity_t"] is not None:
            items.append({k: v for k, v in flat.items() if v is not None})
        for key in ("unit_type", "kind"):
            v = _plain(row.get(key))
            if v is not None and key not in extra:
                extra[key] = str(v).strip()
    if len(items) > MAX_INVENTORY_ITEMS:
        raise ValidationFailed([Problem(None, "inventory", f"{len(items)} inventory items; at most "
                                        f"{MAX_INVENTORY_ITEMS} are accepted")])
    if extra.get("unit_type") is not None and extra["unit_type"] not in UNIT_TYPES:
        raise ValidationFailed([Problem(None, "unit_type", f"must be one of {', '.join(UNIT_TYPES)} "
                                        f"(got {extra['unit_type'][:50]!r})")])
    return items, extra


def proposal_feature(filename: str, data: bytes, layer: str | None = None) -> dict[str, Any]:
    import pyogrio

    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise _refuse(f"unsupported file type {suffix or filename!r}; accepted: {', '.join(SUFFIXES)}")
    if not data:
        raise _refuse("the file is empty")
    if suffix in (".geojson", ".json"):
        _check_geojson_crs(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        source = f"/vsizip/{path}" if suffix == ".zip" else str(path)
        chosen = _layer_to_read(source, layer)
        try:
            frame = pyogrio.read_dataframe(source, layer=chosen, max_features=MAX_FEATURES)
        except Exception as exc:  # noqa: BLE001 - GDAL's many error types: all mean "unreadable"
            # GDAL's message names the temporary path: the caller sees their own file name instead
            why = str(exc).replace(source, filename[:100]).replace(str(path), filename[:100]).replace(tmp, "")
            raise _refuse(f"cannot read the file as {suffix[1:]}: {why[:200]}") from None
    if frame.empty or frame.geometry.isna().all():
        raise _refuse("the file holds no features with a geometry")
    if frame.crs is None:
        if suffix not in (".geojson", ".json"):
            raise _refuse("the file has no coordinate reference system (.prj); expected WGS84 or CGCS2000")
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geom = shapely.union_all([g for g in frame.geometry.values if g is not None and not g.is_empty])
    if geom.geom_type not in ("Polygon", "MultiPolygon", "Point"):
        raise _refuse(f"expected polygons (or one point), got {geom.geom_type}")
    names = [v for v in frame.get("name", []) if isinstance(v, str) and v] if "name" in frame else []
    items, extra = inventory_from_rows(frame.drop(columns=frame.geometry.name).to_dict("records"))
    props: dict[str, Any] = {"name": names[0] if names else Path(filename).stem, "source_file": filename,
                             "features_merged": int(len(frame)), **extra}
    if items:
        props["inventory"] = items
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
