"""The local basemap file's tiles: ``GET /basemap/{z}/{x}/{y}`` (XYZ addressing, rows from the north, as Leaflet
asks), read from the MBTiles/PMTiles file of ``GIS_BASEMAP_FILE`` (checked at start-up). A tile outside the file's
zooms or extent is 404 (Leaflet then leaves that square empty); an address off the tile matrix is 400 naming the
parameter. ``ETag`` (the file's size and time plus the address) with ``If-None-Match`` → 304.

Like the viewer's page and scripts the tiles need no key: a map's ``<img>`` tiles cannot send one, and a street
basemap holds none of the service's regulated data."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam

from ..basemaps.archive import RASTER
from ..services.basemaps import BadTileAddress, NoTile
from ..services.container import Services
from .deps import Svc
from .errors import ApiError

router = APIRouter(tags=["Viewer"])
Z = PathParam(ge=-(2**31), le=2**31, description="zoom level")
X = PathParam(ge=-(2**62), le=2**62, description="tile column (from the west)")
Y = PathParam(ge=-(2**62), le=2**62, description="tile row (from the north, XYZ; the MBTiles TMS row is flipped)")
CACHE = "public, max-age=3600"


@router.get("/basemap/{z}/{x}/{y}", summary="A tile of the local basemap file (MBTiles/PMTiles)",
            response_class=Response,
            responses={200: {"content": {m: {} for m in sorted(set(RASTER.values()))},
                             "description": "the raster tile, as stored in the file"},
                       304: {"description": "not modified (If-None-Match)"},
                       404: {"description": "no tile there, or no GIS_BASEMAP_FILE configured"}})
def basemap_tile(request: Request, z: int = Z, x: int = X, y: int = Y, svc: Services = Svc):
    try:
        etag = svc.basemaps.etag(z, x, y)
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE})
        tile = svc.basemaps.tile(z, x, y)
    except BadTileAddress as exc:
        raise ApiError(400, exc.field, str(exc)) from None
    except NoTile as exc:
        raise ApiError(404, "tile", str(exc), code="NotFound") from None
    return Response(tile.body, media_type=tile.media_type, headers={"ETag": tile.etag, "Cache-Control": CACHE})
