"""The map frame shared by every map: basemap, vector basemap, catalogue layers, render and export.

Basemap (``GIS_BASEMAP_FILE``, ``GIS_TIANDITU_KEY``, ``GIS_BASEMAP_URL``, … — :mod:`gis_service.basemaps.offers`):
every offered tile basemap is a base layer of the layer control (the local file first), each with its attribution
and 审图号 in the map's corner; the own layers' credit when no tile basemap is offered.

* none configured → the admin boundaries (``admin_areas``) are drawn as a vector basemap, so a map
  works in a command centre with no internet and no tile server;
* an XYZ template, or a WMTS KVP template with ``{z}/{x}/{y}`` in place of
  TILEMATRIX/TILECOL/TILEROW (e.g. Tianditu ``vec_w`` with your ``tk`` key), in Web Mercator tiling
  whose datum is WGS84/CGCS2000 → used as is;
* ``GIS_BASEMAP_CRS=GCJ02`` (AMap/Gaode, Tencent) → **refused**: our data are WGS84/CGCS2000 and
  would sit 100–700 m off a GCJ-02 basemap. Shifting every feature into GCJ-02 would also shift what
  users click and draw, and GCJ-02 has no exact inverse, so the service draws the vector basemap
  instead and says why on the map (and in ``/viewer/config.json``).

Large layers: a layer with more than ``embed_limit`` features is never embedded. When the map is live (served,
not exported) it is drawn from the service's vector tiles (``/collections/{layer}/tiles``, OGC API – Tiles) at
every zoom, as the viewer draws its big layers: the tile builder thins and simplifies by zoom, a click fetches
the feature's record for its popup. An exported file cannot reach the tiles, so there the layer is summarised
into grid cells (counts).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Protocol

import folium
import numpy as np
import shapely

from ..basemaps.archive import read_info
from ..basemaps.offers import Offer, offers
from ..catalog import Catalog, LayerSpec
from ..config import Settings
from . import assets
from .elements import (
    Attribution,
    CatalogLayer,
    FieldLabels,
    FitBounds,
    Legend,
    LiveLayer,
    MetricScale,
    Panel,
    TiledLayer,
    fill,
    js,
    text_token,
)
from .style import layer_meta, legend_entries, popup_attributes

EMBED_LIMIT = 3000  # features of one layer embedded in a map's HTML; above this: aggregate + bbox loading
LIVE_LIMIT = 3000  # features fetched per bbox request by a live layer
COORD_BUDGET = 20_000  # vertices of one embedded line/polygon layer before it is simplified
GRID_CELLS = 64  # aggregate grid: cells along the longer side of the layer's extent
DISPLAY_PRECISION = 1e-5  # degrees (~1 m): coordinates in map HTML (the API keeps 1e-7)


class LayerSource(Protocol):
    """Where the maps get layer content (the layers facade, :class:`gis_service.services.layers.LayersService`):
    the renderers never see a store."""

    @property
    def catalog(self) -> Catalog: ...

    def spec(self, layer: str) -> LayerSpec: ...

    def count(self, layer: str) -> int: ...

    def extent(self, layer: str) -> tuple[float, float, float, float] | None: ...

    def packed(self, spec: LayerSpec, bbox: tuple[float, float, float, float] | None = None, limit: int = 3000,
               filters: dict[str, Any] | None = None) -> tuple[bytes, int]: ...

    def aggregate(self, layer: str, cells: int = ...) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Basemap:
    url: str | None
    attribution: str
    notice: str | None  # why a configured basemap is not used (shown on the map)
    offers: tuple[Offer, ...] = ()   # every basemap offered, the one shown first at [0]


def basemap_for(settings: Settings) -> Basemap:
    """The GIS_BASEMAP_URL template (or why it is refused); :func:`basemaps_for` lists every basemap."""
    from ..basemaps.offers import _xyz

    offer, notice = _xyz(settings)
    return Basemap(offer.url if offer else None, offer.attribution if offer else "", notice)


def basemaps_for(settings: Settings) -> Basemap:
    """Every basemap offered (local file, Tianditu, XYZ, own layers), the preferred one first; ``url`` is the
    preferred tile basemap's (None: the own-layers vector basemap is drawn)."""
    local = read_info(settings.basemap_file) if settings.basemap_file else None
    found, notices = offers(settings, local)
    first = found[0]
    return Basemap(first.url, first.attribution, " ".join(notices) or None, tuple(found))


