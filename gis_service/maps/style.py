"""Map styles, legends and popup descriptions, all derived from the layer catalogue.

The browser draws every feature with ``web/riskmap.js``; this module hands it, per layer, a small
"meta" document: the layer title, its style (``style:`` in ``layers/<name>.yaml``), and for each
popup attribute its bilingual label (``AttributeSpec.label()``), unit and the Chinese rendering of
every enumerated or boolean value (``AttributeSpec.display()``). The same meta serves the Folium
maps and the viewer, so a label or a colour is changed in one place: the layer's YAML file.
"""

from __future__ import annotations

from typing import Any

from ..catalog import AttributeSpec, Catalog, LayerSpec
from ..legend import LEVEL_COLORS

DEFAULTS = {"color": "#3388ff", "fill_color": "#3388ff", "fill_opacity": 0.35, "weight": 2, "radius": 6,
            "opacity": 0.9}

# Exposure zone levels (ALOHA convention: red = most severe.
LEVEL_LABELS = {"red": "红区 Red (severe)", "orange": "橙区 Orange", "yellow": "黄区 Yellow"}


def layer_style(spec: LayerSpec) -> dict[str, Any]:
    """Leaflet-ready style of a layer, defaults filled in."""
    style = {**DEFAULTS, **spec.style}
    if "fill_color" not in spec.style and "color" in spec.style:
        style["fill_color"] = spec.style["color"]
    return {
        "color": style["color"],
        "fillColor": style["fill_color"],
        "fillOpacity": float(style["fill_opacity"]),
        "weight": float(style["weight"]),
        "opacity": float(style["opacity"]),
        "radius": float(style["radius"]),
        "icon": style.get("icon"),
        "cluster": bool(style.get("cluster", False)),
        "basemap": bool(style.get("basemap", False)),
    }


def attribute_meta(attr: AttributeSpec) -> dict[str, Any]:
    """How the browser shows one attribute: label, unit, and display() of every known value."""
    meta: dict[str, Any] = {"name": attr.name, "label": attr.label(), "label_zh": attr.label_zh,
                            "type": attr.type, "unit": attr.unit}
    values: list[Any] = list(attr.enum or ()) + [k for k in attr.enum_labels if k not in (attr.enum or ())]
    if attr.type == "boolean":
        values = [True, False]
    if values:
        # keys as JSON object keys are strings; JS looks up String(value)
        meta["values"] = {_key(v): attr.display(v) for v in values}
    return meta


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def layer_meta(spec: LayerSpec) -> dict[str, Any]:
    """Everything the browser needs to draw and describe a catalogue layer."""
    popup = [a for a in spec.popup if spec.has_attribute(a)]
    return {
        "name": spec.name,
        "title": spec.title,
        "title_zh": spec.title_zh,
        "family": spec.geometry_family,
        "style": layer_style(spec),
        "popup": [attribute_meta(spec.attribute(a)) for a in popup],
    }


def catalog_meta(catalog: Catalog) -> list[dict[str, Any]]:
    return [layer_meta(spec) for spec in catalog]


def popup_attributes(spec: LayerSpec) -> list[str]:
    """Attributes a map needs per feature: ``name`` (for labels and search) and the popup list."""
    names = [a for a in spec.popup if spec.has_attribute(a)]
    if spec.has_attribute("name") and "name" not in names:
        names.insert(0, "name")
    return names


def popup_text(spec: LayerSpec, props: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, displayed value) rows of a feature's popup — the reference the browser must match."""
    return [(spec.attribute(a).label(), spec.attribute(a).display(props.get(a)))
            for a in spec.popup if spec.has_attribute(a)]


def legend_entries(specs: list[LayerSpec]) -> list[dict[str, Any]]:
    """One legend row per layer: title, colours and geometry family."""
    return [{"label": s.title, "family": s.geometry_family, **layer_style(s)} for s in specs]


def level_legend() -> list[dict[str, Any]]:
    return [{"label": LEVEL_LABELS[k], "family": "polygon", "color": c, "fillColor": c, "fillOpacity": 0.45,
             "weight": 1} for k, c in LEVEL_COLORS.items()]
