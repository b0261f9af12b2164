"""OGC API – Tiles (OGC 20-057) with Mapbox Vector Tiles: tile matrix sets, per-collection tilesets, a dataset
tileset of several layers for the map, TileJSON 3.0.0, and the tiles themselves with ``ETag`` / ``If-None-Match``.

Tile paths follow the standard's order ``{tileMatrix}/{tileRow}/{tileCol}`` (z/y/x). A tile address outside the
WebMercatorQuad matrix (zoom above 24, a row or column past the edge) is 400 naming the parameter."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi import Query as Param

from .. import tiles
from ..catalog import LayerSpec
from ..config import Settings
from ..services.container import Services
from . import gzipped
from .deps import Reader, Svc, get_settings
from .errors import ApiError
from .features import _base, _cql
from .params import NO_NUL
from .schemas import TileMatrixSetDoc, TileMatrixSets, TileSetDoc, TileSets

router = APIRouter(tags=["OGC API Tiles"])
MVT = "application/vnd.mapbox-vector-tile"
CollectionId = PathParam(alias="collectionId", max_length=64, description="the layer (collection id)")
Tms = PathParam(alias="tileMatrixSetId", max_length=64, description="WebMercatorQuad")
Z = PathParam(alias="tileMatrix", ge=-(2**31), le=2**31, description="zoom level (0–24)")
Row = PathParam(alias="tileRow", ge=-(2**62), le=2**62, description="tile row (y, from the top)")
Col = PathParam(alias="tileCol", ge=-(2**62), le=2**62, description="tile column (x, from the left)")
TileFormat = Literal["json", "tilejson"]


def _tile(tms: str, z: int, y: int, x: int) -> tiles.Tile:
    try:
        return tiles.check_tile(tms, z, x, y)
    except tiles.TileError as exc:
        raise ApiError(400, exc.field, str(exc)) from None


def _check_tms(tms: str) -> None:
    if tms != tiles.WEB_MERCATOR_QUAD:
        raise ApiError(404 if len(tms) < 64 else 400, "tileMatrixSetId",
                       f"unknown tile matrix set {tms[:40]!r}; offered: {tiles.WEB_MERCATOR_QUAD}", code="NotFound")


def _answer(request: Request, body: bytes, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": "public, no-cache"}  # revalidate: a write changes the ETag
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    body, encoding = gzipped.encode(request, body, etag)   # compressed once per tile, not per answer
    return Response(body, media_type=MVT, headers={**headers, **encoding})


def _fields(svc: Services, spec: LayerSpec) -> dict[str, str]:
    return {c: {"integer": "Number", "number": "Number", "boolean": "Boolean"}.get(spec.attribute(c).type, "String")
            for c in svc.tiles.columns(spec, tiles.MAX_ZOOM)}


def _tileset(base: str, svc: Services, specs: list[LayerSpec], prefix: str, title: str) -> dict[str, Any]:
    dims = {"point": 0, "line": 1, "polygon": 2}
    return {
        "title": title, "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}{prefix}/{tiles.WEB_MERCATOR_QUAD}"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json",
             "href": f"{base}/tileMatrixSets/{tiles.WEB_MERCATOR_QUAD}"},
            {"rel": "alternate", "type": "application/json", "title": "TileJSON",
             "href": f"{base}{prefix}/{tiles.WEB_MERCATOR_QUAD}?f=tilejson"},
            {"rel": "item", "type": MVT, "templated": True,
             "href": f"{base}{prefix}/{tiles.WEB_MERCATOR_QUAD}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"},
        ],
        "layers": [{"id": s.name, "title": s.title, "dataType": "vector",
                    "geometryDimension": dims.get(s.geometry_family, 2),
                    "propertiesSchema": {"type": "object", "properties": {
                        c: {"type": t.lower()} for c, t in _fields(svc, s).items()}}} for s in specs],
    }


def _tilejson(base: str, svc: Services, specs: list[LayerSpec], prefix: str, name: str,
              query: str = "") -> dict[str, Any]:
    boxes = [b for b in (svc.layers.extent(s.name) for s in specs) if b]
    bounds = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
              max(b[3] for b in boxes)] if boxes else [-180, -85.0511, 180, 85.0511]
    return {"tilejson": "3.0.0", "name": name, "scheme": "xyz", "minzoom": 0, "maxzoom": 22, "bounds": bounds,
            "tiles": [f"{base}{prefix}/{tiles.WEB_MERCATOR_QUAD}/{{z}}/{{y}}/{{x}}{query}"],
            "vector_layers": [{"id": s.name, "description": s.title, "minzoom": 0, "maxzoom": 22,
                               "fields": _fields(svc, s)} for s in specs]}


@router.get("/tileMatrixSets", response_model=TileMatrixSets, summary="Tile matrix sets")
def tile_matrix_sets(request: Request, settings: Settings = Depends(get_settings), _=Reader):
    base = _base(request, settings)
    return {"tileMatrixSets": [{"id": tiles.WEB_MERCATOR_QUAD, "title": "Google Maps Compatible for the World",
                                "links": [{"rel": "self", "type": "application/json",
                                           "href": f"{base}/tileMatrixSets/{tiles.WEB_MERCATOR_QUAD}"}]}]}


@router.get("/tileMatrixSets/{tileMatrixSetId}", response_model=TileMatrixSetDoc, summary="One tile matrix set (OGC 17-083r4 JSON)")
def tile_matrix_set(tms: str = Tms, _=Reader):
    _check_tms(tms)
    return tiles.tile_matrix_set()


@router.get("/collections/{collectionId}/tiles", response_model=TileSets, summary="Tilesets of a collection")
def collection_tilesets(request: Request, layer: str = CollectionId, svc: Services = Svc,
                        settings: Settings = Depends(get_settings), _=Reader):
    spec = svc.layers.spec(layer)
    ts = _tileset(_base(request, settings), svc, [spec], f"/collections/{layer}/tiles", spec.title)
    return {"tilesets": [{"title": ts["title"], "dataType": "vector", "crs": ts["crs"],
                          "tileMatrixSetURI": ts["tileMatrixSetURI"], "links": ts["links"][:2]}]}


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", response_model=TileSetDoc, summary="Tileset of a collection (or TileJSON)")
def collection_tileset(request: Request, layer: str = CollectionId, tms: str = Tms, f: TileFormat = "json",
                       svc: Services = Svc, settings: Settings = Depends(get_settings), _=Reader):
    spec = svc.layers.spec(layer)
    _check_tms(tms)
    base, prefix = _base(request, settings), f"/collections/{layer}/tiles"
    if f == "tilejson":
        return _tilejson(base, svc, [spec], prefix, spec.title)
    return _tileset(base, svc, [spec], prefix, spec.title)


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            summary="A vector tile of a collection (Mapbox Vector Tile)",
            response_class=Response,
            responses={200: {"content": {MVT: {}}, "description": "the tile (empty when nothing is in it)"},
                       304: {"description": "not modified (If-None-Match)"}})
def collection_tile(request: Request, layer: str = CollectionId, tms: str = Tms, z: int = Z, y: int = Row,
                    x: int = Col, svc: Services = Svc,
                    filter: str | None = Param(None, max_length=20_000, description="CQL2 filter (as on items)"),
                    filter_lang: Literal["cql2-text", "cql2-json", "cql-text"] = Param("cql2-text", alias="filter-lang"),
                    filter_crs: str | None = Param(None, alias="filter-crs", max_length=200, pattern=NO_NUL),
                    _=Reader):
    spec = svc.layers.spec(layer)
    tile = _tile(tms, z, y, x)
    params = dict(request.query_params)
    cql = _cql(spec, params)
    key = f"{params.get('filter-lang', '')}|{params.get('filter-crs', '')}|{filter}" if cql is not None else ""
    etag = svc.tiles.etag([layer], tile, key)
    if etag in request.headers.get("if-none-match", ""):
        return _answer(request, b"", etag)
    return _answer(request, svc.tiles.tile([layer], tile, cql, key), etag)


def _collections(svc: Services, names: str | None) -> list[LayerSpec]:
    if not names:
        return [s for s in svc.layers.catalog if not s.style.get("basemap")]
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted or len(wanted) > 32:
        raise ApiError(400, "collections", "1 to 32 comma-separated collection ids")
    return [svc.layers.spec(n) for n in dict.fromkeys(wanted)]


@router.get("/tiles", response_model=TileSets, summary="Dataset tilesets (several layers in one tile, for the map)")
def dataset_tilesets(request: Request, svc: Services = Svc, settings: Settings = Depends(get_settings), _=Reader):
    ts = _tileset(_base(request, settings), svc, _collections(svc, None), "/tiles", "风险地图 Risk map")
    return {"tilesets": [{"title": ts["title"], "dataType": "vector", "crs": ts["crs"],
                          "tileMatrixSetURI": ts["tileMatrixSetURI"], "links": ts["links"][:2]}]}


@router.get("/tiles/{tileMatrixSetId}", response_model=TileSetDoc, summary="The dataset tileset (or TileJSON)")
def dataset_tileset(request: Request, tms: str = Tms, f: TileFormat = "json",
                    collections: str | None = Param(None, max_length=2000, pattern=NO_NUL,
                                                    description="comma-separated layers (default: all)"),
                    svc: Services = Svc, settings: Settings = Depends(get_settings), _=Reader):
    _check_tms(tms)
    specs = _collections(svc, collections)
    base = _base(request, settings)
    if f == "tilejson":
        query = f"?collections={','.join(s.name for s in specs)}" if collections else ""
        return _tilejson(base, svc, specs, "/tiles", "风险地图 Risk map", query)
    return _tileset(base, svc, specs, "/tiles", "风险地图 Risk map")


@router.get("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            summary="A vector tile with several layers (Mapbox Vector Tile)",
            response_class=Response,
            responses={200: {"content": {MVT: {}}, "description": "the tile"},
                       304: {"description": "not modified (If-None-Match)"}})
def dataset_tile(request: Request, tms: str = Tms, z: int = Z, y: int = Row, x: int = Col,
                 collections: str | None = Param(None, max_length=2000, pattern=NO_NUL,
                                                 description="comma-separated layers (default: all)"),
                 svc: Services = Svc, _=Reader):
    tile = _tile(tms, z, y, x)
    names = [s.name for s in _collections(svc, collections)]
    etag = svc.tiles.etag(names, tile)
    if etag in request.headers.get("if-none-match", ""):
        return _answer(request, b"", etag)
    return _answer(request, svc.tiles.tile(names, tile), etag)
