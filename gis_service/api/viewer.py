"""The web viewer (``web/index.html`` at ``/viewer``) and the offline browser assets.

* ``/viewer`` — the viewer page; ``/viewer/<file>`` — its scripts and styles (top level of web/ only);
* ``/viewer/config.json`` — layer catalogue meta (styles, labels, units), basemap and endpoints; it
  describes the data, so it needs a key when GIS_READ_REQUIRES_KEY is set (like every data read).
  The page and its scripts are code, not data, and stay loadable so a key can be typed into the page;
* ``/static/vendor/<npm package>/...`` — the pinned npm assets in web/node_modules
  (``scripts/setup_web_assets.sh``) and Leaflet at ``/static/leaflet``: Starlette StaticFiles mounts
  made by app.py, one per allowed package, so no path can leave those folders.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import FileResponse, Response

from ..config import Settings
from ..maps import assets
from ..maps.base import basemap_for
from ..maps.style import catalog_meta
from ..reports import labels
from ..stores.base import Store
from .deps import Reader, get_settings, get_store
from .errors import ApiError

router = APIRouter()

CACHE = {"Cache-Control": "public, max-age=3600"}


def _file(url_path: str, field: str) -> FileResponse:
    path = assets.resolve(url_path) if "\x00" not in url_path else None
    if path is None:
        hint = "; run scripts/setup_web_assets.sh" if url_path.startswith(assets.VENDOR_URL) else ""
        raise ApiError(404, field, f"no such asset: {url_path}{hint}", code="NotFound")
    return FileResponse(path, media_type=assets.media_type(path), headers=CACHE)


@router.get("/viewer", summary="Map viewer 地图浏览器", tags=["Viewer"], response_class=FileResponse)
def viewer_page():
    """The viewer: switch layers, search by name, click the map for the nearest rescue teams, pick a
    feature for its exposure zones, draw a polygon for a siting check. Works with no internet."""
    return _file(f"{assets.APP_URL}/index.html", "path")


@router.get("/viewer/config.json", summary="Viewer configuration", tags=["Viewer"])
def viewer_config(store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    base = basemap_for(settings)
    doc = {
        "layers": catalog_meta(store.catalog),
        "basemap": {"url": base.url, "attribution": base.attribution, "notice": base.notice,
                    "crs": settings.basemap_crs},
        "extent": _extent(store),
        "endpoints": {
            "items": "/collections/{layer}/items",
            "rescue": "/analysis/rescue/nearest",
            "exposure": "/analysis/exposure/{layer}/{id}",
            "siting": "/analysis/siting",
            "risk": "/analysis/risk/individual",
        },
        "read_requires_key": settings.read_requires_key,
        "labels": labels.catalogue(),
        **_analysis_options(),
    }
    return Response(orjson.dumps(doc), media_type="application/json")


def _analysis_options() -> dict:
    """Incident types and the layers the exposure/rescue analyses accept (from their modules)."""
    from ..analysis import rescue, scenarios
    from ..analysis.qra.service import HAZARD_LAYER
    from ..maps.style import ir_levels

    names = rescue.capabilities().labels
    fields = set(scenarios.ScenarioParams.model_fields)
    out: dict = {
        "incidents": [{"key": k, "zh": names[k][0], "en": names[k][1]} for k in rescue.incident_types()],
        "rescue_layers": list(rescue.INCIDENT_BY_LAYER),
        "exposure_layers": list(scenarios.EXPOSURE_LAYERS),
        "risk_layers": [HAZARD_LAYER],   # QRA needs an inventory; parks run over all their hazard sources
        "risk_levels": ir_levels(),
        "scenario": {"fields": sorted(fields), "weather": "weather" in fields},
    }
    return out


def _extent(store: Store) -> list[float] | None:
    boxes = [b for b in (store.extent(s.name) for s in store.catalog if not s.style.get("basemap")) if b]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


UPLOAD = File(..., description="a .geojson/.json, a .zip holding a Shapefile, or a .gpkg; all its features "
              "become one proposal")


@router.post("/viewer/proposal", summary="Read an uploaded proposal (GeoJSON, zipped Shapefile, GeoPackage)",
             tags=["Viewer"])
def read_proposal(file: UploadFile = UPLOAD, _=Reader):
    """The uploaded file as one GeoJSON Feature in WGS84 (all features' geometries merged; the first
    feature's ``name`` kept) — ready for ``POST /analysis/siting``. Parsed with pyogrio (GDAL)."""
    from ..reports.upload import proposal_feature

    data = file.file.read()
    return Response(orjson.dumps(proposal_feature(file.filename or "", data)), media_type="application/geo+json")


BASEMAP_LAYERS = ("admin_areas", "roads")


@router.get("/viewer/basemap/{layer}", summary="Offline basemap layer (simplified, packed)", tags=["Viewer"])
def basemap_layer(layer: str, store: Store = Depends(get_store), _=Reader):
    """Admin areas or roads for the viewer's offline basemap: geometries simplified to a vertex budget,
    coordinates rounded to ~1 m, the name/level/class attributes only, in the packed column-wise form
    ``RiskMap.unpack`` reads (a fraction of the items API's bytes for the province view)."""
    if layer not in BASEMAP_LAYERS:
        raise ApiError(404, "layer", f"not a basemap layer: {layer!r}; basemap layers: {', '.join(BASEMAP_LAYERS)}",
                       code="NotFound")
    return Response(_basemap_packed(store, layer), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


BASEMAP_TOLERANCE_DEG = 0.005   # ~500 m: outlines for a province-to-county view, not for measuring
BASEMAP_PRECISION_DEG = 5e-4    # ~50 m
_basemap_cache: dict[tuple, bytes] = {}


def _basemap_packed(store: Store, layer: str) -> bytes:
    import numpy as np
    import shapely

    from ..maps.base import pack

    key = (id(store), layer, store.count(layer))
    if key not in _basemap_cache:
        spec = store.spec(layer)
        columns = [c for c in ("name", "level", "road_class") if spec.has_attribute(c)]
        frame = store.frame(layer, columns=columns)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        geoms = shapely.set_precision(shapely.simplify(geoms, BASEMAP_TOLERANCE_DEG, preserve_topology=True),
                                      BASEMAP_PRECISION_DEG, mode="pointwise")
        props = frame[columns].to_dict("records")
        _basemap_cache.clear() if len(_basemap_cache) > 16 else None
        _basemap_cache[key] = pack([int(i) for i in frame.index], geoms, props, columns)
    return _basemap_cache[key]


@router.get("/viewer/{name}", summary="Viewer file", tags=["Viewer"], include_in_schema=False)
def viewer_file(name: str):
    return _file(f"{assets.APP_URL}/{name}", "path")
