"""An offline map image (PNG) of an analysis result: matplotlib draws the result's GeoJSON over the
project's own admin areas and roads — or over the local basemap file's raster tiles when the context has them
(:mod:`.tileimage`; nothing is downloaded) — with a metric scale bar and a north arrow. Longitudes are stretched by 1/cos(latitude) so shapes keep their proportions."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import shapely
from shapely.geometry import shape

from ..legend import IR_LEVEL_COLOURS, LEVEL_COLORS
from .fonts import cjk_font

LEVEL_ORDER = {"yellow": 0, "orange": 1, "red": 2}


class ContextSource(Protocol):
    """Where a report's map image gets the admin areas and roads it is drawn over (the layers facade). A source
    may also carry ``tiles`` (a :class:`.tileimage.TileSource`: the local basemap file, drawn under them)."""

    def context_features(self, layer: str, bbox: tuple[float, float, float, float],
                         columns: Sequence[str]) -> list[tuple[Any, dict[str, Any]]]: ...


def _role(p: dict[str, Any]) -> str:
    return p.get("role") or p.get("feature_type") or p.get("kind") or ""


def _bbox(geoms, pad: float = 0.15, min_deg: float = 0.02) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
    w, h = max(x1 - x0, min_deg), max(y1 - y0, min_deg)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = w * (1 + 2 * pad), h * (1 + 2 * pad)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _origin(meta: dict[str, Any]) -> list:
    """The incident (rescue: ``metadata.origin``) or the source anchor (exposure) as a marker."""
    from shapely.geometry import Point

    origin, src = meta.get("origin"), meta.get("source")
    if isinstance(origin, dict) and origin.get("lon") is not None:
        return [(Point(origin["lon"], origin["lat"]), {"role": "incident"})]
    if isinstance(src, dict) and src.get("anchor_lonlat"):
        return [(Point(*src["anchor_lonlat"][:2]), {"role": "source"})]
    insts = meta.get("installations")  # a quantitative-risk result: its installations
    if isinstance(insts, list):
        return [(Point(i["lon"], i["lat"]), {"role": "source"}) for i in insts
                if isinstance(i, dict) and i.get("lon") is not None]
    return []


def _fit(bbox, ratio: float) -> tuple[float, float, float, float]:
    """Grow ``bbox`` so that its ground width / height equals the axes' ``ratio``."""
    x0, y0, x1, y1 = bbox
    k = math.cos(math.radians((y0 + y1) / 2))
    w, h = (x1 - x0) * k, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if w / h < ratio:
        w = h * ratio
    else:
        h = w / ratio
    return cx - w / k / 2, cy - h / 2, cx + w / k / 2, cy + h / 2


def _context(source: ContextSource | None, layer: str, bbox, columns: tuple[str, ...]) -> list:
    return [] if source is None else source.context_features(layer, bbox, columns)


def _draw(ax, geom, **kw) -> None:
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    gt = geom.geom_type
    marker_keys = ("marker", "markersize", "markeredgecolor", "color")
    if gt in ("Polygon", "MultiPolygon"):
        kw = {k: v for k, v in kw.items() if k not in marker_keys}
        for poly in getattr(geom, "geoms", [geom]):
            verts, codes = [], []
            for ring in [poly.exterior, *poly.interiors]:
                xy = list(ring.coords)
                verts += xy
                codes += [MPath.MOVETO] + [MPath.LINETO] * (len(xy) - 2) + [MPath.CLOSEPOLY]
            # add_artist, not add_patch: the view is set from the bbox afterwards, so add_patch's data-limit
            # update (a Bézier walk over every vertex: ~0.4 s of a brief's 28 zone patches) is wasted work
            patch = PathPatch(MPath(verts, codes), **kw)
            patch.set_transform(ax.transData)
            ax.add_artist(patch)
    elif gt in ("LineString", "MultiLineString"):
        kw = {k: v for k, v in kw.items() if k not in ("facecolor", "fill", *marker_keys)}
        for line in getattr(geom, "geoms", [geom]):
            x, y = line.xy
            ax.plot(x, y, **{"color": kw.pop("edgecolor", "#555"), **kw})
    elif gt in ("Point", "MultiPoint"):
        kw = {k: v for k, v in kw.items() if k not in ("facecolor", "edgecolor", "linestyle", "linewidth")}
        for pt in getattr(geom, "geoms", [geom]):
            ax.plot([pt.x], [pt.y], linestyle="none", **kw)


def _draw_lines(ax, geoms, **kw) -> None:
    """Many context lines (roads) as one LineCollection: one artist instead of one ``plot`` per segment (the
    brief's map drew ~140), with no data-limit update (the view is set from the bbox)."""
    from matplotlib.collections import LineCollection

    segs = [list(line.coords) for g in geoms if g.geom_type in ("LineString", "MultiLineString")
            for line in getattr(g, "geoms", [g])]
    if segs:
        ax.add_collection(LineCollection(segs, colors=kw.get("color"), linewidths=kw.get("linewidth"),
                                         zorder=float(kw.get("zorder", 2))), autolim=False)


