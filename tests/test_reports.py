"""PDF reports: each endpoint returns a PDF whose extracted text (pypdf) holds the verdict or the
zone names in Chinese, whose map image is embedded, and whose rows match the analysis API's answer."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.reports import pdf
from gis_service.stores.embedded import EmbeddedStore

pypdf = pytest.importorskip("pypdf")


@pytest.fixture(scope="module")
def client(sample_gpkg, catalog, tmp_path_factory):
    import shutil

    path = tmp_path_factory.mktemp("reports") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    settings = Settings(store="embedded", gpkg_path=str(path), basemap_url="", api_keys="",
                        read_requires_key=False)
    with TestClient(create_app(settings, store)) as c:
        yield c


def _pdf(resp) -> tuple[str, int]:
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(resp.content))
    text = "".join(p.extract_text() for p in reader.pages)
    images = sum(len(p.images) for p in reader.pages)
    return " ".join(text.split()), images


def test_siting_park_report_states_verdict_and_every_rule(client):
    fc = client.get("/analysis/siting/1?f=geojson").json()
    text, images = _pdf(client.get("/reports/siting/1.pdf"))
    verdict_zh = fc["metadata"]["verdict_label"]["zh"]
    assert f"结论 Verdict: {verdict_zh}" in text
    assert images >= 1                                           # the map
    compact = text.replace(" ", "")
    for rule in fc["metadata"]["rules"]:
        assert rule["id"].replace(" ", "") in compact              # every rule, by id …
        assert rule["description"]["zh"][:8] in compact          # … and by its Chinese text
    assert "测得值" in text and "阈值" in text and "依据" in text and "证据" in text


def test_siting_proposal_report(client):
    x, y = 126.62, 43.80
    feature = {"type": "Feature", "properties": {"name": "测试方案"},
               "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.02, y], [x + 0.02, y + 0.015],
                                                                [x, y + 0.015], [x, y]]]}}
    direct = client.post("/analysis/siting?kind=park", json=feature).json()
    text, images = _pdf(client.post("/reports/siting?kind=park", json=feature))
    assert "测试方案" in text and images >= 1
    assert direct["verdict_label"]["zh"] in text


def test_siting_report_refuses_bad_body(client):
    r = client.post("/reports/siting", content=b"{not json")
    assert r.status_code == 400 and r.json()["problems"]


def test_exposure_report_lists_zones_and_receptors(client):
    q = "wind_dir_deg=270&wind_speed_m_s=3&stability=D"
    fc = client.get(f"/analysis/exposure/hazard_sources/1?receptors=true&{q}").json()
    text, images = _pdf(client.get(f"/reports/exposure/hazard_sources/1.pdf?{q}"))
    assert images >= 1
    zones = [f["properties"] for f in fc["features"] if f["properties"].get("feature_type") == "zone"]
    assert zones
    compact = text.replace(" ", "")
    for z in zones:
        assert z["label_zh"] in compact
    for r in [f["properties"] for f in fc["features"] if f["properties"].get("feature_type") == "receptor"]:
        assert r["name"].replace(" ", "") in compact
    assert "stability=D" in text and "假设 Assumptions" in text and "局限 Limitations" in text


def test_exposure_report_names_a_bad_parameter(client):
    r = client.get("/reports/exposure/hazard_sources/1.pdf?stability=Z")
    assert r.status_code == 400 and "stability" in r.text


def test_rescue_report_shows_teams_and_standards(client):
    q = "lon=126.55&lat=43.85&incident=chemical&k=4"
    fc = client.get(f"/analysis/rescue/nearest?{q}&by=time").json()
    text, images = _pdf(client.get(f"/reports/rescue.pdf?{q}"))
    assert images >= 1
    teams = [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "team"]
    met = sum(1 for t in teams if t["meets_standard"] is True)
    assert f"{met}/{len(teams)} 支队伍达到到达标准" in text
    compact = text.replace(" ", "")
    for t in teams:
        assert t["name"].replace(" ", "") in compact
    assert "道路时间" in text and "到达标准" in text and ("未达标" in text or met == len(teams))


def test_rescue_report_names_a_bad_incident(client):
    r = client.get("/reports/rescue.pdf?lon=126.55&lat=43.85&incident=volcano")
    assert r.status_code == 400 and "incident" in r.text


@pytest.mark.parametrize("driver,suffix", [("ESRI Shapefile", ".zip"), ("GPKG", ".gpkg"), ("GeoJSON", ".geojson")])
def test_proposal_upload_reads_shapefile_geopackage_geojson(client, tmp_path, driver, suffix):
    """The viewer's upload: a proposal in CGCS2000 / Gauss–Krüger (EPSG:4547) comes back as WGS84."""
    import zipfile

    import geopandas as gpd
    from shapely.geometry import Polygon

    x, y = 126.62, 43.80
    poly = Polygon([(x, y), (x + 0.02, y), (x + 0.02, y + 0.015), (x, y + 0.015)])
    frame = gpd.GeoDataFrame({"name": ["上传方案"]}, geometry=[poly], crs=4326)
    if driver != "GeoJSON":
        frame = frame.to_crs(4547)
    out = tmp_path / ("p.shp" if suffix == ".zip" else f"p{suffix}")
    frame.to_file(out, driver=driver)
    if suffix == ".zip":
        data = tmp_path / "p.zip"
        with zipfile.ZipFile(data, "w") as z:
            for part in tmp_path.glob("p.*"):
                if part.suffix != ".zip":
                    z.write(part, part.name)
        out = data
    r = client.post("/viewer/proposal", files={"file": (out.name, out.read_bytes())})
    assert r.status_code == 200, r.text
    feature = r.json()
    assert feature["properties"]["name"] == "上传方案"
    from shapely.geometry import shape

    assert shape(feature["geometry"]).symmetric_difference(poly).area < 1e-10
    assert client.post("/analysis/siting?kind=park", json=feature).status_code == 200


