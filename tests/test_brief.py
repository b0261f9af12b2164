"""The one-page brief (简报): ``/reports/brief.pdf``, ``/reports/brief/{layer}/{id}.pdf`` and
``/reports/alarm/{id}.pdf``. Each is exactly one A4 page whose text (pypdf) holds the zones with their
true reach, the teams with their ETA against the standard, Beijing time and a document number; every font
is embedded; user text is escaped for reportlab; bad input is a 4xx."""

from __future__ import annotations

import io
import re
import shutil
import time

import pytest
from fastapi.testclient import TestClient

from gis_service.analysis.consequence.results import ZoneProperties
from gis_service.analysis.rescue.results import NearestTeams
from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.reports import brief, stamp
from gis_service.services.monitoring import DecisionPackage
from gis_service.stores.embedded import EmbeddedStore

pypdf = pytest.importorskip("pypdf")
A4 = (595.27, 841.89)
KEY = "brief-sensor"


@pytest.fixture(scope="module")
def client(sample_gpkg, catalog, tmp_path_factory):
    path = tmp_path_factory.mktemp("brief") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    settings = Settings(store="embedded", gpkg_path=str(path), basemap_url="", api_keys=f"{KEY}:sensor",
                        read_requires_key=False)
    with TestClient(create_app(settings, store)) as c:
        yield c


def _one_page(resp) -> tuple[str, pypdf.PdfReader]:
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(resp.content))
    assert len(reader.pages) == 1                                            # exactly one page …
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4, abs=1)   # … of A4
    return " ".join(reader.pages[0].extract_text().split()), reader


def _fonts_embedded(reader) -> None:
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        f = ref.get_object()
        descendants = f.get("/DescendantFonts")
        desc = (descendants[0].get_object() if descendants else f).get("/FontDescriptor")
        assert desc is not None, f
        d = desc.get_object()
        assert any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")), f"font not embedded: {f.get('/BaseFont')}"


def _teams(client, q):
    fc = client.get(f"/analysis/rescue/nearest?{q}&by=time").json()
    return [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "team"]


def test_brief_of_a_hazard_holds_zones_teams_and_beijing_time(client):
    q = "wind_dir_deg=270&wind_speed_m_s=3&stability=D"
    text, reader = _one_page(client.get(f"/reports/brief/hazard_sources/1.pdf?{q}"))
    _fonts_embedded(reader)
    assert len(reader.pages[0].images) >= 1                                   # the map
    fc = client.get(f"/analysis/exposure/hazard_sources/1?receptors=true&{q}").json()
    zones = [f["properties"] for f in fc["features"] if f["properties"].get("feature_type") == "zone"]
    compact = text.replace(" ", "")
    shown = zones if len(zones) <= brief.MAX_ZONES else [z for z in zones if z["level"] == "red"]
    for z in shown:                                                           # every zone, or the red ones first
        assert z["label_zh"] in compact, z["label_zh"]
    if len(zones) > brief.MAX_ZONES:
        assert f"另 {len(zones) - brief.MAX_ZONES} 个".replace(" ", "") in compact
    # the true reach of a zone drawn short of its level is printed, not only in the notes
    truncated = [z for z in zones if z.get("truncated") and z.get("true_distance_m")]
    for z in truncated:
        assert brief.zone_reach(ZoneProperties.model_validate(z)).split("（")[0].replace(" ", "") in compact
    rescue = client.get("/analysis/rescue/nearest/hazard_sources/1?by=time&k=5").json()
    for t in [f["properties"] for f in rescue["features"] if f["properties"]["kind"] == "team"]:
        assert t["name"].replace(" ", "") in compact
    assert "北京时间" in text and "UTC+8" in text and "UTC " not in text
    assert re.search(r"RM-BRIEF-\d{8}-\d{4}-[0-9a-f]{6}", text)
    assert "数据截至" in text and "第1/1页" in compact
    assert "风从windfrom270°" in compact                                      # the scenario in words …
    assert "{'" not in text and "':" not in text                              # … never a raw dict


def test_brief_at_a_point_with_a_what_if_release(client):
    q = "lon=126.55&lat=43.85&incident=chemical&substance=chlorine&quantity_t=20&wind_dir_deg=45"
    text, reader = _one_page(client.get(f"/reports/brief.pdf?{q}"))
    compact = text.replace(" ", "")
    assert "毒气扩散红区" in compact and "chlorine" in text
    for t in _teams(client, "lon=126.55&lat=43.85&incident=chemical&k=5"):
        assert t["name"].replace(" ", "") in compact
        assert f"/ {t['standard_min']:g} min".replace(" ", "") in compact
    # teams only, no release
    text2, _ = _one_page(client.get("/reports/brief.pdf?lon=126.55&lat=43.85&incident=fire"))
    assert "无释放情景" in text2 and "暴露人口" not in text2


