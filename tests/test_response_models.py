"""Every route declares what it answers (issue 23): a JSON route its response model, so /docs and the
OpenAPI document describe the body; a route answering something else (a PDF, an HTML page, a file, an event
stream, or no body) is listed below with why, and declares its ``response_class`` and ``responses``."""

from __future__ import annotations

import pytest
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from fastapi.routing import APIRoute, iter_route_contexts

from gis_service.api.app import create_app
from gis_service.config import Settings

# (method, path) → the media type it answers instead of JSON
NOT_JSON: dict[tuple[str, str], str] = {
    ("PUT", "/collections/{layer}/items/{fid}"): "",          # 204, no body
    ("DELETE", "/collections/{layer}/items/{fid}"): "",       # 204, no body
    ("GET", "/maps/overview"): "text/html",
    ("GET", "/maps/layer/{layer}"): "text/html",
    ("GET", "/maps/exposure/{layer}/{fid}"): "text/html",
    ("GET", "/maps/rescue"): "text/html",
    ("GET", "/maps/siting/{park_id}"): "text/html",
    ("POST", "/maps/siting"): "text/html",
    ("GET", "/maps/risk/{layer}/{fid}"): "text/html",
    ("GET", "/maps/risk"): "text/html",
    ("GET", "/viewer"): "text/html",
    ("GET", "/reports/siting/{park_id}.pdf"): "application/pdf",
    ("POST", "/reports/siting"): "application/pdf",
    ("GET", "/reports/exposure/{layer}/{fid}.pdf"): "application/pdf",
    ("GET", "/reports/rescue.pdf"): "application/pdf",
    ("GET", "/reports/risk/{layer}/{fid}.pdf"): "application/pdf",
    ("GET", "/reports/risk.pdf"): "application/pdf",
    ("GET", "/incidents/{incident_id}/report.pdf"): "application/pdf",
    ("GET", "/reports/brief.pdf"): "application/pdf",
    ("GET", "/reports/brief/{layer}/{fid}.pdf"): "application/pdf",
    ("GET", "/reports/alarm/{alarm_id}.pdf"): "application/pdf",
    ("GET", "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"):
        "application/vnd.mapbox-vector-tile",
    ("GET", "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"): "application/vnd.mapbox-vector-tile",
    ("GET", "/basemap/{z}/{x}/{y}"): "image/png",              # the local basemap file's raster tiles
    ("GET", "/monitoring/alarms/stream"): "text/event-stream",
    ("GET", "/incidents/stream"): "text/event-stream",
}
NOT_JSON_CLASSES = (HTMLResponse, FileResponse, StreamingResponse)


def _routes() -> list[tuple[str, str, APIRoute]]:
    app = create_app(Settings())
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            out += [(m, ctx.path_format or route.path_format, route) for m in sorted(ctx.methods or route.methods)]
    return out


ROUTES = _routes()


def test_the_walk_sees_every_router():
    paths = {p for _, p, _ in ROUTES}
    assert len(ROUTES) >= 60
    assert {"/collections/{collectionId}/items", "/analysis/rescue/nearest", "/analysis/siting/{park_id}",
            "/analysis/risk/societal", "/monitoring/alarms", "/reports/risk.pdf"} <= paths


@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_route_declares_its_answer(method, path, route):
    if (method, path) not in NOT_JSON:
        assert route.response_model is not None, f"{method} {path}: declare response_model= (or list it in NOT_JSON)"
        return
    media = NOT_JSON[(method, path)]
    rc = getattr(route.response_class, "value", route.response_class)  # DefaultPlaceholder → its class
    if media == "":
        assert route.status_code == 204 and rc is Response, f"{method} {path}: a body-less answer is a 204"
        return
    assert route.response_model is None
    assert isinstance(rc, type) and (issubclass(rc, NOT_JSON_CLASSES) or rc is Response), (method, path, rc)
    documented = route.responses.get(200, route.responses.get("200", {})).get("content", {})
    assert media in documented, f"{method} {path}: responses= must document the {media} answer"


def test_openapi_describes_every_json_answer():
    doc = create_app(Settings()).openapi()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if (method.upper(), path) in NOT_JSON:
                continue
            ok = next((op["responses"][s] for s in ("200", "201") if s in op["responses"]), None)
            assert ok is not None, (method, path)
            schemas = [c.get("schema") for c in ok.get("content", {}).values()]
            assert any(schemas), f"{method.upper()} {path}: no schema for its answer"
