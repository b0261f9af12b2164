"""The web viewer (``web/index.html`` at ``/viewer``) and the offline browser assets.

* ``/viewer`` — the viewer page; ``/viewer/<file>`` — its scripts and styles (top level of web/),
  ``/viewer/js/<file>`` — the viewer's ES modules (web/js/, one job each) and
  ``/viewer/dist/viewer.bundle.js`` — all of them in one minified file (built by setup_web_assets.sh; the page
  names it instead of web/main.js while it is fresh, maps/bundle.py);
* ``/viewer/config.json`` — layer catalogue meta (styles, labels, units), basemap and endpoints; it
  describes the data, so it needs a key when GIS_READ_REQUIRES_KEY is set (like every data read).
  The page and its scripts are code, not data, and stay loadable so a key can be typed into the page;
* ``/static/vendor/<npm package>/...`` — the pinned npm assets in web/node_modules
  (``scripts/setup_web_assets.sh``) and Leaflet at ``/static/leaflet``: Starlette StaticFiles mounts
  made by app.py, one per allowed package, so no path can leave those folders.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response

from .. import legend
from ..analysis.consequence.params import EXPOSURE_LAYERS, ScenarioParams
from ..analysis.rescue.inputs import INCIDENT_BY_LAYER
from ..config import Settings
from ..maps import assets, bundle
from ..maps.base import basemap_for
from ..maps.style import catalog_meta
from ..models.rescue_standards import capabilities, incident_types
from ..services.container import Services
from ..services.layers import BASEMAP_LAYERS
from ..services.risk import RiskService
from .deps import Reader, Svc, get_settings
from .errors import ApiError
from .schemas import HTML_PAGE, FeatureCollection, PackedBasemap, ViewerConfig

router = APIRouter()

CACHE = {"Cache-Control": "public, max-age=3600"}


def _file(url_path: str, field: str) -> FileResponse:
    path = assets.resolve(url_path) if "\x00" not in url_path else None
    if path is None:
        hint = "; run scripts/setup_web_assets.sh" if url_path.startswith(assets.VENDOR_URL) else ""
        raise ApiError(404, field, f"no such asset: {url_path}{hint}", code="NotFound")
    return FileResponse(path, media_type=assets.media_type(path), headers=CACHE)


@router.get("/viewer", responses=HTML_PAGE, summary="Map viewer 地图浏览器", tags=["Viewer"], response_class=HTMLResponse)
def viewer_page(settings: Settings = Depends(get_settings)):
    """The viewer: switch layers, search by name, click the map for the nearest rescue teams, pick a
    feature for its exposure zones, draw a polygon for a siting check. Works with no internet.
    Its modules come as one bundled script when setup_web_assets.sh built one from the current sources
    (GIS_VIEWER_BUNDLE, maps/bundle.py), else as the modules themselves."""
    page = _file(f"{assets.APP_URL}/index.html", "path")
    html = Path(page.path).read_text(encoding="utf-8")
    url = bundle.bundle_url() if settings.viewer_bundle else None
    return HTMLResponse(bundle.page_html(html, url), headers={"Cache-Control": "no-cache"})


@router.get("/viewer/config.json", response_model=ViewerConfig, summary="Viewer configuration", tags=["Viewer"])
def viewer_config(svc: Services = Svc, settings: Settings = Depends(get_settings), _=Reader):
    base = basemap_for(settings)
    offers, notices = svc.basemaps.offers()
    layers = catalog_meta(svc.layers.catalog)
    for meta in layers:   # the collection's itemCount: the viewer draws a layer this big from the vector tiles
        meta["count"] = svc.layers.count(meta["name"])
    doc = {
        "layers": layers,
        "tiles": {"url": "/tiles/WebMercatorQuad/{z}/{y}/{x}", "threshold": settings.viewer_tile_threshold,
                  "max_features": settings.tile_max_features},
        "basemap": {"url": base.url, "attribution": base.attribution, "notice": base.notice,
                    "crs": settings.basemap_crs},
        # every basemap offered (local file, Tianditu, XYZ, own layers; the first is shown first) with its
        # attribution and 审图号, and why a configured one is not offered (GCJ-02, a Tianditu c set)
        "basemaps": {"offers": [o.to_dict() for o in offers], "notices": notices},
        "extent": svc.layers.data_extent(),
        "endpoints": {
            "items": "/collections/{layer}/items",
            "rescue": "/analysis/rescue/nearest",
            "exposure": "/analysis/exposure/{layer}/{id}",
            "siting": "/analysis/siting",
            "risk": "/analysis/risk/individual",
        },
        "read_requires_key": settings.read_requires_key,
        "labels": legend.catalogue(),
        "substances": svc.siting.substance_options(),
        **_analysis_options(),
    }
    return Response(orjson.dumps(doc), media_type="application/json")


def _analysis_options() -> dict:
    """Incident types and the layers the exposure/rescue analyses accept (from their modules)."""
    names = capabilities().labels
    fields = set(ScenarioParams.model_fields)
    out: dict = {
        "incidents": [{"key": k, "zh": names[k][0], "en": names[k][1]} for k in incident_types()],
        "rescue_layers": list(INCIDENT_BY_LAYER),
        "exposure_layers": list(EXPOSURE_LAYERS),
        "risk_layers": [RiskService.hazard_layer],   # QRA needs an inventory; parks run over all their hazard sources
        "risk_levels": legend.ir_levels(),
        "scenario": {"fields": sorted(fields), "weather": "weather" in fields},
    }
    return out


UPLOAD = File(..., description="a .geojson/.json, a .zip holding a Shapefile, or a .gpkg; all its features "
              "become one proposal")


@router.post("/viewer/proposal", response_model=FeatureCollection, summary="Read an uploaded proposal (GeoJSON, zipped Shapefile, GeoPackage)",
             tags=["Viewer"])
def read_proposal(file: UploadFile = UPLOAD,
                  layer: str | None = Query(None, max_length=200, pattern=r"^[^\x00]*$",
                                            description="the layer to read from a file with several (a "
                                            "GeoPackage); a file with several layers and none named is refused, "
                                            "naming them"),
                  svc: Services = Svc, _=Reader):
    """The uploaded file as one GeoJSON Feature in WGS84 (all features' geometries merged; the first
    feature's ``name`` kept) — ready for ``POST /analysis/siting``. Parsed with pyogrio (GDAL).
    The inventory is kept in ``properties.inventory``: each feature's ``inventory`` (a list, or JSON text in a
    column) and/or its columns ``substance``, ``quantity_t`` (optional ``cas``, ``operating_temp_c``,
    ``containment``, …: one item per feature), checked like a stored hazard source's (a bad item is a 400 naming
    it); ``unit_type`` (storage | production) too. ``inventory_items`` counts it (0: the siting check will use
    the screening distance)."""
    data = file.file.read()
    return Response(orjson.dumps(svc.siting.upload(file.filename or "", data, layer)),
                    media_type="application/geo+json")


@router.get("/viewer/basemap/{layer}", response_model=PackedBasemap, summary="Offline basemap layer (simplified, packed)", tags=["Viewer"])
def basemap_layer(layer: str, svc: Services = Svc, _=Reader):
    """Admin areas or roads for the viewer's offline basemap: geometries simplified to a vertex budget,
    coordinates rounded to ~1 m, the name/level/class attributes only, in the packed column-wise form
    ``RiskMap.unpack`` reads (a fraction of the items API's bytes for the province view)."""
    if layer not in BASEMAP_LAYERS:
        raise ApiError(404, "layer", f"not a basemap layer: {layer!r}; basemap layers: {', '.join(BASEMAP_LAYERS)}",
                       code="NotFound")
    return Response(svc.layers.basemap_packed(layer), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/viewer/js/{name}", summary="Viewer module", tags=["Viewer"], include_in_schema=False)
def viewer_module(name: str):
    return _file(f"{assets.APP_URL}/js/{name}", "path")


@router.get("/viewer/dist/{name}", summary="Viewer bundle", tags=["Viewer"], include_in_schema=False)
def viewer_bundle(name: str):
    return _file(f"{assets.APP_URL}/dist/{name}", "path")


@router.get("/viewer/{name}", summary="Viewer file", tags=["Viewer"], include_in_schema=False)
def viewer_file(name: str):
    return _file(f"{assets.APP_URL}/{name}", "path")