def _tile_layer(offer: Offer, url: str, name: str, *, overlay: bool, show: bool) -> folium.TileLayer:
    tiles = folium.TileLayer(url, attr=html.escape(offer.attribution), name=name, overlay=overlay, control=True,
                             show=show, max_zoom=19, subdomains=offer.subdomains or "abc",
                             max_native_zoom=offer.max_zoom, min_native_zoom=offer.min_zoom)
    # the operator's URL and attribution reach the document as data, never as template text; the attribution
    # is HTML-escaped (Leaflet writes it as HTML, and a file's metadata may hold any text)
    tiles.tiles = text_token(tiles, url)
    tiles.options["attribution"] = text_token(tiles, html.escape(offer.attribution))
    tiles.layer_name = text_token(tiles, name)
    return tiles


def add_tile_basemaps(m: folium.Map, base: Basemap, public_url: str | None) -> None:
    """The offered tile basemaps as base layers of the layer control (the preferred one shown), Tianditu with its
    label layer; with none, the own layers' credit in the attribution corner."""
    for i, offer in enumerate(o for o in base.offers if o.url):
        url = offer.url or ""
        if url.startswith("/") and public_url:   # the service's own file: absolute when the map leaves the service
            url = public_url.rstrip("/") + url
        _tile_layer(offer, url, f"底图 {offer.title}", overlay=False, show=i == 0).add_to(m)
        if offer.labels_url:
            _tile_layer(offer, offer.labels_url, f"{offer.title} 注记 labels", overlay=True, show=i == 0).add_to(m)
    if not base.url and base.offers:
        m.add_child(Attribution(base.offers[-1].attribution))


def new_map(settings: Settings, bbox: tuple[float, float, float, float] | None) -> tuple[folium.Map, Basemap]:
    """An empty map (the offered tile basemaps, the preferred one shown), fitted to ``bbox``."""
    base = basemaps_for(settings)
    if bbox is None:
        bbox = (121.6, 40.8, 131.3, 46.3)  # Jilin Province
    x0, y0, x1, y1 = bbox
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=7, tiles=None, control_scale=False)
    m.options.update(max_zoom=19, min_zoom=3)  # clustering needs a map maxZoom when there are no tiles
    add_tile_basemaps(m, base, settings.public_url)
    m.add_child(FitBounds(bbox))
    m.add_child(MetricScale())
    m.add_child(FieldLabels())
    return m, base


def padded(bbox: tuple[float, float, float, float], frac: float = 0.05, minimum: float = 0.01):
    x0, y0, x1, y1 = bbox
    dx, dy = max((x1 - x0) * frac, minimum), max((y1 - y0) * frac, minimum)
    return (max(-180.0, x0 - dx), max(-90.0, y0 - dy), min(180.0, x1 + dx), min(90.0, y1 + dy))


# -- embedding a catalogue layer -------------------------------------------------------------

def simplified(geoms: np.ndarray) -> np.ndarray:
    """Line/polygon geometries reduced to about COORD_BUDGET vertices (topology kept per feature)."""
    if not len(geoms):
        return geoms
    bounds = shapely.total_bounds(geoms)
    tol = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 20_000
    out = geoms
    while shapely.get_num_coordinates(out).sum() > COORD_BUDGET and tol < 1.0:
        out = shapely.simplify(geoms, tol, preserve_topology=True)
        tol *= 2
    return out


def pack(ids: list[int], geoms: np.ndarray, props: list[dict[str, Any]], columns: list[str]) -> bytes:
    """A compact, column-wise feature collection (``RiskMap.unpack`` rebuilds GeoJSON in the browser).

    Points are bare ``[lon, lat]``; other geometries GeoJSON objects. A string column whose values
    repeat (county, data source, class) is stored as a dictionary plus indexes. This keeps property
    names and repeated text out of every feature: about a third of plain GeoJSON for the sample."""
    n = len(ids)
    is_point = shapely.get_type_id(geoms) == 0 if n else np.zeros(0, dtype=bool)
    texts = shapely.to_geojson(geoms) if n else []
    parts = []
    for i in range(n):
        if is_point[i]:
            parts.append(b"[%s,%s]" % (repr(round(float(shapely.get_x(geoms[i])), 5)).encode(),
                                       repr(round(float(shapely.get_y(geoms[i])), 5)).encode()))
        else:
            parts.append(texts[i].encode())
    cols: dict[str, Any] = {}
    for name in columns:
        values = [p.get(name) for p in props]
        distinct = {v for v in values if isinstance(v, str)}
        if n >= 8 and distinct and len(distinct) <= n // 4 and all(v is None or isinstance(v, str) for v in values):
            table = sorted(distinct)
            index = {v: i for i, v in enumerate(table)}
            cols[name] = {"dict": table, "idx": [-1 if v is None else index[v] for v in values]}
        else:
            cols[name] = values
    return (b'{"packed":1,"ids":' + js(ids).encode() + b',"geoms":[' + b",".join(parts) + b'],"props":'
            + js(cols).encode() + b"}")


