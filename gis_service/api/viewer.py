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

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from ..config import Settings
from ..maps import assets
from ..maps.base import basemap_for
from ..maps.style import catalog_meta
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
        },
        "read_requires_key": settings.read_requires_key,
        **_analysis_options(),
    }
    import orjson

    return Response(orjson.dumps(doc), media_type="application/json")


def _analysis_options() -> dict:
    """Incident types and the layers the exposure/rescue analyses accept (from their modules)."""
    from ..analysis import rescue, scenarios

    labels = rescue.capabilities().labels
    out: dict = {
        "incidents": [{"key": k, "zh": labels[k][0], "en": labels[k][1]} for k in rescue.incident_types()],
        "rescue_layers": list(rescue.INCIDENT_BY_LAYER),
        "exposure_layers": list(scenarios.EXPOSURE_LAYERS),
    }
    return out


def _extent(store: Store) -> list[float] | None:
    boxes = [b for b in (store.extent(s.name) for s in store.catalog if not s.style.get("basemap")) if b]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


@router.get("/viewer/{name}", summary="Viewer file", tags=["Viewer"], include_in_schema=False)
def viewer_file(name: str):
    return _file(f"{assets.APP_URL}/{name}", "path")
