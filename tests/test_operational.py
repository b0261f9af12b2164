"""Operational basics: request ids and access log, gzip, security headers on HTML, static files only
from their folders, /viewer data behind GIS_READ_REQUIRES_KEY, health endpoints, typed settings."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gis_service.api.app import create_app
from gis_service.config import Settings


@pytest.fixture
def client(embedded_store):
    with TestClient(create_app(Settings(api_keys="v:viewer"), store=embedded_store)) as c:
        yield c


def test_request_id_on_every_answer_and_in_the_access_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="gis_service"):
        logging.getLogger("gis_service").propagate = True
        try:
            r = client.get("/conformance", headers={"X-Request-ID": "abc-123"})
            r2 = client.get("/collections/nope")
        finally:
            logging.getLogger("gis_service").propagate = False
    assert r.headers["x-request-id"] == "abc-123"
    assert len(r2.headers["x-request-id"]) >= 8
    access = [rec for rec in caplog.records if rec.name == "gis_service.access"]
    assert any(rec.path == "/conformance" and rec.status == 200 and rec.duration_ms >= 0 for rec in access)
    assert any(rec.path == "/collections/nope" and rec.status == 404 for rec in access)


def test_gzip_for_large_answers(client):
    r = client.get("/collections/receptors/items?limit=300", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_security_headers_on_html(client):
    r = client.get("/?f=html")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp and "default-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/conformance").headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in client.get("/conformance").headers


def test_vendor_assets_via_static_files_only_from_allowed_packages(client):
    assert client.get("/static/leaflet/leaflet.js").status_code == 200
    r = client.get("/static/vendor/leaflet.markercluster/dist/leaflet.markercluster.js")
    assert r.status_code in (200, 404)  # 404 only when scripts/setup_web_assets.sh has not run
    assert client.get("/static/vendor/@scarf/scarf/report.js").status_code == 404  # not an allowed package
    assert client.get("/static/vendor/jquery/..%2f@scarf%2fscarf%2freport.js").status_code == 404
    assert client.get("/static/vendor/jquery/%2e%2e/%2e%2e/package.json").status_code == 404


def test_viewer_config_needs_a_key_when_reads_do(embedded_store):
    app = create_app(Settings(api_keys="v:viewer", read_requires_key=True), store=embedded_store)
    with TestClient(app) as c:
        r = c.get("/viewer/config.json")
        assert r.status_code == 401 and r.json()["code"] == "Unauthorized"
        assert c.get("/viewer/config.json", headers={"X-API-Key": "v"}).status_code == 200


def test_health_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok", "store": None}
    assert client.get("/readyz").json() == {"status": "ok", "store": "embedded"}


def test_settings_fail_at_start_on_bad_values():
    with pytest.raises(ValidationError, match="db_statement_timeout_s"):
        Settings(db_statement_timeout_s=-1)
    with pytest.raises(ValidationError, match="GIS_RESCUE_STANDARD_MIN"):
        Settings(rescue_standard_min="nonsense:5")
    with pytest.raises(ValidationError, match="GIS_STORE"):
        Settings(store="oracle")
