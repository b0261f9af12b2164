"""OGC API – Features, Part 1 Core (GeoJSON + HTML) and Part 4 create/replace/delete.

Responses are assembled from the store's pre-serialised GeoJSON geometry text, so a page of
features is never decoded into Python geometry objects on its way out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi import Query as Param
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import cql2
from .. import crs as crsmod
from ..catalog import LayerSpec
from ..config import Settings
from ..geojson_io import parse_feature_body, parse_json
from ..services.container import Services
from ..services.layers import LayersService
from ..stores.base import Feature, Page, Query, WriteBatch
from ..validation import Problem, ValidationFailed, coerce_value, validate_rows
from .deps import Editor, Reader, get_services, get_settings
from .errors import ApiError
from .html import render
from .params import INT64_MAX, NO_NUL, FeatureId, geojson_body
from .schemas import (
    Collection,
    Collections,
    Conformance,
    Created,
    FeatureCollection,
    GeoJSONFeature,
    JSONSchemaDoc,
    Landing,
    geojson,
)

router = APIRouter()


async def get_layers(svc=Depends(get_services)) -> LayersService:
    return svc.layers

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# FastAPI writes OpenAPI 3.1, so the OGC "oas30" class is not claimed.
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    # OGC API – Processes Part 1 (gis_service/api/processes.py)
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    *cql2.CONFORMANCE,
    # OGC API – Tiles with Mapbox Vector Tiles (gis_service/api/tiles.py)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]
RESERVED = {"f", "bbox", "bbox-crs", "limit", "offset", "properties", "sortby", "q", "datetime", "crs", "filter",
            "filter-lang", "filter-crs"}
Format = Literal["json", "html", "geojson"]
ItemsFormat = Literal["json", "html", "geojson", "gpkg", "fgb", "csv"]
# the items path is spelled as in the OGC API Features OpenAPI building blocks, so clients that look the operation
# up by that name (GDAL's OAPIF driver: its query parameters and filter-lang) find it
CollectionId = Path(alias="collectionId", description="the layer (collection id)")
F = Param(None, description="json (default for programs) or html (default for browsers)")


def _base(request: Request, settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def _wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        if f not in ("json", "html", "geojson", *DOWNLOADS):  # also when called outside FastAPI
            raise ApiError(400, "f", f"unsupported format {f!r}; use f=json or f=html")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _json(doc: Any, media_type: str = "application/json", status: int = 200, headers=None) -> Response:
    return Response(orjson.dumps(doc), media_type=media_type, status_code=status, headers=headers)


@router.get("/", summary="Landing page", tags=["OGC API Features"], response_model=Landing)
def landing(request: Request, f: Format | None = F, settings: Settings = Depends(get_settings), _=Reader):
    base = _base(request, settings)
    doc = {
        "title": "工业安全风险地图服务 Industrial-safety risk map service",
        "description": "重大危险源、采空区、化工园区、尾矿库与救援队伍图层 — OGC API Features",
        "links": [
            {"href": f"{base}/?f=json", "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{base}/?f=html", "rel": "alternate", "type": "text/html", "title": "this document as HTML"},
            {"href": f"{base}/openapi.json", "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.1",
             "title": "OpenAPI definition"},
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
             "title": "conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json", "title": "collections"},
            {"href": f"{base}/processes", "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
             "type": "application/json", "title": "processes (OGC API – Processes)"},
            {"href": f"{base}/jobs", "rel": "http://www.opengis.net/def/rel/ogc/1.0/job-list",
             "type": "application/json", "title": "jobs"},
            {"href": f"{base}/viewer", "rel": "alternate", "type": "text/html", "title": "地图浏览器 Map viewer"},
            {"href": f"{base}/maps/overview", "rel": "alternate", "type": "text/html", "title": "总览图 Overview map"},
        ],
    }
    if _wants_html(request, f):
        return render("landing.html", doc=doc)
    return _json(doc)


@router.get("/conformance", summary="Conformance classes", tags=["OGC API Features"], response_model=Conformance)
def conformance(request: Request, f: Format | None = F, _=Reader):
    doc = {"conformsTo": CONFORMANCE}
    if _wants_html(request, f):
        return render("conformance.html", doc=doc)
    return _json(doc)


def _collection_doc(base: str, spec: LayerSpec, layers: LayersService) -> dict[str, Any]:
    extent = layers.extent(spec.name)
    doc: dict[str, Any] = {
        "id": spec.name,
        "title": spec.title,
        "description": f"{spec.description_zh} — {spec.description_en}",
        "itemType": "feature",
        "crs": crsmod.offered(extent),
        "storageCrs": CRS84,
        "itemCount": layers.count(spec.name),  # the store's kept count (no scan); the viewer picks tiles by it
        "links": [
            {"href": f"{base}/collections/{spec.name}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{spec.name}?f=html", "rel": "alternate", "type": "text/html"},
            {"href": f"{base}/collections/{spec.name}/items", "rel": "items", "type": GEOJSON,
             "title": f"{spec.title} (GeoJSON)"},
            {"href": f"{base}/collections/{spec.name}/items?f=html", "rel": "items", "type": "text/html",
             "title": f"{spec.title} (HTML)"},
            {"href": f"{base}/collections/{spec.name}/schema", "rel": "describedby",
             "type": "application/schema+json", "title": "schema"},
            {"href": f"{base}/collections/{spec.name}/queryables", "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json", "title": "queryables"},
            {"href": f"{base}/collections/{spec.name}/tiles", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
             "type": "application/json", "title": "vector tiles (Mapbox Vector Tiles)"},
        ],
    }
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return doc


@router.get("/collections", summary="Feature collections", tags=["OGC API Features"], response_model=Collections)
def collections(request: Request, f: Format | None = F, layers: LayersService = Depends(get_layers),
                settings: Settings = Depends(get_settings), _=Reader):
    base = _base(request, settings)
    doc = {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"},
                  {"href": f"{base}/collections?f=html", "rel": "alternate", "type": "text/html"}],
        "collections": [_collection_doc(base, spec, layers) for spec in layers.catalog],
    }
    if _wants_html(request, f):
        return render("collections.html", doc=doc)
    return _json(doc)


@router.get("/collections/{layer}", summary="One feature collection", tags=["OGC API Features"],
            response_model=Collection)
def collection(layer: str, request: Request, f: Format | None = F, layers: LayersService = Depends(get_layers),
               settings: Settings = Depends(get_settings), _=Reader):
    spec = layers.spec(layer)
    doc = _collection_doc(_base(request, settings), spec, layers)
    if _wants_html(request, f):
        return render("collection.html", doc=doc, spec=spec)
    return _json(doc)


def _schema(spec: LayerSpec, base: str, kind: str) -> dict[str, Any]:
    props = {a.name: a.json_schema() for a in spec.attributes}
    if kind == "schema":
        props["geometry"] = {"format": "geometry-any", "x-ogc-role": "primary-geometry",
                             "description": f"one of {', '.join(spec.geometry_types)}"}
        props["id"] = {"type": "integer", "x-ogc-role": "id", "readOnly": True}
    else:
        props = {k: v for k, v in props.items() if spec.attribute(k).type != "json"}
        props[cql2.GEOMETRY_PROPERTY] = {"format": "geometry-any", "x-ogc-role": "primary-geometry",
                                         "description": "for the S_* spatial functions of CQL2"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{spec.name}/{kind}",
        "type": "object",
        "title": spec.title,
        "properties": props,
        "required": [a.name for a in spec.attributes if a.required] if kind == "schema" else [],
        "additionalProperties": False,
    }


@router.get("/collections/{layer}/schema", response_model=JSONSchemaDoc, summary="Schema of the features", tags=["OGC API Features"])
def schema(layer: str, request: Request, layers: LayersService = Depends(get_layers),
           settings: Settings = Depends(get_settings), _=Reader):
    return _json(_schema(layers.spec(layer), _base(request, settings), "schema"), "application/schema+json")


@router.get("/collections/{layer}/queryables", response_model=JSONSchemaDoc, summary="Attributes usable as filters", tags=["OGC API Features"])
def queryables(layer: str, request: Request, layers: LayersService = Depends(get_layers),
               settings: Settings = Depends(get_settings), _=Reader):
    return _json(_schema(layers.spec(layer), _base(request, settings), "queryables"), "application/schema+json")


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) == 6:  # 3D bbox: drop heights
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4:
        raise ApiError(400, "bbox", "bbox needs 4 numbers: minlon,minlat,maxlon,maxlat")
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise ApiError(400, "bbox", f"bbox values must be numbers, got {text!r}") from None
    return vals  # type: ignore[return-value]


def _attribute_filters(spec: LayerSpec, params: dict[str, str]) -> dict[str, Any]:
    """``name=value`` equality filters, each name checked against the spec and each value typed."""
    problems: list[Problem] = []
    filters: dict[str, Any] = {}
    for key, value in params.items():
        if key in RESERVED:
            continue
        if not spec.has_attribute(key):
            problems.append(Problem(None, key, f"unknown query parameter; use one of {', '.join(sorted(RESERVED))} "
                                    f"or an attribute of {spec.name}: {', '.join(spec.attribute_names)}"))
            continue
        attr = spec.attribute(key)
        if attr.type == "json":
            problems.append(Problem(None, key, "JSON attributes cannot be filtered by equality"))
            continue
        try:
            filters[key] = coerce_value(attr, value)
        except ValueError as exc:
            problems.append(Problem(None, key, str(exc)))
    if problems:
        raise ValidationFailed(problems, spec.name)
    return filters


def _paging(params: dict[str, str], settings: Settings) -> tuple[int, int]:
    try:
        limit = int(params.get("limit", settings.default_limit))
        offset = int(params.get("offset", 0))
    except ValueError:
        raise ApiError(400, "limit", "limit and offset must be integers") from None
    if limit < 1:
        raise ApiError(400, "limit", f"limit must be between 1 and {settings.max_limit}")
    limit = min(limit, settings.max_limit)  # OGC API Features §7.15.3: above the maximum → the maximum
    if offset < 0:
        raise ApiError(400, "offset", "offset must not be negative")
    return limit, offset


def crs_param(params: dict[str, str], name: str) -> crsmod.Crs:
    """A CRS query parameter (crs, bbox-crs, filter-crs) or 400 naming it."""
    try:
        return crsmod.parse(params.get(name))
    except crsmod.UnsupportedCrs as exc:
        raise ApiError(400, name, str(exc)) from None


def _cql(spec: LayerSpec, params: dict[str, str]) -> cql2.Expr | None:
    lang = params.get("filter-lang") or "cql2-text"
    if lang == "cql-text":  # the pre-1.0 draft's name, which GDAL's OAPIF driver sends
        lang = "cql2-text"
    if lang not in ("cql2-text", "cql2-json"):
        raise ApiError(400, "filter-lang", f"unsupported filter-lang {lang[:40]!r}; use cql2-text or cql2-json")
    filter_crs = crs_param(params, "filter-crs")
    if params.get("filter") is None:
        return None
    try:
        return cql2.parse_filter(spec, params["filter"], lang, filter_crs)
    except cql2.FilterError as exc:
        raise ApiError(400, "filter", str(exc)) from None


def _bbox(params: dict[str, str]) -> tuple[float, float, float, float] | None:
    bcrs = crs_param(params, "bbox-crs")
    if not params.get("bbox"):
        return None
    box = _parse_bbox(params["bbox"])
    if bcrs.is_crs84:
        return box
    try:
        return crsmod.bbox_to_crs84(box, bcrs)
    except Exception as exc:  # pyproj raises its own errors for boxes outside the CRS's area
        raise ApiError(400, "bbox", f"bbox {params['bbox'][:80]!r} in {bcrs.uri}: {exc} (axis order of "
                       "that CRS: EPSG:4326/4490 are lat,lon; the Gauss-Krüger zones northing,easting)") from None


def parse_items_query(spec: LayerSpec, params: dict[str, str], settings: Settings) -> Query:
    """Turn query parameters into a checked Query; every name is checked against the spec."""
    filters = _attribute_filters(spec, params)
    crs_param(params, "crs")
    if params.get("datetime"):
        raise ApiError(400, "datetime", "these collections have no temporal extent; datetime is not supported")
    limit, offset = _paging(params, settings)
    props = None
    if params.get("properties") is not None:
        props = tuple(p.strip() for p in params["properties"].split(",") if p.strip())
    sortby = []
    for key in filter(None, (s.strip() for s in params.get("sortby", "").split(","))):
        asc = not key.startswith("-")
        sortby.append((key.lstrip("+-"), asc))
    bbox = _bbox(params)
    q = params.get("q") or None
    if q is not None and len(q) > 200:
        raise ApiError(400, "q", "search text longer than 200 characters")
    return Query(bbox=bbox, filters=filters, name_contains=q, limit=limit, offset=offset,
                 properties=props, sortby=tuple(sortby), cql=_cql(spec, params), count_cap=settings.matched_count_cap)


DOWNLOADS = ("gpkg", "fgb", "csv")


def _download(svc: Services, spec: LayerSpec, query: Query, fmt: str, out_crs: crsmod.Crs) -> Response:
    """The whole selection (bbox, filter, equality, q; limit, offset and sortby do not apply), streamed."""
    from ..services.downloads import FORMATS

    media, ext, _driver = FORMATS[fmt]
    code = "crs84" if out_crs.is_crs84 else f"epsg{out_crs.code}"
    headers = {"Content-Disposition": f'attachment; filename="{spec.name}-{code}.{ext}"',
               "Content-Crs": out_crs.header}
    return StreamingResponse(svc.downloads.stream(spec.name, query, fmt, out_crs), media_type=media, headers=headers)


def script_safe(doc: bytes) -> str:
    """JSON text safe to embed in a <script> element ("<" only occurs inside strings)."""
    return doc.decode().replace("<", "\\u003c")


def feature_bytes(f: Feature) -> bytes:
    props = f.properties_json.encode() if f.properties_json is not None else orjson.dumps(f.properties)
    return b'{"type":"Feature","id":%d,"geometry":%s,"properties":%s}' % (f.id, f.geometry_json.encode(), props)


def collection_bytes(features: list[Feature], extra: dict[str, Any]) -> bytes:
    """A FeatureCollection built from pre-serialised geometry text (no geometry decoding)."""
    head = orjson.dumps({"type": "FeatureCollection", **extra})[:-1]
    return head + b',"features":[' + b",".join(feature_bytes(f) for f in features) + b"]}"


def _page_links(base: str, layer: str, params: dict[str, str], query: Query, page: Page):
    def link(rel: str, offset: int | None, fmt: str, media: str) -> dict[str, str]:
        p = {k: v for k, v in params.items() if k not in ("offset", "f")}
        if offset is not None:
            p["offset"] = str(offset)
        elif "offset" in params:
            p["offset"] = params["offset"]
        p["limit"] = str(query.limit)
        p["f"] = fmt
        return {"href": f"{base}/collections/{layer}/items?{urlencode(p)}", "rel": rel, "type": media}

    links = [link("self", None, "json", GEOJSON), link("alternate", None, "html", "text/html"),
             {"href": f"{base}/collections/{layer}", "rel": "collection", "type": "application/json"}]
    if page.has_next(query.offset):
        links.append(link("next", query.offset + query.limit, "json", GEOJSON))
    if query.offset > 0:
        links.append(link("prev", max(0, query.offset - query.limit), "json", GEOJSON))
    return links


@router.get("/collections/{collectionId}/items", response_model=FeatureCollection, summary="Features of a collection",
            tags=["OGC API Features"],
            responses=geojson(html=True))
def items(request: Request, layer: str = CollectionId,
          f: ItemsFormat | None = Param(None, description="json (GeoJSON), html, or a bulk download of the whole "
                                        "selection: gpkg (GeoPackage), fgb (FlatGeobuf), csv (WKT column)"),
          bbox: str | None = Param(None, max_length=400, pattern=NO_NUL,
                                   description="minlon,minlat,maxlon,maxlat (CRS84); minlon > maxlon crosses "
                                   "the antimeridian"),
          limit: int | None = Param(None, ge=1, le=INT64_MAX, description="page size (1 to the configured "
                                    "maximum, GIS_MAX_LIMIT, default 10000; a larger limit is capped)"),
          offset: int | None = Param(None, ge=0, le=INT64_MAX, description="features to skip"),
          properties: str | None = Param(None, max_length=2000, pattern=NO_NUL,
                                         description="comma-separated attribute names to return"),
          sortby: str | None = Param(None, max_length=2000, pattern=NO_NUL,
                                     description="comma-separated attributes (not JSON ones) or id, "
                                     "'-' for descending"),
          q: str | None = Param(None, max_length=200, pattern=NO_NUL, description="name contains (any case)"),
          filter: str | None = Param(None, max_length=cql2.MAX_FILTER_CHARS, description="CQL2 filter "
                                     "(Features Part 3) over the queryables, e.g. `population > 1000 AND "
                                     "S_INTERSECTS(geometry, BBOX(125,43,126,44))`"),
          filter_lang: Literal["cql2-text", "cql2-json", "cql-text"] = Param(
              "cql2-text", alias="filter-lang", description="cql2-text or cql2-json (cql-text: the draft's name "
              "for cql2-text, as GDAL's OAPIF driver sends it)"),
          filter_crs: str | None = Param(None, alias="filter-crs", max_length=200, pattern=NO_NUL,
                                         description="CRS of the filter's geometries (default CRS84)"),
          crs: str | None = Param(None, max_length=200, pattern=NO_NUL, description="CRS of the answer "
                                  "(Features Part 2): one of the collection's `crs` list, e.g. "
                                  "http://www.opengis.net/def/crs/EPSG/0/4490 (lat,lon order)"),
          bbox_crs: str | None = Param(None, alias="bbox-crs", max_length=200, pattern=NO_NUL,
                                       description="CRS of bbox (its axis order; default CRS84)"),
          layers: LayersService = Depends(get_layers), settings: Settings = Depends(get_settings),
          svc: Services = Depends(get_services), _=Reader):
    """Filter by bbox (minlon,minlat,maxlon,maxlat, CRS84, or in `bbox-crs`), by a CQL2 `filter`, by any
    attribute with `name=value` (equality), by `q` (name contains); answer in `crs`; page with limit/offset
    (a limit above the maximum is capped) and follow the `next` link."""
    spec = layers.spec(layer)
    params = dict(request.query_params)
    query = parse_items_query(spec, params, settings)
    out_crs = crs_param(params, "crs")
    if f in DOWNLOADS:
        return _download(svc, spec, query, f, out_crs)
    if _wants_html(request, f):
        out_crs = crsmod.CRS84_CRS  # the HTML page draws a Leaflet map (lon/lat)
    page = layers.items(layer, query, out_crs)
    base = _base(request, settings)
    links = _page_links(base, layer, params, query, page)
    if _wants_html(request, f):
        return render("items.html", spec=spec, page=page, links=links, query=query,
                      features_json=script_safe(collection_bytes(page.features, {})))
    extra = {"numberMatched": page.number_matched, "numberReturned": len(page.features),
             "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links}
    if not page.matched_exact:   # more than GIS_MATCHED_COUNT_CAP matched: omitted, as OGC API Features allows
        del extra["numberMatched"]
    return Response(collection_bytes(page.features, extra), media_type=GEOJSON,
                    headers={"Content-Crs": out_crs.header})


@router.get("/collections/{layer}/items/{fid}", response_model=GeoJSONFeature, summary="One feature", tags=["OGC API Features"],
            responses=geojson(GeoJSONFeature, html=True))
def item(layer: str, fid: FeatureId, request: Request, f: Format | None = F,
         crs: str | None = Param(None, max_length=200, pattern=NO_NUL, description="CRS of the answer"),
         layers: LayersService = Depends(get_layers), settings: Settings = Depends(get_settings), _=Reader):
    spec = layers.spec(layer)
    out_crs = crs_param(dict(request.query_params), "crs")
    if _wants_html(request, f):
        out_crs = crsmod.CRS84_CRS
    feat = layers.get(layer, fid, out_crs)
    base = _base(request, settings)
    if _wants_html(request, f):
        return render("item.html", spec=spec, feature=feat, feature_json=script_safe(feature_bytes(feat)))
    links = [{"href": f"{base}/collections/{layer}/items/{fid}", "rel": "self", "type": GEOJSON},
             {"href": f"{base}/collections/{layer}/items/{fid}?f=html", "rel": "alternate", "type": "text/html"},
             {"href": f"{base}/collections/{layer}", "rel": "collection", "type": "application/json"}]
    body = feature_bytes(feat)[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": out_crs.header})


# -- Part 4: create, replace, delete ------------------------------------------------------------

_WRITE_DOC = ("A GeoJSON Feature or FeatureCollection with the layer's attributes: WGS84 lon/lat (RFC 7946), or "
              "in the CRS named by a `Content-Crs` header (one of the collection's `crs` list, its axis order).")


def content_crs(request: Request) -> crsmod.Crs:
    """The CRS of a written body from its ``Content-Crs`` header (``<uri>`` or a bare URI); CRS84 without one."""
    value = request.headers.get("content-crs")
    if value is None:
        return crsmod.CRS84_CRS
    try:
        return crsmod.parse(value.strip().removeprefix("<").removesuffix(">"))
    except crsmod.UnsupportedCrs as exc:
        raise ApiError(400, "Content-Crs", str(exc)) from None


def in_crs84(rows: list[tuple[Any, dict[str, Any]]], body_crs: crsmod.Crs) -> list[tuple[Any, dict[str, Any]]]:
    """Geometries of a written body moved from ``body_crs`` to CRS84 (storage); non-finite results → 400."""
    if body_crs.is_crs84 or not rows:
        return rows
    import numpy as np

    try:
        geoms = crsmod.to_crs84(np.array([g for g, _ in rows], dtype=object), body_crs)
    except ValueError as exc:
        raise ApiError(400, "Content-Crs", str(exc)) from None
    return [(g, p) for g, (_, p) in zip(geoms, rows, strict=True)]


@router.post("/collections/{collectionId}/items", status_code=201, summary="Create features (editor role)",
             tags=["OGC API Features – writes"], openapi_extra=geojson_body(True, _WRITE_DOC),
             response_model=Created)
async def create(request: Request, layer: str = CollectionId, layers: LayersService = Depends(get_layers),
                 settings: Settings = Depends(get_settings), role: str = Editor):
    """Body: a GeoJSON Feature or FeatureCollection (RFC 7946, WGS84). All or nothing."""
    body = await request.body()
    body_crs = content_crs(request)

    def work() -> list[int]:  # parsing, validation and the store write run off the event loop
        spec = layers.spec(layer)
        rows = validate_rows(spec, in_crs84(parse_feature_body(body, allow_collection=True), body_crs))
        return layers.write(layer, WriteBatch(creates=rows))

    ids = await run_in_threadpool(work)
    base = _base(request, settings)
    headers = {"Location": f"{base}/collections/{layer}/items/{ids[0]}"} if len(ids) == 1 else {}
    return _json({"created": ids, "count": len(ids)}, status=201, headers=headers)


def _check_body_id(body: bytes, fid: int) -> None:
    """A PUT replaces the feature of the path: a body ``id`` naming another feature is refused (400)
    rather than silently ignored (the caller may have meant that other feature)."""
    doc = parse_json(body)
    if not isinstance(doc, dict) or doc.get("id") is None:
        return
    given = doc["id"]
    same = (isinstance(given, int) and not isinstance(given, bool) and given == fid) or \
        (isinstance(given, str) and given.strip().lstrip("-").isdigit() and int(given) == fid)
    if not same:
        raise ValidationFailed([Problem(None, "id", f"the body's id {str(given)[:40]!r} differs from the path's "
                                        f"{fid}; PUT replaces the feature named in the path (omit id or make them equal)")])


@router.put("/collections/{layer}/items/{fid}", status_code=204, summary="Replace a feature (editor role)",
            tags=["OGC API Features – writes"], response_class=Response,
            openapi_extra=geojson_body(False, "A GeoJSON Feature (RFC 7946, WGS84 lon/lat)."))
async def replace(layer: str, fid: FeatureId, request: Request, layers: LayersService = Depends(get_layers),
                  role: str = Editor):
    body = await request.body()
    body_crs = content_crs(request)

    def work() -> None:
        spec = layers.spec(layer)
        _check_body_id(body, fid)
        rows = validate_rows(spec, in_crs84(parse_feature_body(body, allow_collection=False), body_crs))
        layers.write(layer, WriteBatch(replaces={fid: rows[0]}))

    await run_in_threadpool(work)
    return Response(status_code=204)


@router.delete("/collections/{layer}/items/{fid}", status_code=204, summary="Delete a feature (editor role)",
               tags=["OGC API Features – writes"], response_class=Response)
def remove(layer: str, fid: FeatureId, layers: LayersService = Depends(get_layers), role: str = Editor):
    layers.spec(layer)
    layers.write(layer, WriteBatch(deletes=[fid]))
    return Response(status_code=204)
