"""Hostile text is data, everywhere (issue 24, deliverable 1).

Every free-text attribute of every feature of every layer of the sample holds template and markup
payloads — Jinja2 (``{{7*7}}``, ``{% … %}``, ``{# … #}``, a code-execution probe), a JavaScript
template literal (``${7*7}``), HTML (``<script>``, ``<img onerror>``), reportlab paragraph markup (``<font>``, ``<a href>``,
``&amp;``) and matplotlib mathtext (an even number of ``$`` around ``x^``, which its parser refuses) — on both stores; proposals are posted with the same
text. Every map, HTML page, viewer response and PDF must answer 200 and show the text literally:
nothing is evaluated (``S{{7*7}}X`` never becomes ``S49X``), nothing is interpreted as markup.
"""

from __future__ import annotations

import io
import json
import shutil

import orjson
import pytest
from conftest import database_url, load_gpkg_into
from fastapi.testclient import TestClient
from markupsafe import escape

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.maps.elements import js

pypdf = pytest.importorskip("pypdf")

# the longest that fits each attribute's max_length is used (codes are 12 characters at most)
LONG = ("S{{7*7}}X{% if 1 %}I{% endif %}{# c #}${7*7}{{ cycler.__init__.__globals__.os.getpid() }}"
        "<script>alert(1)</script><img src=x onerror=alert(2)><font color=red>F</font><a href=x>L</a>&amp;"
        "$\\alpha$ $x^")  # 198 characters: names hold 200
MEDIUM = "S{{7*7}}X{%if 1%}I{%endif%}{#c#}${7*7}<script>1</script><font color=red>F</font><a href=x>L</a>&amp;$x^$"
SHORT = "S{{7*7}}X<b>"
EVALUATED = "S49X"          # what S{{7*7}}X becomes when a template engine runs it
EDITOR = {"X-API-Key": "edit"}
NOT_FREE_TEXT = {("sensors", "unit")}   # must equal the sensor kind's unit


def payload(max_length: int | None) -> str:
    return next(p for p in (LONG, MEDIUM, SHORT) if max_length is None or len(p) <= max_length)


def free_text(spec):
    return [a for a in spec.attributes
            if a.type == "string" and a.enum is None and a.schema is None and (spec.name, a.name) not in NOT_FREE_TEXT]


def hostile_sample(gpkg, catalog, store) -> None:
    """The sample with every free-text value replaced by a payload (and one hostile substance
    added to every inventory), written into ``store``."""
    import pyogrio

    from gis_service.loading import rows_from_frame

    for spec in catalog:
        frame = pyogrio.read_dataframe(gpkg, layer=spec.name)
        for a in free_text(spec):
            if a.name in frame.columns:
                frame[a.name] = payload(a.max_length)
        if "inventory" in frame.columns:
            frame["inventory"] = [json.dumps([*json.loads(v), {"substance": LONG, "quantity_t": 0.001}])
                                  for v in frame["inventory"]]
        store.replace_all(spec.name, rows_from_frame(spec, frame, keep_ids=True).rows)


@pytest.fixture(scope="module", params=["embedded", "postgis"])
def client(request, sample_gpkg, catalog, tmp_path_factory):
    if request.param == "postgis":
        from gis_service.stores.postgis import PostGISStore

        store = PostGISStore(catalog, database_url(request.getfixturevalue("postgis_url"), "gis_test_hostile"))
        store.drop_all()
    else:
        from gis_service.stores.embedded import EmbeddedStore

        path = tmp_path_factory.mktemp("hostile") / "hostile.gpkg"
        shutil.copyfile(sample_gpkg, path)
        store = EmbeddedStore(catalog, path)
    store.init()
    if request.param == "postgis":
        load_gpkg_into(store, sample_gpkg)
    hostile_sample(sample_gpkg, catalog, store)
    app = create_app(Settings(api_keys="edit:editor"), store=store)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    store.close()


