"""The basemaps a deployment offers, each with the attribution every web map and PDF shows under it and, for a
published tile map (Tianditu, the official standard map, a province's street map), its map-review number 审图号.

Why the 审图号: under 《地图管理条例》(State Council decree No. 664, 2015) a map published or shown to the
public passes the state's map review and shows the review number it was given; 《公开地图内容表示规范》
(自然资规〔2023〕2号) sets what a public map shows. The number is the operator's to give (``GIS_BASEMAP_REVIEW_NO``): it belongs to the
map product shown, and Tianditu's changes with its editions, so the service does not invent one — a Tianditu key
without a number is refused at start-up (config.py).

Offered, in this order of preference for the first view: the local file (``GIS_BASEMAP_FILE``), Tianditu
(``GIS_TIANDITU_KEY``), an XYZ/WMTS template (``GIS_BASEMAP_URL``), and always the own-layers basemap (admin areas
and roads of the service's own layers, drawn with no tiles at all)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..config import Settings
from . import tianditu
from .archive import ArchiveInfo

WGS84_NAMES = {"WGS84", "CGCS2000", "EPSG4326", "EPSG4490", "CRS84"}
GCJ02_NAMES = {"GCJ02", "GCJ", "MARS"}
OWN_ATTRIBUTION = "底图：本服务的行政区划与道路图层 basemap: the service's own admin-area and road layers"
TILE_URL = "/basemap/{z}/{x}/{y}"


@dataclass(frozen=True)
class Offer:
    key: str                       # own | file | tianditu | xyz
    title: str
    attribution: str               # plain text; the 审图号 included when the map needs one
    review_no: str = ""
    url: str | None = None         # tile URL template (Leaflet: {s} {z} {x} {y}); None: the own layers
    labels_url: str | None = None  # Tianditu's label layer
    subdomains: str = ""
    min_zoom: int = 0
    max_zoom: int = 19
    bounds: tuple[float, float, float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def credit(attribution: str, review_no: str) -> str:
    """The line shown under a map: the attribution and, when given, 审图号."""
    return f"{attribution} | 审图号 {review_no}" if review_no else attribution


def _xyz(settings: Settings) -> tuple[Offer | None, str | None]:
    """The GIS_BASEMAP_URL template, or why it is not used (a GCJ-02 basemap is refused)."""
    url = (settings.basemap_url or "").strip()
    crs = "".join(ch for ch in (settings.basemap_crs or "WGS84").upper() if ch.isalnum())
    if not url:
        return None, None
    if crs in GCJ02_NAMES:
        return None, ("已拒绝 GCJ-02 底图（GIS_BASEMAP_CRS=GCJ02，如高德）：本服务数据为 WGS84/CGCS2000，"
                      "叠加会偏移约 100–700 米。请配置 WGS84/CGCS2000 底图（如天地图 vec_w）。"
                      " GCJ-02 basemap refused: the data are WGS84/CGCS2000 and would be drawn 100–700 m "
                      "off; configure a WGS84/CGCS2000 basemap (e.g. Tianditu). Showing the vector basemap.")
    if crs not in WGS84_NAMES:
        return None, (f"未知底图坐标系 GIS_BASEMAP_CRS={settings.basemap_crs!r}（可选 WGS84、CGCS2000、"
                      "GCJ02），未加载底图。 Unknown basemap CRS; basemap not loaded.")
    if "{z}" not in url or "{x}" not in url or "{y}" not in url:
        return None, ("底图地址需包含 {z}/{x}/{y} 占位符，未加载底图。 GIS_BASEMAP_URL needs "
                      "{z}, {x} and {y} placeholders; basemap not loaded.")
    review = settings.basemap_review_no
    return Offer("xyz", "在线瓦片 XYZ tiles", credit(settings.basemap_attribution or "basemap", review), review,
                 url=url), None


def _tianditu(settings: Settings) -> tuple[Offer | None, str | None]:
    if not settings.tianditu_key:
        return None, None
    layer, _, matrix_set = settings.tianditu_set.partition("_")
    drawn = tianditu.layers(f"{layer}_w", settings.tianditu_key)   # a Web Mercator map draws the w set
    chosen = tianditu.layers(settings.tianditu_set, settings.tianditu_key)
    note = None
    if matrix_set == "c":
        note = ("天地图 c 矩阵集（CGCS2000 经纬度，级别自 1 起）无法在 Web 墨卡托地图中绘制，浏览器与网页地图使用同一图层的 w "
                "矩阵集。 Tianditu's c matrix set (EPSG:4490 lon/lat, levels from 1) cannot be drawn in a Web "
                "Mercator map: the viewer and the HTML maps draw the same layer's w set.")
    review = settings.basemap_review_no
    offer = Offer("tianditu", tianditu.TITLES[layer], credit(tianditu.ATTRIBUTION, review), review,
                  url=drawn.base, labels_url=drawn.labels, subdomains=tianditu.HOSTS, min_zoom=drawn.min_level,
                  max_zoom=drawn.max_level,
                  extra={"matrix_set": matrix_set, "templates": {"base": chosen.base, "labels": chosen.labels},
                         "min_level": chosen.min_level})
    return offer, note


def _file(settings: Settings, info: ArchiveInfo | None) -> Offer | None:
    if info is None:
        return None
    review = settings.basemap_review_no
    attribution = info.attribution or f"{info.name}（本地底图文件 local basemap file）"
    return Offer("file", f"本地底图 {info.name} local file", credit(attribution, review), review, url=TILE_URL,
                 min_zoom=info.min_zoom, max_zoom=info.max_zoom, bounds=info.bounds,
                 extra={"format": info.format, "kind": info.kind})


def offers(settings: Settings, local: ArchiveInfo | None = None) -> tuple[list[Offer], list[str]]:
    """The basemaps offered, most preferred first (the own layers always last), and notices of those refused."""
    out: list[Offer] = []
    notices: list[str] = []
    file_offer = _file(settings, local)
    if file_offer:
        out.append(file_offer)
    for make in (_tianditu, _xyz):
        offer, note = make(settings)
        if offer:
            out.append(offer)
        if note:
            notices.append(note)
    out.append(Offer("own", "离线底图（本地图层）offline (own layers)", OWN_ATTRIBUTION))
    return out, notices
