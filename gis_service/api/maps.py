"""Interactive maps (Folium/Leaflet HTML) of the layers and of each analysis result.

Every map works offline (assets served by this service) and downloads as one standalone HTML file
with ``?download=1`` (scripts, styles, icons and fonts inlined; opens from disk with no server).
"""

from __future__ import annotations

import re
from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..analysis.consequence.params import ScenarioParams
from ..analysis.rescue.inputs import MAX_K, parse_minutes
from ..maps.base import EMBED_LIMIT
from ..services.container import Services
from .deps import Reader, Svc
from .errors import ApiError
from .exposure import scenario_query
from .params import MAX_ANALYSIS_BODY_BYTES, NO_NUL, FeatureId, geojson_body
from .schemas import HTML_PAGE, GridCounts
from .siting import PROPOSAL_DOC, read_limited_body

router = APIRouter(prefix="/maps", tags=["Maps 地图"])

DOWNLOAD = Query(False, description="1/true: a standalone HTML file (all assets inlined) as an attachment")
EMBED = Query(EMBED_LIMIT, ge=0, le=EMBED_LIMIT,
              description="layers with more features than this are not embedded: grid counts, loaded by bbox")


def html_response(svc: Services, m, name: str, download: bool) -> HTMLResponse:
    html = svc.maps.html(m, standalone=download)
    headers = {}
    if download:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "map"
        headers["Content-Disposition"] = f'attachment; filename="{safe}.html"'
    return HTMLResponse(html, headers=headers)


def _layers_param(svc: Services, layers: str | None) -> list[str] | None:
    if not layers:
        return None
    names = [n.strip() for n in layers.split(",") if n.strip()]
    catalog = svc.layers.catalog
    unknown = [n for n in names if n not in catalog]
    if unknown:
        raise ApiError(400, "layers", f"unknown layer(s) {', '.join(unknown)}; known: {', '.join(catalog.names())}")
    return names


@router.get("/overview", responses=HTML_PAGE, response_class=HTMLResponse, summary="Overview map of all layers 总览图")
def overview(layers: str | None = Query(None, max_length=2000, pattern=NO_NUL, description="comma-separated layer names (default: all)"),
             download: bool = DOWNLOAD, embed_limit: int = EMBED, svc: Services = Svc, _=Reader):
    """All risk layers with legend, layer control and popups (Chinese labels, units). Dense point
    layers are clustered; layers above the embed limit show grid counts and load by bbox."""
    m = svc.maps.overview(_layers_param(svc, layers), live=not download, embed_limit=embed_limit)
    return html_response(svc, m, "overview", download)


@router.get("/layer/{layer}", responses=HTML_PAGE, response_class=HTMLResponse, summary="Map of one layer 图层地图")
def layer(layer: str, download: bool = DOWNLOAD, embed_limit: int = EMBED, svc: Services = Svc, _=Reader):
    m = svc.maps.layer(layer, live=not download, embed_limit=embed_limit)
    return html_response(svc, m, f"layer_{layer}", download)


@router.get("/aggregate/{layer}", response_model=GridCounts, summary="Grid counts of a layer (for large-layer maps and the viewer)")
def aggregate(layer: str, svc: Services = Svc, _=Reader):
    """``{"cell": size in degrees, "cells": [[lon, lat, count], ...], "total": n}`` — features per grid
    cell (by representative point) over the layer's extent."""
    return Response(orjson.dumps(svc.layers.aggregate(layer)), media_type="application/json")


@router.get("/exposure/{layer}/{fid}", responses=HTML_PAGE, response_class=HTMLResponse, summary="Exposure map 暴露分析图")
def exposure_map(layer: str, fid: FeatureId, params: ScenarioParams = Depends(scenario_query), download: bool = DOWNLOAD,
                 svc: Services = Svc, _=Reader):
    """Zones of a hazard source, tailings dam or goaf area coloured red/orange/yellow, receptors inside
    highlighted, the zone table and the model assumptions beside the map. Scenario parameters as in
    ``GET /analysis/exposure/{layer}/{id}``."""
    return html_response(svc, svc.maps.exposure(layer, fid, params), f"exposure_{layer}_{fid}", download)


@router.get("/rescue", responses=HTML_PAGE, response_class=HTMLResponse, summary="Nearest rescue teams map 救援队伍图")
def rescue_map(lon: float = Query(..., ge=-180, le=180, allow_inf_nan=False,
                                  description="incident longitude (WGS84)"),
               lat: float = Query(..., ge=-90, le=90, allow_inf_nan=False, description="incident latitude (WGS84)"),
               incident: str = Query(..., max_length=200, pattern=NO_NUL,
                                     description="incident type(s), as in /analysis/rescue/nearest"),
               k: int = Query(5, ge=1, le=MAX_K, description="number of teams"),
               by: Literal["distance", "time"] = Query("distance", description="distance | time (road travel "
                                                       "time, with routes)"),
               isochrones: str | None = Query(None, max_length=200, pattern=NO_NUL,
                                              description="minutes, e.g. 10,20,30: areas the nearest "
                                              "(up to 3) teams reach"),
               download: bool = DOWNLOAD, svc: Services = Svc, _=Reader):
    minutes = parse_minutes(isochrones, "isochrones") if isochrones else None
    m = svc.maps.rescue(lon, lat, incident, k=k, by=by, isochrone_minutes=minutes)
    return html_response(svc, m, "rescue", download)


@router.get("/siting/{park_id}", responses=HTML_PAGE, response_class=HTMLResponse, summary="Siting check map of a park 园区选址图")
def siting_park_map(park_id: FeatureId, rule_set: str | None = Query(None, max_length=200, pattern=NO_NUL,
                                                  description="rule set name (rules/*.yaml)"),
                    download: bool = DOWNLOAD, svc: Services = Svc, _=Reader):
    return html_response(svc, svc.maps.siting_park(park_id, rule_set), f"siting_park_{park_id}", download)


@router.post("/siting", responses=HTML_PAGE, response_class=HTMLResponse, summary="Siting check map of a proposal 拟选址检查图",
             openapi_extra=geojson_body(False, PROPOSAL_DOC, MAX_ANALYSIS_BODY_BYTES))
async def siting_proposal_map(request: Request,
                              kind: Literal["park", "installation"] | None = Query(
                                  None, description="park | installation"),
                              rule_set: str | None = Query(None, max_length=200, pattern=NO_NUL,
                                                  description="rule set name (rules/*.yaml)"),
                              download: bool = DOWNLOAD, svc: Services = Svc, _=Reader):
    """Body: a GeoJSON Feature (Polygon/MultiPolygon/Point), as for ``POST /analysis/siting``."""
    body = await read_limited_body(request)
    from starlette.concurrency import run_in_threadpool

    def work() -> HTMLResponse:
        m = svc.maps.siting_proposal(body, kind, rule_set)
        return html_response(svc, m, "siting_proposal", download)

    return await run_in_threadpool(work)