def _scale_bar(ax, bbox, font) -> None:
    x0, y0, x1, y1 = bbox
    km_per_deg = 111.32 * math.cos(math.radians((y0 + y1) / 2))
    width_km = (x1 - x0) * km_per_deg
    target = width_km / 4
    nice = max(v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200) if v <= max(target, 0.1))
    deg = nice / km_per_deg
    sx, sy = x0 + (x1 - x0) * 0.05, y0 + (y1 - y0) * 0.05
    ax.plot([sx, sx + deg], [sy, sy], color="black", linewidth=3, solid_capstyle="butt")
    ax.text(sx + deg / 2, sy + (y1 - y0) * 0.015, f"{nice:g} km", ha="center", va="bottom", fontproperties=font,
            fontsize=8)
    nx, ny = x1 - (x1 - x0) * 0.05, y1 - (y1 - y0) * 0.12
    ax.annotate("N 北", xy=(nx, ny + (y1 - y0) * 0.07), xytext=(nx, ny), ha="center", fontproperties=font,
                fontsize=8, arrowprops={"arrowstyle": "-|>", "color": "black"})


def _draw_result(ax, g, p: dict[str, Any], font) -> None:
    """One result feature in the style of its role (routes, proposal, conflicts, receptors, teams, origin)."""
    role = _role(p)
    if role == "route":
        _draw(ax, g, edgecolor="#2171b5", linewidth=2.2, zorder=5)
    elif role == "proposal":
        _draw(ax, g, facecolor="none", edgecolor="#252525", linewidth=2, linestyle="--", zorder=6)
    elif role == "conflict":
        _draw(ax, g, facecolor="#fb6a4a", edgecolor="#a50f15", marker="o", markersize=5, alpha=0.7,
              color="#a50f15", zorder=6)
    elif role == "receptor":
        _draw(ax, g, marker="o", markersize=5, color=LEVEL_COLORS.get(str(p.get("innermost_level")), "#41ab5d"),
              markeredgecolor="black", facecolor="none", edgecolor="black", zorder=7)
    elif role == "team":
        _draw(ax, g, marker="P", markersize=9, color="#3182bd", markeredgecolor="#08519c", zorder=8)
        if g.geom_type == "Point":
            ax.text(g.x, g.y, f" {p.get('rank', '')}", fontproperties=font, fontsize=8, color="#08519c", zorder=9)
    elif role in ("incident", "source"):
        _draw(ax, g, marker="^", markersize=11, color="#ef3b2c", markeredgecolor="#67000d",
              facecolor="#ef3b2c", edgecolor="#67000d", zorder=9)


