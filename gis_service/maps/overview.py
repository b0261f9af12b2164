"""The overview map of every layer and the map of one layer."""

from __future__ import annotations

from collections.abc import Sequence

import folium

from ..config import Settings
from .base import (
    EMBED_LIMIT,
    LIVE_LIMIT,
    LayerSource,
    add_catalog_layer,
    add_legend,
    add_panel,
    add_vector_basemap,
    new_map,
    padded,
)

# drawing order: areas at the bottom, then lines, then points on top
_FAMILY_ORDER = {"polygon": 0, "line": 1, "point": 2}


def _extent(source: LayerSource, names: Sequence[str]) -> tuple[float, float, float, float] | None:
    boxes = [b for b in (source.extent(name) for name in names) if b is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def overview_map(source: LayerSource, settings: Settings, layers: Sequence[str] | None = None, *, live: bool = True,
                 embed_limit: int = EMBED_LIMIT, live_limit: int = LIVE_LIMIT) -> folium.Map:
    """All catalogue layers (or ``layers``) on one map with legend and layer control.

    Dense point layers are clustered (``cluster: true`` in their style); layers above
    ``embed_limit`` features are summarised and loaded by bbox (see :mod:`.base`)."""
    names = list(layers) if layers else source.catalog.names()
    specs = sorted((source.spec(n) for n in names), key=lambda s: (not s.style.get("basemap", False),
                                                                   _FAMILY_ORDER[s.geometry_family]))
    bbox = _extent(source, [s.name for s in specs if not s.style.get("basemap")]) or _extent(source, names)
    m, base = new_map(settings, padded(bbox) if bbox else None)
    modes = {}
    for spec in specs:
        # layers with many features start hidden except the risk layers themselves
        modes[spec.name] = add_catalog_layer(m, source, spec, live=live, embed_limit=embed_limit,
                                             live_limit=live_limit, show=spec.name != "roads")
    notes = []
    tiled = [source.spec(n).title for n, mode in modes.items() if mode == "tiles"]
    counted = [source.spec(n).title for n, mode in modes.items() if mode == "aggregate"]
    if tiled:
        notes.append("要素较多的图层按矢量瓦片绘制：" + "、".join(tiled) + "。 Large layers are drawn from vector tiles.")
    if counted:
        notes.append("导出文件中要素较多的图层仅含格网计数：" + "、".join(counted)
                     + "。 In this export, large layers are grid counts only.")
    add_panel(m, "工业安全风险总览图 Risk overview", notes, basemap=base)
    add_legend(m, [s for s in specs])
    return m


def layer_map(source: LayerSource, settings: Settings, layer: str, *, live: bool = True,
              embed_limit: int = EMBED_LIMIT, live_limit: int = LIVE_LIMIT) -> folium.Map:
    """One layer over the admin-boundary basemap (or the configured tile basemap)."""
    spec = source.spec(layer)
    bbox = source.extent(layer)
    m, base = new_map(settings, padded(bbox) if bbox else None)
    if base.url is None and layer != "admin_areas":
        add_vector_basemap(m, source, bbox)
    mode = add_catalog_layer(m, source, spec, live=live, embed_limit=embed_limit, live_limit=live_limit)
    count = source.count(layer)
    how = {"aggregate": "；导出文件仅含格网计数 grid counts in this export", "tiles": "；按矢量瓦片绘制 drawn from vector tiles"}
    notes = [f"{count} 个要素 features" + how.get(mode, "")]
    add_panel(m, spec.title, notes, basemap=base)
    add_legend(m, [spec])
    return m