def ok(r, kind: str = ""):
    assert r.status_code == 200, (r.request.url, r.status_code, r.text[:300])
    if kind:
        assert r.headers["content-type"].startswith(kind), r.headers["content-type"]
    return r


def in_script(text: str) -> str:
    """How a payload appears inside the JSON of a map's script: ``<`` as ``\\u003c``, ``\\`` doubled."""
    return js(text)[1:-1]


def assert_map_literal(html: str, *texts: str) -> None:
    assert EVALUATED not in html
    for t in texts:
        assert in_script(t) in html, t


def pdf_text(r) -> str:
    ok(r, "application/pdf")
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    return "".join("".join(p.extract_text().split()) for p in reader.pages)


def compact(text: str) -> str:
    return "".join(text.split())


def first_id(client, layer: str, **params) -> int:
    return ok(client.get(f"/collections/{layer}/items", params={"limit": 1, **params})).json()["features"][0]["id"]


def toxic_source(client) -> int:
    doc = client.get("/collections/hazard_sources/items?limit=400").json()
    return next(f["id"] for f in doc["features"]
                if any(i["substance"] in ("chlorine", "ammonia") for i in f["properties"]["inventory"]))


def proposal(name: str) -> dict:
    x, y = 125.30, 43.95
    return {"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01],
                                                             [x, y + 0.01], [x, y]]]}}


def test_stored_text_comes_back_unchanged(client, catalog):
    for spec in catalog:
        props = ok(client.get(f"/collections/{spec.name}/items", params={"limit": 1})).json()["features"][0]["properties"]
        for a in free_text(spec):
            if props.get(a.name) is not None:
                assert props[a.name] == payload(a.max_length), (spec.name, a.name)


def test_put_through_the_api_keeps_the_text(client):
    fid = first_id(client, "rescue_teams")
    feat = ok(client.get(f"/collections/rescue_teams/items/{fid}")).json()
    feat["properties"]["name"] = MEDIUM + " via PUT"
    r = client.put(f"/collections/rescue_teams/items/{fid}", json=feat, headers=EDITOR)
    assert r.status_code == 204, r.text[:300]
    assert client.get(f"/collections/rescue_teams/items/{fid}").json()["properties"]["name"] == MEDIUM + " via PUT"


def test_html_pages_escape_the_text(client, catalog):
    for path in ("/?f=html", "/collections?f=html", "/conformance?f=html"):
        ok(client.get(path), "text/html")
    for spec in catalog:
        ok(client.get(f"/collections/{spec.name}?f=html"), "text/html")
        page = ok(client.get(f"/collections/{spec.name}/items", params={"f": "html", "limit": 3}), "text/html").text
        assert EVALUATED not in page
        attr = free_text(spec)[0]
        assert str(escape(payload(attr.max_length))) in page, spec.name
        item = ok(client.get(f"/collections/{spec.name}/items/{first_id(client, spec.name)}?f=html"), "text/html").text
        assert str(escape(payload(attr.max_length))) in item and "<script>alert(1)" not in item
    # hostile query text is echoed in links only escaped
    page = ok(client.get("/collections/receptors/items", params={"f": "html", "q": LONG, "limit": 2})).text
    assert "<script>alert(1)" not in page and EVALUATED not in page


def test_catalogue_maps_show_the_text_literally(client, catalog):
    assert_map_literal(ok(client.get("/maps/overview"), "text/html").text, LONG)
    for spec in catalog:
        html = ok(client.get(f"/maps/layer/{spec.name}"), "text/html").text
        assert_map_literal(html, payload(spec.attribute("name").max_length) if spec.has_attribute("name") else "")
    assert_map_literal(ok(client.get("/maps/layer/chemical_parks?download=1")).text, LONG)


