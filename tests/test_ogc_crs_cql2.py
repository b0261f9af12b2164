"""OGC API Features Part 2 (CRS: CRS84, EPSG:4326/4490 lat-lon, EPSG:3857, CGCS2000 Gauss-Krüger zones) and
Part 3 (CQL2 text/JSON filters) on both stores.

The CQL2 contract test draws a set of filters, each with an independent Python reference predicate written here
(SQL's three-valued logic by hand), and checks that the embedded store, the PostGIS store and the reference
agree on every one. The injection tests send the expression classes behind GeoServer CVE-2023-25157 (filter
functions and property names spliced into SQL) and CVE-2024-36401 (property names evaluated as code)."""

from __future__ import annotations

import json
import random
import re
from urllib.parse import quote

import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from gis_service.api.app import create_app
from gis_service.config import Settings

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EDITOR = {"X-API-Key": "edit-key"}


@pytest.fixture
def client(store):
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=store)) as c:
        yield c


def _all(client, layer, **params):
    params = {"limit": 10000, **params}
    r = client.get(f"/collections/{layer}/items", params=params)
    assert r.status_code == 200, r.text
    return r


# -- Part 2 --------------------------------------------------------------------------------------
def test_collection_lists_cgcs2000_and_its_zones(client):
    doc = client.get("/collections/receptors").json()
    assert doc["storageCrs"] == CRS84
    for code in (4326, 4490, 3857, 4551):  # test data lie at 125–126.2°E: CM 126E (EPSG:4551)
        assert EPSG.format(code) in doc["crs"]
    assert EPSG.format(4535) not in doc["crs"]  # CM 78E is far away
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    assert "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2" in conf


@pytest.mark.parametrize("code", [4490, 4326, 3857, 4551, 4518])
def test_items_in_another_crs_follow_its_axis_order(client, code):
    base = _all(client, "receptors").json()["features"]
    r = _all(client, "receptors", crs=EPSG.format(code))
    assert r.headers["content-crs"] == f"<{EPSG.format(code)}>"
    got = {f["id"]: f["geometry"]["coordinates"] for f in r.json()["features"]}
    t = pyproj.Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")  # authority axis order
    for f in base[:50]:
        lon, lat = f["geometry"]["coordinates"]
        a, b = t.transform(lon, lat)
        assert got[f["id"]] == pytest.approx([a, b], abs=1e-3 if code in (3857, 4551, 4518) else 1e-6)
    if code in (4490, 4326):  # latitude first
        lon, lat = base[0]["geometry"]["coordinates"]
        assert got[base[0]["id"]] == pytest.approx([lat, lon], abs=1e-7)


def test_item_in_cgcs2000(client):
    fid = _all(client, "rescue_teams").json()["features"][0]["id"]
    a = client.get(f"/collections/rescue_teams/items/{fid}").json()["geometry"]["coordinates"]
    r = client.get(f"/collections/rescue_teams/items/{fid}", params={"crs": "EPSG:4490"})
    assert r.status_code == 200 and r.headers["content-crs"] == f"<{EPSG.format(4490)}>"
    assert r.json()["geometry"]["coordinates"] == pytest.approx([a[1], a[0]], abs=1e-7)


def test_bbox_crs_lat_lon_and_gauss_kruger(client):
    ref = {f["id"] for f in _all(client, "receptors", bbox="125.2,43.6,125.8,44.0").json()["features"]}
    assert ref
    lat_lon = {f["id"] for f in _all(client, "receptors", bbox="43.6,125.2,44.0,125.8",
                                     **{"bbox-crs": EPSG.format(4490)}).json()["features"]}
    assert lat_lon == ref
    # a Gauss-Krüger box (northing, easting) around the same area holds at least those features
    t = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4551")
    n0, e0 = t.transform(125.2, 43.6)
    n1, e1 = t.transform(125.8, 44.0)
    gk = {f["id"] for f in _all(client, "receptors", bbox=f"{min(n0, n1)},{min(e0, e1)},{max(n0, n1)},{max(e0, e1)}",
                                **{"bbox-crs": EPSG.format(4551)}).json()["features"]}
    assert ref <= gk


@pytest.mark.parametrize("params, name", [
    ({"crs": "EPSG:999999"}, "crs"),
    ({"crs": "http://www.opengis.net/def/crs/EPSG/0/2154"}, "crs"),  # Lambert-93: not offered
    ({"bbox-crs": "EPSG:12"}, "bbox-crs"),
    ({"bbox": "125.2,43.6,125.8,44.0", "bbox-crs": EPSG.format(4326)}, "bbox"),  # lon,lat in a lat,lon CRS
    ({"filter-crs": "EPSG:1"}, "filter-crs"),
    ({"filter-lang": "ecql", "filter": "population > 1"}, "filter-lang"),
])
def test_bad_crs_and_axis_order_are_400_naming_the_parameter(client, params, name):
    r = client.get("/collections/receptors/items", params=params)
    assert r.status_code == 400, r.text
    assert name in json.dumps(r.json())