def add_catalog_layer(m: folium.Map, layers: LayerSource, spec: LayerSpec, *, live: bool, show: bool = True,
                      bbox: tuple[float, float, float, float] | None = None,
                      embed_limit: int = EMBED_LIMIT, live_limit: int = LIVE_LIMIT,
                      name: str | None = None) -> str:
    """Add one catalogue layer: embedded when small; when large, vector tiles on a live map and grid counts in an
    exported one. Returns "embedded", "tiles" or "aggregate"."""
    meta = layer_meta(spec)
    data, matched = layers.packed(spec, bbox=bbox, limit=embed_limit + 1)
    if matched <= embed_limit:
        m.add_child(CatalogLayer(meta, data, name=name, show=show))
        return "embedded"
    if live:
        m.add_child(TiledLayer(meta, name=name, show=show))
        return "tiles"
    options = {"live": live, "limit": live_limit, "properties": popup_attributes(spec), **layers.aggregate(spec.name)}
    m.add_child(LiveLayer(meta, options, name=name, show=show))
    return "aggregate"


def add_vector_basemap(m: folium.Map, layers: LayerSource, bbox: tuple[float, float, float, float] | None) -> None:
    """Admin boundaries around ``bbox`` as a vector basemap (only when no tile basemap is in use)."""
    if "admin_areas" not in layers.catalog:
        return
    spec = layers.spec("admin_areas")
    data, _ = layers.packed(spec, bbox=padded(bbox, 0.5) if bbox else None, limit=EMBED_LIMIT)
    m.add_child(CatalogLayer(layer_meta(spec), data, name=f"{spec.title}（底图）", options={"basemap": True}))


def add_legend(m: folium.Map, specs: list[LayerSpec], extra: list[dict] | None = None,
               title: str = "图例 Legend") -> None:
    m.add_child(Legend(legend_entries(specs) + list(extra or []), title=title))


def add_panel(m: folium.Map, title: str, notes: list[str] | None = None, tables: list[dict] | None = None,
              basemap: Basemap | None = None, position: str = "topright") -> None:
    alerts = [basemap.notice] if basemap is not None and basemap.notice else []
    m.add_child(Panel({"title": title, "alerts": alerts, "notes": [n for n in (notes or []) if n],
                       "tables": tables or []}, position=position))


# Folium classes allowed in a map besides ours (elements.py): they carry no user text, or only tokens
# (the tile layer's URL and attribution). Any other Folium element (Marker, Tooltip, Popup, GeoJson…)
# would write its text into a template, so it is refused here rather than trusted.
FOLIUM_ALLOWED = (folium.Map, folium.LayerControl, folium.TileLayer)


def check_elements(m: folium.Map) -> None:
    """Raise TypeError if the map holds an element that could put text through a template."""
    from .elements import _RiskMapElement

    stack = list(m._children.values())
    while stack:
        el = stack.pop()
        if not isinstance(el, (_RiskMapElement, *FOLIUM_ALLOWED)):
            raise TypeError(f"{type(el).__name__} is not allowed in a map: pass data through gis_service.maps.elements")
        stack.extend(el._children.values())


def finish(m: folium.Map, standalone: bool = False) -> str:
    """Layer control, local assets, rendered HTML (optionally with every asset inlined).

    Folium renders a document of tokens; the data (feature text included) replaces them last, after
    every template pass and asset rewrite (see :mod:`.elements`)."""
    folium.LayerControl(collapsed=False, position="topleft").add_to(m)
    check_elements(m)
    assets.localize(m)
    root = m.get_root()
    html = root.render()
    html = html.replace('<html>', '<html lang="zh-CN">', 1)
    if standalone:
        return fill(root, assets.standalone(html))
    remote = assets.remote_references(html)
    if remote:
        raise assets.OfflineAssetError(f"map references remote assets: {remote[:3]}")
    return fill(root, html)