def test_analysis_maps_show_the_text_literally(client):
    hid = toxic_source(client)
    assert_map_literal(ok(client.get(f"/maps/exposure/hazard_sources/{hid}")).text, LONG)
    for layer in ("tailings_dams", "goaf_areas"):
        assert_map_literal(ok(client.get(f"/maps/exposure/{layer}/{first_id(client, layer)}")).text, LONG)
    assert_map_literal(ok(client.get("/maps/rescue", params={"lon": 126.55, "lat": 43.85, "incident": "chemical",
                                                              "by": "time"})).text, LONG)
    park = first_id(client, "chemical_parks")
    assert_map_literal(ok(client.get(f"/maps/siting/{park}")).text, LONG)
    assert_map_literal(ok(client.post("/maps/siting", json=proposal(LONG))).text, LONG)
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [124.3, 42.6]},
             "properties": {"name": "SSTI{{7*7}}X"}}
    html = ok(client.post("/maps/siting", json=point)).text  # the issue's reproducer
    assert "SSTI49X" not in html and "SSTI{{7*7}}X" in html
    assert_map_literal(ok(client.get(f"/maps/risk/hazard_sources/{hid}")).text, LONG)
    assert_map_literal(ok(client.get("/maps/risk", params={"park_id": park, "resolution_m": 50})).text, LONG)


def test_viewer_and_analysis_json_carry_the_text(client):
    for path in ("/viewer/config.json", "/viewer/basemap/admin_areas", "/viewer/basemap/roads"):
        body = ok(client.get(path)).text
        assert EVALUATED not in body
    assert payload(200) in json.loads(client.get("/viewer/basemap/admin_areas").text)["props"]["name"]["dict"]
    up = ok(client.post("/viewer/proposal", files={"file": ("p.geojson", orjson.dumps(proposal(LONG)),
                                                            "application/geo+json")})).json()
    assert up["properties"]["name"] == LONG
    assert ok(client.post("/analysis/siting", json=proposal(LONG))).json()["proposal"]["name"] == LONG
    park = first_id(client, "chemical_parks")
    assert ok(client.get(f"/analysis/siting/{park}")).json()["proposal"]["name"] == LONG
    hid = toxic_source(client)
    for path in (f"/analysis/exposure/hazard_sources/{hid}", f"/analysis/risk/individual/hazard_sources/{hid}",
                 "/analysis/rescue/nearest?lon=126.55&lat=43.85&incident=chemical",
                 "/monitoring/sensors", "/analysis/rescue/coverage"):
        assert EVALUATED not in ok(client.get(path)).text


def test_pdf_reports_print_the_text_literally(client):
    want = compact(LONG)
    hid = toxic_source(client)
    park = first_id(client, "chemical_parks")
    texts = {
        "siting": pdf_text(client.get(f"/reports/siting/{park}.pdf")),
        "siting proposal": pdf_text(client.post("/reports/siting", json=proposal(LONG))),
        "exposure": pdf_text(client.get(f"/reports/exposure/hazard_sources/{hid}.pdf")),
        "risk": pdf_text(client.get(f"/reports/risk/hazard_sources/{hid}.pdf")),
        "risk park": pdf_text(client.get("/reports/risk.pdf", params={"park_id": park, "resolution_m": 50})),
        "rescue": pdf_text(client.get("/reports/rescue.pdf", params={"lon": 126.55, "lat": 43.85,
                                                                      "incident": "chemical"})),
    }
    for name, text in texts.items():
        assert want in text, (name, text[:400])
        assert "<fontcolor=red>F</font>" in text and "&amp;" in text, name


def test_map_images_draw_names_as_text(client):
    """Report map images label admin areas with their names: a ``$`` in a name is text, not mathtext
    (``$x^$`` makes matplotlib's mathtext parser raise)."""
    from gis_service.reports.mapimage import render_png

    layers = client.app.state.services.layers
    x0, y0, x1, y1 = layers.extent("admin_areas")
    cover = {"type": "Feature", "properties": {"role": "proposal"},
             "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}}
    assert render_png({"type": "FeatureCollection", "features": [cover]}, layers).startswith(b"\x89PNG")