def test_limit_above_the_maximum_is_capped_with_next(store):
    with TestClient(create_app(Settings(max_limit=50), store=store)) as c:
        r = c.get("/collections/receptors/items", params={"limit": 20000})
        assert r.status_code == 200
        doc = r.json()
        assert doc["numberReturned"] == 50
        assert any(link["rel"] == "next" and "limit=50" in link["href"] for link in doc["links"])


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_write_with_content_crs(fresh_store):
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=fresh_store)) as c:
        lat, lon = 43.81234567, 125.3456789
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lat, lon]},
                "properties": {"name": "坐标系测试", "receptor_class": "school", "population": 10}}
        r = c.post("/collections/receptors/items", json=body,
                   headers={**EDITOR, "Content-Crs": f"<{EPSG.format(4490)}>"})
        assert r.status_code == 201, r.text
        fid = r.json()["created"][0]
        got = c.get(f"/collections/receptors/items/{fid}").json()["geometry"]["coordinates"]
        assert got == pytest.approx([lon, lat], abs=1e-7)
        n, e = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4551").transform(lon, lat)
        body["geometry"]["coordinates"] = [n, e]
        r = c.put(f"/collections/receptors/items/{fid}", json=body,
                  headers={**EDITOR, "Content-Crs": f"<{EPSG.format(4551)}>"})
        assert r.status_code == 204, r.text
        got = c.get(f"/collections/receptors/items/{fid}").json()["geometry"]["coordinates"]
        assert got == pytest.approx([lon, lat], abs=1e-7)
        r = c.post("/collections/receptors/items", json=body, headers={**EDITOR, "Content-Crs": "<EPSG:2154>"})
        assert r.status_code == 400 and "Content-Crs" in r.text


# -- Part 3: the contract over generated filters -----------------------------------------------------
def _kleene_and(a, b):
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _kleene_or(a, b):
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _neg(a):
    return None if a is None else not a


def _cmp(op, v, x):
    if v is None:
        return None
    return {"=": v == x, "<>": v != x, "<": v < x, "<=": v <= x, ">": v > x, ">=": v >= x}[op]


def _like(v, pattern):
    if v is None:
        return None
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, v, re.DOTALL) is not None


LAYER_ATOMS = {
    "receptors": [("population", "int", (0, 3000)), ("receptor_class", "enum", ("school", "hospital", "care_home",
                                                                                   "residential")),
                  ("name", "text", ("目标0", "目标1", "目标2", "目标10")), ("county", "null", None)],
    "rescue_teams": [("personnel", "int", (5, 120)), ("team_type", "enum", ("mine_rescue", "hazmat", "fire",
                                                                           "medical")),
                     ("on_duty", "bool", None), ("name", "text", ("救援队0", "救援队1", "救援队3"))],
}


def _atom(rng, layer):
    prop, kind, dom = rng.choice(LAYER_ATOMS[layer])
    if kind == "int":
        op = rng.choice(["=", "<>", "<", "<=", ">", ">="])
        x = rng.randint(*dom)
        choice = rng.random()
        if choice < 0.6:
            return f"{prop} {op} {x}", lambda p, g, op=op, x=x: _cmp(op, p[prop], x)
        if choice < 0.8:
            lo, hi = sorted((x, rng.randint(*dom)))
            return (f"{prop} BETWEEN {lo} AND {hi}",
                    lambda p, g, lo=lo, hi=hi: None if p[prop] is None else lo <= p[prop] <= hi)
        xs = sorted({rng.randint(*dom) for _ in range(3)} | {None} - {None})
        return f"{prop} IN ({', '.join(map(str, xs))})", lambda p, g, xs=xs: None if p[prop] is None else p[prop] in xs
    if kind == "enum":
        vals = rng.sample(list(dom), rng.randint(1, 2))
        if len(vals) == 1 and rng.random() < 0.5:
            return f"{prop} = '{vals[0]}'", lambda p, g, v=vals[0]: _cmp("=", p[prop], v)
        neg = rng.random() < 0.3
        text = f"{prop} {'NOT ' if neg else ''}IN ({', '.join(repr(v) for v in vals)})"
        return text, lambda p, g, vals=vals, neg=neg: None if p[prop] is None else ((p[prop] in vals) != neg)
    if kind == "bool":
        b = rng.random() < 0.5
        return f"{prop} = {'TRUE' if b else 'FALSE'}", lambda p, g, b=b: _cmp("=", p[prop], b)
    if kind == "null":
        neg = rng.random() < 0.5
        return (f"{prop} IS {'NOT ' if neg else ''}NULL",
                lambda p, g, neg=neg: (p[prop] is not None) if neg else (p[prop] is None))
    pat = rng.choice(list(dom)) + rng.choice(["%", "_", "", "%0"])
    return f"{prop} LIKE '{pat}'", lambda p, g, pat=pat: _like(p[prop], pat)