def test_proposal_upload_refuses_bad_files(client):
    r = client.post("/viewer/proposal", files={"file": ("x.txt", b"hello")})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "file"
    r = client.post("/viewer/proposal", files={"file": ("x.gpkg", b"not a geopackage")})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "file"


def test_a_cell_longer_than_a_page_is_cut_and_says_so():
    """reportlab cannot split inside a table row: a row taller than a page used to raise LayoutError (a 500
    for park 1, whose QRA notes list a warning per installation). The cell is cut, and says so."""
    from gis_service.reports import pdf

    long_text = "安全距离不足 IR above its criterion; " * 400
    report = pdf.Report(title="长单元格 long cell", sections=[pdf.Section(
        heading="规则 rules", table=pdf.Table(columns=[f"c{i}" for i in range(7)],
                                             rows=[[long_text] * 7, ["短 short"] * 7]))])
    data = pdf.render(report)
    assert data.startswith(b"%PDF")
    assert pdf.fit_cell(long_text, 70.0).endswith(pdf.CUT_NOTE)
    assert pdf.fit_cell("短 short", 70.0) == "短 short"


def _toxic_source(client) -> int:
    doc = client.get("/collections/hazard_sources/items?limit=400").json()
    return next(f["id"] for f in doc["features"]
                if any(i["substance"] in ("chlorine", "ammonia") for i in f["properties"]["inventory"]))


def test_risk_report_has_contours_targets_and_fn_chart(client):
    fid = _toxic_source(client)
    doc = client.get(f"/analysis/risk/individual/hazard_sources/{fid}?societal=true").json()
    fn = doc["metadata"]["societal"]
    assert fn == client.get(f"/analysis/risk/societal/hazard_sources/{fid}").json() | {
        k: fn[k] for k in ("parameters",)}                          # the same F-N document as the societal API
    text, images = _pdf(client.get(f"/reports/risk/hazard_sources/{fid}.pdf"))
    assert images >= 2                                           # the contour map and the F-N chart
    compact = text.replace(" ", "")
    assert "定量风险评价报告" in compact and "社会风险" in compact and "GB36894" in compact
    assert fn["assessment"]["region_zh"] in compact
    for f in doc["features"]:                                     # every contour level, by its Chinese label
        assert pdf.plain_superscripts(f["properties"]["label_zh"]).replace(" ", "")[:14] in compact
    for t in doc["metadata"]["receptors"][:5]:                    # protection targets, with their IR
        assert f"{t['ir_per_year']:.2e}" in compact


def test_risk_report_of_a_park_and_bad_input(client):
    text, images = _pdf(client.get("/reports/risk.pdf", params={"park_id": 1, "resolution_m": 50}))
    assert images >= 2 and "社会风险" in text.replace(" ", "")
    assert client.get("/reports/risk.pdf", params={"park_id": 999999}).status_code == 404
    r = client.get("/reports/risk/receptors/1.pdf")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "layer"


def test_siting_report_of_a_park_shows_its_fn_chart(client):
    fc = client.get("/analysis/siting/1?f=geojson").json()
    qra_rules = [r for r in fc["metadata"]["rules"] if isinstance(r.get("societal"), dict)]
    assert qra_rules, "the park rule set's external-safety rule runs a QRA with an F-N curve"
    text, images = _pdf(client.get("/reports/siting/1.pdf"))
    assert images >= 1 + len(qra_rules)                          # the map, then one F-N chart per QRA rule
    compact = text.replace(" ", "")
    for r in qra_rules:
        assert f"社会风险Societalrisk(F-N)—{r['id']}".replace(" ", "") in compact
        assert r["societal"]["assessment"]["region_zh"] in compact
