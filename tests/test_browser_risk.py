"""The risk map in Debian's Chromium (Playwright, no network): nested IR contour polygons drawn, the inline SVG
F-N chart visible beside the map, nothing requested from outside localhost, no console error."""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_browser_maps import browser, server, watched  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _toxic_source(url: str) -> int:
    doc = json.loads(urllib.request.urlopen(f"{url}/collections/hazard_sources/items?limit=400").read())
    for f in doc["features"]:
        if any(i["substance"] in ("chlorine", "ammonia") for i in f["properties"]["inventory"]):
            return f["id"]
    raise AssertionError("no chlorine or ammonia source in the sample")


def test_risk_map_draws_contours_and_fn_chart(watched, server):  # noqa: F811
    fid = _toxic_source(server.url)
    page = watched.page
    page.goto(f"{server.url}/maps/risk/hazard_sources/{fid}", wait_until="networkidle")
    page.wait_for_selector(".leaflet-overlay-pane path")
    fc = json.loads(urllib.request.urlopen(f"{server.url}/analysis/risk/individual/hazard_sources/{fid}").read())
    assert page.locator(".leaflet-overlay-pane path").count() >= len(fc["features"]) >= 1
    chart = page.locator(".risk-fn-chart svg")
    chart.wait_for()
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 150
    assert "F-N" in chart.inner_html()
    watched.shot("risk_map")
    watched.check_clean()