def _spatial(rng):
    x0, y0 = 125.0 + rng.random() * 0.9, 43.5 + rng.random() * 0.6
    x1, y1 = x0 + 0.05 + rng.random() * 0.4, y0 + 0.05 + rng.random() * 0.3
    box = shapely.box(x0, y0, x1, y1)
    op = rng.choice(["S_INTERSECTS", "S_WITHIN", "S_DISJOINT"])
    if rng.random() < 0.5:
        lit = f"BBOX({x0:.4f}, {y0:.4f}, {x1:.4f}, {y1:.4f})"
        box = shapely.box(round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4))
    else:
        box = shapely.set_precision(box, 1e-4)
        lit = shapely.to_wkt(box, rounding_precision=4)
    fn = {"S_INTERSECTS": shapely.intersects, "S_WITHIN": shapely.within, "S_DISJOINT": shapely.disjoint}[op]
    return f"{op}(geometry, {lit})", lambda p, g, fn=fn, box=box: bool(fn(g, box))


def _expr(rng, layer, depth=0):
    r = rng.random()
    if depth >= 2 or r < 0.35:
        return _spatial(rng) if rng.random() < 0.2 else _atom(rng, layer)
    if r < 0.5:
        t, f = _expr(rng, layer, depth + 1)
        return f"NOT ({t})", lambda p, g, f=f: _neg(f(p, g))
    (ta, fa), (tb, fb) = _expr(rng, layer, depth + 1), _expr(rng, layer, depth + 1)
    if r < 0.8:
        return f"({ta}) AND ({tb})", lambda p, g: _kleene_and(fa(p, g), fb(p, g))
    return f"({ta}) OR ({tb})", lambda p, g: _kleene_or(fa(p, g), fb(p, g))


@pytest.fixture(scope="module")
def both(embedded_store, postgis_store):
    clients = {}
    for kind, st in (("embedded", embedded_store), ("postgis", postgis_store)):
        clients[kind] = TestClient(create_app(Settings(), store=st))
    yield clients
    for c in clients.values():
        c.close()


@pytest.mark.parametrize("layer", ["receptors", "rescue_teams"])
def test_generated_filters_give_identical_answers_on_both_stores_and_the_reference(both, layer):
    rng = random.Random(19)
    feats = _all(both["embedded"], layer).json()["features"]
    checked = nonempty = 0
    for _ in range(60):
        text, pred = _expr(rng, layer)
        ref = sorted(f["id"] for f in feats if pred(f["properties"], shape(f["geometry"])) is True)
        for kind, c in both.items():
            r = c.get(f"/collections/{layer}/items", params={"filter": text, "limit": 10000})
            assert r.status_code == 200, (kind, text, r.text)
            got = sorted(f["id"] for f in r.json()["features"])
            assert got == ref, (kind, text)
            assert r.json()["numberMatched"] == len(ref)
        checked += 1
        nonempty += bool(ref) and len(ref) < len(feats)
    assert checked == 60 and nonempty >= 15  # the set is not trivially empty or all


def test_cql2_json_equals_cql2_text(both):
    text = "population >= 1000 AND receptor_class IN ('school','hospital') AND S_INTERSECTS(geometry, BBOX(125,43.5,125.7,44.0))"
    doc = {"op": "and", "args": [
        {"op": ">=", "args": [{"property": "population"}, 1000]},
        {"op": "in", "args": [{"property": "receptor_class"}, ["school", "hospital"]]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [125, 43.5, 125.7, 44.0]}]}]}
    for c in both.values():
        a = c.get("/collections/receptors/items", params={"filter": text, "limit": 1000}).json()
        b = c.get("/collections/receptors/items", params={"filter": json.dumps(doc), "filter-lang": "cql2-json",
                                                          "limit": 1000}).json()
        assert [f["id"] for f in a["features"]] == [f["id"] for f in b["features"]]
        assert 0 < a["numberMatched"] < 300
    between = {"op": "between", "args": [{"property": "population"}, 100, 200]}
    r = both["postgis"].get("/collections/receptors/items", params={"filter": json.dumps(between),
                                                                    "filter-lang": "cql2-json"})
    assert r.status_code == 200 and all(100 <= f["properties"]["population"] <= 200 for f in r.json()["features"])


