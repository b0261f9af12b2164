"""Mapbox Vector Tiles of a layer built by PostGIS (``ST_AsMVT`` over ``ST_AsMVTGeom``), one statement per tile
(two when it must be thinned).

Candidates are the rows whose bounding box meets the tile's buffered lon/lat box (GiST index); when there are more
than the cap, one row per thinning cell is kept (the lowest id of each cell of the feature's bounding-box centre,
:mod:`gis_service.tiles`), which the embedded store does the same way. Lines and polygons are simplified by one
tile-grid unit in EPSG:3857 before ``ST_AsMVTGeom`` clips and quantizes them. Every value is a bound parameter;
columns and the layer come from the catalogue.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Float, Integer, Table, Text, and_, bindparam, case, func, or_, select
from sqlalchemy.engine import Connection

from .. import tiles
from . import cql_sql
from .base import TileRequest


def _mercator_x(lon):
    return lon * (tiles.ORIGIN / 180.0)


def _mercator_y(lat):
    lat = func.least(func.greatest(lat, -85.05112878), 85.05112878)
    return func.ln(func.tan(math.pi / 4 + func.radians(lat) / 2)) * 6378137.0


def _env_ll(req: TileRequest):
    x0, y0, x1, y1 = req.search_bounds
    return func.ST_MakeEnvelope(bindparam("x0", x0, Float), bindparam("y0", y0, Float),
                                bindparam("x1", x1, Float), bindparam("y1", y1, Float), 4326)


def _where(table: Table, req: TileRequest) -> list[Any]:
    where: list[Any] = [table.c.geom.op("&&")(_env_ll(req))]
    if req.cql is not None:
        where.append(cql_sql.clause(table, req.cql))
    return where


def _mvt_of(kept, req: TileRequest, layer: str, point_layer: bool):
    """``ST_AsMVT`` of the rows of ``kept`` (id, the columns, g = geometry in 4326), in id order."""
    t = req.tile
    merc = func.ST_Transform(kept.c.g, 3857)
    if not point_layer:
        merc = func.ST_Simplify(merc, bindparam("tol", t.pixel_m, Float), True)
    env = func.ST_TileEnvelope(bindparam("z", t.z, Integer), bindparam("x", t.x, Integer),
                               bindparam("y", t.y, Integer))
    mvt_geom = func.ST_AsMVTGeom(merc, env, tiles.EXTENT, tiles.BUFFER, True).label("geom")
    rows = select(kept.c.id, *[kept.c[c] for c in req.columns], mvt_geom).order_by(kept.c.id).subquery("mvtrows")
    rows_ok = select(rows).where(rows.c.geom.is_not(None)).subquery("mvt")
    return func.ST_AsMVT(rows_ok.table_valued(), bindparam("layer", layer, Text), tiles.EXTENT, "geom", "id")


def tile_statement(table: Table, layer: str, req: TileRequest, point_layer: bool):
    """The tile with thinning: over the cap, the lowest id of each thinning cell (window functions over every
    candidate — the price of thinning, paid only when a bounded count found more candidates than the cap)."""
    t = req.tile
    minx, miny, _, _ = t.bounds_3857
    cell = bindparam("cell", req.cell_m, Float)
    g = table.c.geom
    cx = func.floor((_mercator_x((func.ST_XMin(g) + func.ST_XMax(g)) / 2) - bindparam("minx", minx, Float)) / cell)
    cy = func.floor((_mercator_y((func.ST_YMin(g) + func.ST_YMax(g)) / 2) - bindparam("miny", miny, Float)) / cell)
    cols = [table.c[c] for c in req.columns]
    ranked = select(table.c.id, *cols, g.label("g"),
                    func.row_number().over(partition_by=(cx, cy), order_by=table.c.id).label("rk"),
                    func.count().over().label("n")).where(and_(*_where(table, req))).subquery("ranked")
    cap = bindparam("cap", req.max_features, Integer)
    kept = select(ranked).where(or_(ranked.c.n <= cap, ranked.c.rk == 1)).subquery("kept")
    return select(_mvt_of(kept, req, layer, point_layer))


def plain_statement(table: Table, layer: str, req: TileRequest, point_layer: bool):
    """(tile, candidates): the tile of at most cap + 1 candidates (no window functions: what tipg's query does, plus
    the simplification) and how many there were — within the cap it is the tile, the same bytes as
    :func:`tile_statement`'s; over it the caller thins with :func:`tile_statement` (one round trip for most tiles)."""
    cols = [table.c[c] for c in req.columns]
    kept = select(table.c.id, *cols, table.c.geom.label("g")).where(and_(*_where(table, req))) \
        .limit(bindparam("cap1", req.max_features + 1, Integer)).cte("kept")   # read once, used twice
    n = select(func.count()).select_from(kept).scalar_subquery()
    mvt = select(_mvt_of(kept, req, layer, point_layer)).scalar_subquery()
    # the tile is encoded only within the cap (an InitPlan runs when its CASE branch is taken)
    return select(case((n <= bindparam("cap", req.max_features, Integer), mvt), else_=None), n)


def _values(layer: str, req: TileRequest) -> dict[str, Any]:
    t = req.tile
    x0, y0, x1, y1 = req.search_bounds
    minx, miny, _, _ = t.bounds_3857
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "minx": minx, "miny": miny, "cell": req.cell_m,
            "cap": req.max_features, "cap1": req.max_features + 1, "tol": t.pixel_m, "z": t.z, "x": t.x, "y": t.y, "layer": layer}


def tile_bytes(conn: Connection, table: Table, layer: str, req: TileRequest, point_layer: bool,
               compiled: dict[tuple, tuple[str, dict[str, Any]]] | None = None) -> bytes:
    """The tile's bytes: the plain statement over at most cap + 1 candidates, which also counts them; when they are
    over the cap (low zooms) the thinning statement instead. Without a CQL2 filter a statement's shape depends only
    on the layer, its columns and its geometry family, so its compiled SQL is kept in ``compiled`` (the store's) and
    run with this tile's values as parameters — compiling costs more than running (≈ 30 ms vs < 1 ms at z 14)."""
    def run(kind: str, build) -> Any:
        if req.cql is not None or compiled is None:
            return conn.execute(build()).one()
        key = (table.fullname, req.columns, point_layer, kind)
        hit = compiled.get(key)
        if hit is None:
            c = build().compile(dialect=conn.dialect)
            hit = compiled[key] = (str(c), dict(c.params))
        sql, defaults = hit
        values = {k: v for k, v in _values(layer, req).items() if k in defaults}
        return conn.exec_driver_sql(sql, {**defaults, **values}).one()

    value, n = run("plain", lambda: plain_statement(table, layer, req, point_layer))
    if n > req.max_features:
        value = run("thin", lambda: tile_statement(table, layer, req, point_layer))[0]
    return bytes(value or b"")
