"""QRA over HTTP on the Jilin sample, both engines: individual-risk contours (installation and park), F-N curve,
risk map with its inline SVG chart, and bad input → 4xx naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_exposure import sample_pair

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.maps import assets
from gis_service.stores.base import Query


@pytest.fixture(scope="session")
def qra_stores(postgis_url, sample_gpkg, catalog, tmp_path_factory):
    yield from sample_pair(postgis_url, sample_gpkg, catalog, tmp_path_factory, "gis_test_risk_api_qra")


@pytest.fixture(params=["embedded", "postgis"])
def client(request, qra_stores):
    return TestClient(create_app(Settings(), qra_stores[request.param]))


def _toxic_source(store) -> int:
    for f in store.items("hazard_sources", Query(limit=400)).features:
        if any(i["substance"] in ("chlorine", "ammonia") for i in f.properties["inventory"]):
            return f.id
    raise AssertionError("the sample has no chlorine or ammonia source")


def _problem(resp, status=400):
    assert resp.status_code == status, resp.text
    return resp.json()["problems"][0]


def test_individual_risk_of_an_installation(client, qra_stores):
    fid = _toxic_source(qra_stores["embedded"])
    r = client.get(f"/analysis/risk/individual/hazard_sources/{fid}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    levels = [f["properties"]["level_per_year"] for f in fc["features"]]
    assert levels == sorted(levels) and 3e-7 in levels
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in fc["features"])
    areas = [f["properties"]["area_m2"] for f in fc["features"]]
    assert areas == sorted(areas, reverse=True)  # nested: lower level, larger area
    meta = fc["metadata"]
    assert meta["scenarios"] and all(s["frequency_per_year"] > 0 and s["loc_source"] for s in meta["scenarios"])
    assert any("GB 36894" in s for s in meta["sources"]) and meta["limitations"]
    assert meta["max_ir"]["ir_per_year"] > 3e-7
    for rec in meta["receptors"]:
        assert rec["verdict"] in ("pass", "fail") and rec["criterion_per_year"] in (3e-7, 3e-6, 1e-5)


def test_same_contours_from_both_engines(qra_stores):
    fid = _toxic_source(qra_stores["embedded"])
    docs = []
    for kind in ("embedded", "postgis"):
        c = TestClient(create_app(Settings(), qra_stores[kind]))
        docs.append(c.get(f"/analysis/risk/individual/hazard_sources/{fid}").json())
    a, b = docs
    assert [f["properties"] for f in a["features"]] == [f["properties"] for f in b["features"]]


def test_park_individual_and_societal(client):
    r = client.get("/analysis/risk/individual", params={"park_id": 1, "resolution_m": 25})
    assert r.status_code == 200, r.text
    meta = r.json()["metadata"]
    assert len(meta["installations"]) > 1
    r = client.get("/analysis/risk/societal", params={"park_id": 1, "resolution_m": 25})
    assert r.status_code == 200, r.text
    fn = r.json()
    assert fn["assessment"]["region"] in ("acceptable", "alarp", "unacceptable")
    f = [p["f_per_year"] for p in fn["fn_curve"]]
    assert f == sorted(f, reverse=True)  # cumulative: non-increasing in N
    assert "[M]" in fn["assessment"]["lines"]["basis"]


def test_skipped_scenarios_are_listed_with_reasons(client, qra_stores):
    store = qra_stores["embedded"]
    benz = next(f.id for f in store.items("hazard_sources", Query(limit=400)).features
                if any(i["substance"] == "benzene" for i in f.properties["inventory"]))
    meta = client.get(f"/analysis/risk/individual/hazard_sources/{benz}").json()["metadata"]
    assert any(s["substance"] == "benzene" and "probit" in s["reason"] for s in meta["skipped"])


@pytest.mark.parametrize("params, field", [
    ({"wind_rose": "0.5,0.4"}, "wind_rose"),
    ({"wind_rose": "a,b"}, "wind_rose"),
    ({"weather": "D:5:0.5"}, "weather"),
    ({"weather": "D5"}, "weather"),
    ({"resolution_m": 1, "max_range_m": 10000}, "resolution_m"),
    ({"resolution_m": 0}, "resolution_m"),
    ({"frequency_set": "oreda"}, "frequency_set"),
    ({"fn_upper": "1e-3"}, "fn_upper"),
    ({"installation": "old"}, "installation"),
])
def test_bad_input_names_the_field(client, params, field):
    assert _problem(client.get("/analysis/risk/individual/hazard_sources/1", params=params))["field"] == field


def test_wrong_layer_missing_feature_and_park(client):
    assert _problem(client.get("/analysis/risk/individual/receptors/1"))["field"] == "layer"
    assert client.get("/analysis/risk/societal/hazard_sources/999999").status_code == 404
    assert client.get("/analysis/risk/individual", params={"park_id": 999999}).status_code == 404
    assert _problem(client.get("/analysis/risk/individual"))["field"] == "park_id"


def test_risk_map_has_contours_and_fn_chart(client, qra_stores):
    fid = _toxic_source(qra_stores["embedded"])
    r = client.get(f"/maps/risk/hazard_sources/{fid}")
    assert r.status_code == 200, r.text
    html = r.text
    # contours and the chart are drawn in the browser by riskmap.js (test_browser_risk checks the drawn SVG)
    assert "RiskMap.irLayer(" in html and "RiskMap.fnControl(" in html and '"fn_curve"' in html and "个人风险" in html
    assert not assets.remote_references(html)
    r = client.get("/maps/risk", params={"park_id": 1, "resolution_m": 50, "download": "true"})
    assert r.status_code == 200 and "attachment" in r.headers.get("content-disposition", "")


def test_typed_risk_is_the_same_document(qra_stores):
    """IndividualRisk and FnCurve (what the risk map and the PDF read) hold the very documents the API writes: their
    JSON forms are the API's bytes (orjson, member order and number types kept), their attributes the document's
    values — on both stores, for installations (new and existing columns) and a park, and for the F-N curve a
    siting check's QRA rule carries."""
    import orjson

    from gis_service.analysis.qra.results import FnCurve, FnSummary, IndividualRisk

    for kind, store in qra_stores.items():
        c = TestClient(create_app(Settings(), store))
        fids = [f.id for f in store.items("hazard_sources", Query(limit=400)).features][::110]
        cases = [({"layer": "hazard_sources", "fid": fid}, f"/analysis/risk/individual/hazard_sources/{fid}",
                  f"/analysis/risk/societal/hazard_sources/{fid}", p) for fid in fids for p in ({}, {"installation": "existing"})]
        cases.append(({"park_id": 1}, "/analysis/risk/individual", "/analysis/risk/societal",
                      {"park_id": 1, "resolution_m": 50}))
        seen_targets = 0
        for where, ir_url, fn_url, query in cases:
            r = c.get(ir_url, params={**query, "societal": "true"})
            assert r.status_code == 200, r.text
            typed = IndividualRisk.model_validate_json(r.content)
            assert orjson.dumps(typed.model_dump(mode="json")) == r.content, (kind, where)
            assert orjson.dumps(IndividualRisk.of(r.json()).document()) == r.content
            doc = r.json()
            meta = doc["metadata"]
            assert [p.level_per_year for p in typed.contours] == [f["properties"]["level_per_year"] for f in doc["features"]]
            assert [(t.id, t.verdict, t.ir_per_year) for t in typed.metadata.receptors] == \
                [(t["id"], t["verdict"], t["ir_per_year"]) for t in meta["receptors"]]
            assert len(typed.failing) == sum(t["verdict"] == "fail" for t in meta["receptors"])
            assert typed.metadata.max_ir.ir_per_year == meta["max_ir"]["ir_per_year"]
            assert [i.id for i in typed.metadata.installations] == [i["id"] for i in meta["installations"]]
            assert typed.metadata.societal is not None
            assert typed.metadata.societal.assessment.region == meta["societal"]["assessment"]["region"]
            seen_targets += len(typed.metadata.receptors)
            r = c.get(fn_url, params=query)
            assert r.status_code == 200, r.text
            fn = FnCurve.model_validate_json(r.content)
            assert orjson.dumps(fn.model_dump(mode="json")) == r.content, (kind, where)
            assert [(p.n, p.f_per_year) for p in fn.fn_curve] == [(p["n"], p["f_per_year"]) for p in r.json()["fn_curve"]]
        assert seen_targets, "protection targets must be checked too"
        r = c.get("/analysis/siting/1")
        assert r.status_code == 200, r.text
        rules = [x for x in r.json()["rules"] if x.get("societal")]
        assert rules, "the park rule set's external-safety rule runs a QRA"
        for rule in rules:
            summary = FnSummary.model_validate(rule["societal"])
            assert orjson.dumps(summary.model_dump(mode="json")) == orjson.dumps(rule["societal"])