def test_filter_crs_lat_lon(both):
    a = both["postgis"].get("/collections/receptors/items", params={
        "filter": "S_INTERSECTS(geometry, BBOX(125.2,43.6,125.8,44.0))", "limit": 1000}).json()
    for c in both.values():
        b = c.get("/collections/receptors/items", params={
            "filter": "S_INTERSECTS(geometry, BBOX(43.6,125.2,44.0,125.8))", "filter-crs": EPSG.format(4326),
            "limit": 1000}).json()
        assert [f["id"] for f in a["features"]] == [f["id"] for f in b["features"]] and a["features"]


# -- Part 3: bad filters and injection -----------------------------------------------------------------
@pytest.mark.parametrize("text, needle", [
    ("population >>> 3", "line:column 1:13"),
    ("population > ", "cannot parse"),
    ("nosuch = 1", "unknown property"),
    ("population = 'many'", "number"),
    ("name = 3", "text"),
    ("population = county", "two properties"),
    ("geometry = 'POINT(1 2)'", "spatial function"),
    ("S_INTERSECTS(geometry, POINT(1 2 3 4 5))", "parse"),
    ("S_INTERSECTS(geometry, BBOX(126,44,125,43))", "lower corner"),
    ("T_AFTER(name, TIMESTAMP('2020-01-01T00:00:00Z'))", "filter"),
    ("population + 1 > 2", "filter"),
    ("NOT " * 150 + "population > 1", "nests too deeply"),
])
def test_bad_filters_are_400_naming_where(client, text, needle):
    r = client.get("/collections/receptors/items", params={"filter": text})
    assert r.status_code == 400, r.text
    body = json.dumps(r.json(), ensure_ascii=False)
    assert "filter" in body and needle in body, body


def test_json_attribute_is_not_queryable(client):
    r = client.get("/collections/hazard_sources/items", params={"filter": "inventory = 'x'"})
    assert r.status_code == 400 and "JSON attribute" in r.text


@pytest.mark.parametrize("text", [
    # CVE-2023-25157 class: SQL reaching the database through filter functions, property names or literals
    "strEndsWith(name, 'x'') = true; DROP TABLE riskmap.receptors; --') = true",
    "\"name') = 1 OR 1=1; DROP TABLE riskmap.receptors; --\" = 1",
    "\"population; DROP TABLE riskmap.receptors\" > 1",
    "PropertyIsLike(name, 'a') = 1",
    # CVE-2024-36401 class: property names evaluated as expressions / code
    "exec(java.lang.Runtime.getRuntime(),'touch /tmp/pwned') = 1",
    "\"__import__('os').system('touch /tmp/pwned')\" = 1",
    "\"eval('1+1')\" = 2",
])
def test_injection_classes_are_refused_and_harmless(client, text):
    r = client.get("/collections/receptors/items", params={"filter": text})
    assert r.status_code == 400, r.text
    assert _all(client, "receptors").json()["numberMatched"] == 300  # the table is intact


def test_quotes_in_literals_stay_literals(both):
    for c in both.values():
        for text in ("name = 'x'' OR ''1''=''1'", "name = 'x''); DROP TABLE riskmap.receptors; --'",
                     "name LIKE '%'' OR 1=1 --%'"):
            r = c.get("/collections/receptors/items", params={"filter": text})
            assert r.status_code == 200, r.text
            assert r.json()["numberMatched"] == 0
        assert _all(c, "receptors").json()["numberMatched"] == 300


def test_filter_reaches_sql_only_as_bound_parameters(postgis_store):
    """The compiled statement of a filter holds no literal of the filter: values are parameters."""
    from gis_service.cql2 import parse_filter
    from gis_service.stores.cql_sql import clause

    spec = postgis_store.spec("receptors")
    table = postgis_store.tables["receptors"]
    expr = parse_filter(spec, "name = 'zz_marker_1' OR population > 123456 OR name LIKE 'yy_marker%' OR "
                              "S_INTERSECTS(geometry, POINT(125.123 43.321))")
    sql = str(clause(table, expr).compile(dialect=postgis_store.engine.dialect))
    for literal in ("zz_marker_1", "123456", "yy_marker", "125.123"):
        assert literal not in sql, sql
    assert sql.count("%(") >= 4


def test_url_encoded_filter_from_a_browser(client):
    r = client.get("/collections/receptors/items?filter=" + quote("receptor_class = 'school' AND population > 100"))
    assert r.status_code == 200
    assert all(f["properties"]["receptor_class"] == "school" for f in r.json()["features"])