def _wind_arrow(ax, wind: tuple[float | None, float | None], font) -> None:
    """An arrow at the top left pointing downwind, labelled with where the wind blows from and its speed
    (meteorological convention: the direction the wind comes from, clockwise from north)."""
    from matplotlib.patches import FancyArrow

    direction, speed = wind
    sp = f" {speed:g} m/s" if isinstance(speed, (int, float)) else ""
    if not isinstance(direction, (int, float)):
        ax.text(0.02, 0.97, f"风向未知：全向 wind: all directions{sp}", transform=ax.transAxes, va="top", fontsize=7,
                fontproperties=font, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#999"}, zorder=12)
        return
    to = math.radians((direction + 180) % 360)          # downwind, clockwise from north
    dx, dy = 0.05 * math.sin(to), 0.05 * math.cos(to)
    cx, cy = 0.07, 0.86
    ax.add_patch(FancyArrow(cx - dx, cy - dy, 2 * dx, 2 * dy, width=0.006, head_width=0.025, head_length=0.02,
                            length_includes_head=True, transform=ax.transAxes, color="#08306b", zorder=12))
    ax.text(cx, cy - 0.1, f"风从 wind from {direction:g}°{sp}", transform=ax.transAxes, ha="center", va="top",
            fontsize=6.5, fontproperties=font, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"}, zorder=12)


LEGEND_ROLES = (("route", "救援路线 route"), ("receptor", "受体 receptor"), ("team", "救援队伍 team"),
                ("incident", "事故点 incident"), ("source", "风险源 source"))


def _legend(ax, feats, font) -> None:
    """A legend of what is drawn: the zone levels present, then receptors, teams, routes and the origin."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    levels = {p.get("level") for _, p in feats if _role(p) != "receptor"}
    roles = {_role(p) for _, p in feats}
    handles: list = [Patch(facecolor=LEVEL_COLORS[k], alpha=0.45, edgecolor=LEVEL_COLORS[k], label=LEVEL_LABELS[k])
                     for k in ("red", "orange", "yellow") if k in levels]
    styles: dict[str, dict[str, Any]] = {"route": {"color": "#2171b5", "linewidth": 2.2}, "receptor": {"marker": "o", "color": "#41ab5d",
              "markeredgecolor": "black", "linestyle": "none"}, "team": {"marker": "P", "color": "#3182bd",
              "linestyle": "none", "markersize": 8}, "incident": {"marker": "^", "color": "#ef3b2c",
              "linestyle": "none", "markersize": 9}, "source": {"marker": "^", "color": "#ef3b2c", "linestyle": "none",
              "markersize": 9}}
    handles += [Line2D([], [], label=label, **styles[role]) for role, label in LEGEND_ROLES if role in roles]
    if handles:
        ax.legend(handles=handles, prop=font, loc="lower right", framealpha=0.9, fontsize=6.5)


def _basemap_tiles(ax, context, bbox, width_px: float, height_px: float) -> bool:
    """The local basemap file's tiles under the map (when the context has them); True if any was drawn."""
    source = getattr(context, "tiles", None)
    if source is None:
        return False
    from .tileimage import mosaic

    got = mosaic(source, bbox, int(width_px), int(height_px))
    if got is None:
        return False
    img, extent = got
    ax.imshow(img, extent=extent, origin="upper", interpolation="bilinear", aspect="auto", zorder=0.5)
    return True


LEVEL_LABELS = {"red": "红区 red zone", "orange": "橙区 orange zone", "yellow": "黄区 yellow zone"}


def render_png(fc: dict[str, Any], context: ContextSource | None = None, width_in: float = 7.0, height_in: float = 4.6,
               dpi: int = 120, font_path: Path | None = None, *, wind: tuple[float | None, float | None] | None = None,
               legend: bool = False, attribution: str | None = None) -> bytes:
    """PNG bytes of ``fc`` (an analysis FeatureCollection) over admin areas, roads and place names; with ``wind``
    (from-direction °, speed m/s) a wind arrow, with ``legend`` a legend of the zones and markers drawn, with
    ``attribution`` the data's credit line under the map."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(font_path or cjk_font()))
    feats = [(shape(f["geometry"]), f.get("properties") or {}) for f in fc.get("features", []) if f.get("geometry")]
    feats = [(g, p) for g, p in feats if not g.is_empty]
    feats += _origin(fc.get("metadata") or {})
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    ax = fig.add_axes((0.06, 0.06, 0.92, 0.9))
    if not feats:
        ax.text(0.5, 0.5, "无结果要素 no features", ha="center", fontproperties=font)
    else:
        bbox = _fit(_bbox([g for g, _ in feats]), width_in * 0.92 / (height_in * 0.9))
        admin = _context(context, "admin_areas", bbox, ("name",))
        tiled = _basemap_tiles(ax, context, bbox, width_in * 0.92 * dpi, height_in * 0.9 * dpi)
        roads = [] if tiled else _context(context, "roads", bbox, ("name",))   # the tiles have the streets
        for g, _ in admin:
            _draw(ax, g, facecolor="none" if tiled else "#f4f1ea", edgecolor="#9e9e9e", linewidth=0.8, zorder=1)
        _draw_lines(ax, [g for g, _ in roads], color="#c0a060", linewidth=0.7, zorder=2)
        for g, p in admin:
            c = g.representative_point()
            if bbox[0] < c.x < bbox[2] and bbox[1] < c.y < bbox[3] and p.get("name"):
                ax.text(c.x, c.y, p["name"], fontproperties=font, fontsize=7, color="#777", ha="center", zorder=3,
                        parse_math=False)  # names are text: a "$" is not mathtext
        zones = sorted([(g, p) for g, p in feats if p.get("level") in LEVEL_COLORS and _role(p) != "receptor"],
                       key=lambda gp: LEVEL_ORDER[gp[1]["level"]])
        for g, p in zones:
            c = LEVEL_COLORS[p["level"]]
            _draw(ax, g, facecolor=c, edgecolor=c, alpha=0.35, linewidth=1.2, zorder=4)
        contours = sorted([(g, p) for g, p in feats if p.get("level_per_year") in IR_LEVEL_COLOURS],
                          key=lambda gp: gp[1]["level_per_year"])  # IR contours: largest (lowest level) first
        for g, p in contours:
            c = IR_LEVEL_COLOURS[p["level_per_year"]]
            _draw(ax, g, facecolor=c, edgecolor=c, alpha=0.55, linewidth=1.0, zorder=4)
        if contours:
            from matplotlib.patches import Patch

            ax.legend(handles=[Patch(facecolor=IR_LEVEL_COLOURS[p["level_per_year"]], alpha=0.55,
                                     label=f"IR ≥ {p['level_per_year']:.0e} /年")
                               for _, p in reversed(contours)],
                      prop=FontProperties(fname=str(font_path or cjk_font()), size=7), loc="upper left", framealpha=0.9)
        for g, p in feats:
            _draw_result(ax, g, p, font)
        ax.set_xlim(bbox[0], bbox[2])
        ax.set_ylim(bbox[1], bbox[3])
        ax.set_aspect(1 / math.cos(math.radians((bbox[1] + bbox[3]) / 2)))
        _scale_bar(ax, bbox, font)
        if wind is not None:
            _wind_arrow(ax, wind, font)
        if legend and not contours:
            _legend(ax, feats, FontProperties(fname=str(font_path or cjk_font()), size=6.5))
    if attribution:
        fig.text(0.98, 0.995, attribution, ha="right", va="top", fontsize=6, color="#555", fontproperties=font,
                 parse_math=False)
    ax.tick_params(labelsize=7)
    ax.set_facecolor("#eef2f5")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
