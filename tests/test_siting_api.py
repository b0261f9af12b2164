"""Siting over HTTP and the CLI; bad input → 400 / exit 1 naming the problem; rule files as data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import services_for
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from gis_service import geodesy
from gis_service.analysis.siting.results import Proposal
from gis_service.analysis.siting.rules import DEFAULT_RULES_DIR, RuleFileError, load_rule_sets
from gis_service.api.app import create_app
from gis_service.config import Settings

ENGINES = ["embedded", "postgis"]


def square(lon: float, lat: float, side_m: float):
    h = side_m / 2
    return geodesy.from_local(box(-h, -h, h, h), lon, lat)


def feature(geom, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


@pytest.fixture(params=ENGINES)
def client(request, sample_stores):
    with TestClient(create_app(Settings(), store=sample_stores[request.param])) as c:
        yield c


@pytest.fixture(scope="module")
def emb_client(sample_stores):
    with TestClient(create_app(Settings(), store=sample_stores["embedded"])) as c:
        yield c


def goaf_square(store):
    goafs = store.frame("goaf_areas")
    rp = goafs.geometry.iloc[0].representative_point()
    return int(goafs.index[0]), square(rp.x, rp.y, 1600)


# -- API ------------------------------------------------------------------------------------------

def test_post_proposal_on_goaf_fails(client, sample_stores):
    gid, geom = goaf_square(sample_stores["embedded"])
    r = client.post("/analysis/siting", json=feature(geom, name="新园区"))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["verdict"] == "fail" and "goaf_influence" in doc["summary"]["fail"]
    rule = next(x for x in doc["rules"] if x["id"] == "goaf_influence")
    assert gid in [o["id"] for o in rule["offending"]]
    assert rule["measured"]["unit"] == "m²" and rule["measured"]["value"] > 0
    assert doc["proposal"]["kind"] == "park" and doc["proposal"]["name"] == "新园区"
    fc = client.post("/analysis/siting?f=geojson", json=feature(geom)).json()
    assert fc["type"] == "FeatureCollection" and fc["metadata"]["verdict"] == "fail"
    assert any(f["properties"].get("rule_id") == "goaf_influence" for f in fc["features"])


def test_get_existing_park(client):
    r = client.get("/analysis/siting/1")
    assert r.status_code == 200
    doc = r.json()
    assert doc["proposal"]["source"]["id"] == 1 and doc["rule_set"]["name"] == "chemical_park"
    own = next(x for x in doc["rules"] if x["id"] == "other_park_overlap")
    assert 1 not in [o["id"] for o in own["offending"]]
    assert client.get("/analysis/siting/999999").status_code == 404
    assert client.get("/analysis/siting/1?f=xml").status_code == 400


def test_rules_endpoint(emb_client):
    doc = emb_client.get("/analysis/siting/rules").json()
    names = {rs["name"] for rs in doc["rule_sets"]}
    assert {"chemical_park", "installation"} <= names


def test_post_installation_with_inventory(emb_client, sample_stores):
    store = sample_stores["embedded"]
    h = store.frame("hazard_sources")
    pt = h[h.geometry.geom_type == "Point"].geometry.iloc[0]
    body = {"type": "Feature", "properties": {"inventory": [{"substance": "propane", "quantity_t": 100}]},
            "geometry": {"type": "Point", "coordinates": [pt.x + 0.001, pt.y]}}
    doc = emb_client.post("/analysis/siting", json=body).json()
    assert doc["proposal"]["kind"] == "installation" and doc["rule_set"]["name"] == "installation"
    out = next(x for x in doc["rules"] if x["id"] == "domino_outgoing")
    assert out["outcome"] == "fail" and out["threshold"]["unit"] == "m"


BAD = {
    "self_intersecting": ({"type": "Polygon", "coordinates": [[[125, 43], [125.02, 43.02], [125.02, 43], [125, 43.02],
                                                               [125, 43]]]}, "geometry", "Self-intersection"),
    "unclosed": ({"type": "Polygon", "coordinates": [[[125, 43], [125.02, 43], [125.02, 43.02], [125, 43.02]]]},
                 "geometry", "not closed"),
    "empty": ({"type": "Polygon", "coordinates": []}, "geometry", "empty"),
    "projected": ({"type": "Polygon", "coordinates": [[[500000, 4800000], [502000, 4800000], [502000, 4802000],
                                                       [500000, 4800000]]]}, "geometry", "longitude out of range"),
    "too_large": ({"type": "Polygon", "coordinates": [[[118, 38], [134, 38], [134, 50], [118, 50], [118, 38]]]},
                  "geometry", "larger than"),  # the park layer's max_extent_km (issue 24) or the province
    "line": ({"type": "LineString", "coordinates": [[125, 43], [125.1, 43.1]]}, "geometry", "not allowed"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_geometry_is_400_naming_the_problem(emb_client, case):
    geom, fld, words = BAD[case]
    r = emb_client.post("/analysis/siting", json={"type": "Feature", "properties": {}, "geometry": geom})
    assert r.status_code == 400, r.text
    problems = r.json()["problems"]
    assert problems[0]["field"] == fld
    assert words in problems[0]["problem"]


def test_wrong_crs_member(emb_client):
    body = feature(square(125.5, 43.5, 2000))
    body["crs"] = {"type": "name", "properties": {"name": "EPSG:3857"}}
    r = emb_client.post("/analysis/siting", json=body)
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "crs"


def test_other_bad_input(emb_client):
    def post(body, q=""):
        return emb_client.post(f"/analysis/siting{q}", content=json.dumps(body) if not isinstance(body, bytes) else body)

    r = post(b"{not json")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "body"
    r = post({"type": "Feature", "properties": {"kind": "park"}, "geometry": {"type": "Point", "coordinates": [125, 43]}})
    assert r.status_code == 400 and "Polygon" in r.json()["problems"][0]["problem"]
    r = post(feature(square(125.5, 43.5, 2000), inventory=[{"substance": "unobtainium", "quantity_t": 1}]))
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "inventory"
    r = post(feature(square(125.5, 43.5, 2000), inventory=[{"substance": "chlorine", "quantity_t": -1}]))
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "inventory"
    r = post({"type": "FeatureCollection", "features": [feature(square(125.5, 43.5, 2000))] * 2})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "features"
    r = post(feature(square(125.5, 43.5, 2000)), "?kind=plant")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "kind"
    r = post(feature(square(125.5, 43.5, 2000)), "?rule_set=installation")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "rule_set"


def test_repair_is_noted(emb_client):
    geom = BAD["self_intersecting"][0]
    r = emb_client.post("/analysis/siting?repair=true", json={"type": "Feature", "properties": {}, "geometry": geom})
    assert r.status_code == 200, r.text
    notes = r.json()["proposal"]["notes"]
    assert any("make_valid" in n for n in notes)


# -- rule files as data --------------------------------------------------------------------------

def _copy_rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, d)
    return d


def _edit(d: Path, name: str, fn) -> None:
    p = d / f"{name}.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    fn(raw)
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("mutate, words", [
    (lambda r: r["rules"][0].update(test="teleport"), "unknown test kind"),
    (lambda r: r["rules"][0].update(unit="km"), "field 'unit'"),
    (lambda r: r["rules"][0].update(severity="maybe"), "field 'severity'"),
    (lambda r: r["rules"][0].update(layers=["no_such_layer"]), "not in the layer catalogue"),
    (lambda r: r["rules"][0].update(threshold=-1), "field 'threshold'"),
    (lambda r: r["rules"][1].update(id=r["rules"][0]["id"]), "duplicate rule id"),
    (lambda r: r["rules"][0].pop("source"), "field 'source' is missing"),
    (lambda r: r["rules"][0].update(params={"bogus": 1}), "unknown parameter"),
])
def test_bad_rule_files_are_refused(tmp_path, catalog, mutate, words):
    d = _copy_rules(tmp_path)
    _edit(d, "chemical_park", mutate)
    with pytest.raises(RuleFileError) as exc:
        load_rule_sets(catalog, d)
    assert words in str(exc.value) and "chemical_park.yaml" in str(exc.value)


def test_editing_a_threshold_changes_the_outcome(tmp_path, catalog, sample_stores):
    store = sample_stores["embedded"]
    d = _copy_rules(tmp_path)

    def raise_min_area(raw):
        next(r for r in raw["rules"] if r["id"] == "min_area")["threshold"] = 100

    _edit(d, "chemical_park", raise_min_area)
    rs = load_rule_sets(catalog, d)["chemical_park"]
    default = services_for(store).siting.check_park(1).outcome("min_area")
    edited = services_for(store).siting.check(Proposal(store.get("chemical_parks", 1).geometry, "park"), rs,
                                              only=["min_area"]).outcome("min_area")
    assert default.outcome == "pass" and edited.outcome == "fail" and edited.threshold == 100


# -- CLI ------------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(sample_stores, monkeypatch):
    from gis_service import cli
    from gis_service.config import get_settings

    monkeypatch.setenv("GIS_STORE", "embedded")
    monkeypatch.setenv("GIS_GPKG_PATH", str(sample_stores["embedded"].path))
    get_settings.cache_clear()
    yield cli.app
    get_settings.cache_clear()


def test_cli_check_proposal_and_all(cli_env, tmp_path, sample_stores):
    gid, geom = goaf_square(sample_stores["embedded"])
    src = tmp_path / "proposal.geojson"
    src.write_text(json.dumps(feature(geom, name="cli park")))
    out = tmp_path / "report.json"
    runner = CliRunner()
    res = runner.invoke(cli_env, ["check-siting", str(src), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "goaf_influence" in res.output and "fail" in res.output
    doc = json.loads(out.read_text())
    assert doc["verdict"] == "fail" and "goaf_influence" in doc["summary"]["fail"]
    assert runner.invoke(cli_env, ["check-siting", str(src), "--strict"]).exit_code == 4
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps([{"substance": "propane", "quantity_t": 50}]))
    res = runner.invoke(cli_env, ["check-siting", str(src), "--inventory", str(inv), "--kind", "installation",
                                  "--json", "-"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["proposal"]["inventory"][0]["substance"] == "propane"
    allout = tmp_path / "all.json"
    res = runner.invoke(cli_env, ["check-siting", "--all", "--quiet", "--json", str(allout)])
    assert res.exit_code == 0, res.output
    doc = json.loads(allout.read_text())
    assert len(doc["reports"]) == sample_stores["embedded"].count("chemical_parks")


def test_cli_bad_input_exits_1(cli_env, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": BAD["unclosed"][0]}))
    res = CliRunner().invoke(cli_env, ["check-siting", str(bad)])
    assert res.exit_code == 1 and "not closed" in res.output
    assert CliRunner().invoke(cli_env, ["check-siting"]).exit_code == 2