def test_brief_stays_one_page_with_many_rows(client):
    """The biggest answer the sample gives (all kinds, 50 teams) still prints on one page."""
    text, _ = _one_page(client.get("/reports/brief/hazard_sources/1.pdf?k=50"))
    assert "另" in text or "more" in text or len(text) > 100


def test_brief_bad_input_is_a_clear_4xx(client):
    r = client.get("/reports/brief.pdf?lon=100.0&lat=30.0&incident=chemical")
    assert r.status_code == 400 and "extent" in r.text                       # outside the data
    r = client.get("/reports/brief.pdf?lon=126.55&lat=43.85&substance=chlorine")
    assert r.status_code == 400 and "quantity_t" in r.text                   # half a what-if
    r = client.get("/reports/brief.pdf?lon=126.55&lat=43.85&substance=unobtainium&quantity_t=3")
    assert 400 <= r.status_code < 500
    assert client.get("/reports/brief/hazard_sources/999999.pdf").status_code == 404
    assert client.get("/reports/brief/roads/1.pdf").status_code in (400, 404)
    assert client.get("/reports/alarm/987654321.pdf").status_code == 404
    assert client.get("/reports/brief.pdf?lon=126.55&lat=43.85&wind_dir_deg=400").status_code == 400


def test_user_text_is_escaped_for_reportlab(client):
    """A feature name with reportlab paragraph markup prints as text (no markup parsed, no crash)."""
    hostile = '<font size="40">X</font><b>&amp; <a href="javascript:alert(1)">y</a>'
    doc = client.get("/analysis/rescue/nearest?lon=126.55&lat=43.85&incident=chemical&by=time&k=1").json()
    doc["features"][0]["properties"]["name"] = hostile
    fc = NearestTeams.model_validate(doc)
    from gis_service.reports.fonts import cjk_font

    data = brief.render_brief(brief.Brief(title=hostile, place=hostile, doc_no="RM-TEST", rescue=fc), None, cjk_font())
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert '<font size="40">' in text.replace("\n", "") or "<font" in text


def test_alarm_brief_has_the_reading_its_history_and_the_package(client):
    sensors = client.get("/monitoring/sensors").json()["features"]
    gas = next(f for f in sensors if f["properties"].get("kind") in ("toxic_gas", "gas", "chlorine")
               or "gas" in str(f["properties"].get("kind")))
    sid = gas["id"]
    th = client.get(f"/monitoring/sensors/{sid}/readings").json()["thresholds"]
    high = th.get("high_high") or th.get("high")
    now = time.time()
    rows = [{"sensor_id": sid, "time": now - 300 + i * 60, "value": high * (0.5 + 0.5 * i)} for i in range(4)]
    r = client.post("/monitoring/readings", json={"readings": rows}, headers={"X-API-Key": KEY})
    assert r.status_code in (200, 202), r.text
    alarms = client.get(f"/monitoring/alarms?status=live&sensor_id={sid}").json()["alarms"]
    assert alarms, "the readings raised no alarm"
    aid = alarms[0]["id"]
    text, reader = _one_page(client.get(f"/reports/alarm/{aid}.pdf"))
    compact = text.replace(" ", "")
    assert f"报警alarm#{aid}" in compact and "经过history" in compact and "RM-ALARM-" in text
    assert len(reader.pages[0].images) >= 2                                   # the map and the series
    pkg = client.get(f"/monitoring/alarms/{aid}").json()
    typed = DecisionPackage.model_validate(pkg)                               # what the brief reads
    assert typed.scenario.wind_source == pkg["scenario"]["wind_source"] and typed.notes == pkg["notes"]
    assert [t.name for t in (typed.rescue.teams if typed.rescue else [])] == \
        [f["properties"]["name"] for f in (pkg.get("rescue") or {}).get("features", []) if f["properties"]["kind"] == "team"]
    exposure = pkg.get("exposure")
    assert (typed.exposure is None) == (exposure is None)
    if exposure:                                                              # the package's zones, typed
        assert typed.exposure is not None and typed.exposure.metadata.exposure.total_population == \
            exposure["metadata"]["exposure"]["total_population"]
        assert f"暴露人口exposedpopulation{exposure['metadata']['exposure']['total_population']}" in compact
    for t in [f["properties"] for f in (pkg.get("rescue") or {}).get("features", []) if f["properties"]["kind"] == "team"]:
        assert t["name"].replace(" ", "") in compact


def test_beijing_time_and_revision_times():
    from datetime import UTC, datetime

    assert stamp.beijing(datetime(2026, 12, 4, 17, 30, tzinfo=UTC)) == "2026-12-05 01:30 北京时间 (UTC+8)"
    assert stamp.revision_time(5) is None
    assert stamp.revision_time(1_764_869_400_000_000).year == 2025
    assert re.fullmatch(r"RM-BRIEF-\d{8}-\d{4}-[0-9a-f]{6}", stamp.doc_number("brief", "x"))
