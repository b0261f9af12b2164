"""`gis-service load` on real file formats, CRS handling, and all-or-nothing bad input, on both stores."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon
from typer.testing import CliRunner

from gis_service import cli
from gis_service.config import get_settings
from gis_service.stores.base import Query

runner = CliRunner()


def _teams(n=12, crs="EPSG:4326"):
    frame = gpd.GeoDataFrame(
        {"name": [f"队{i}" for i in range(n)], "team_type": ["fire", "hazmat", "mine_rescue", "medical"] * (n // 4),
         "personnel": list(range(10, 10 + n)), "on_duty": [True] * n},
        geometry=[Point(125.0 + i * 0.01, 43.8 + i * 0.005) for i in range(n)], crs="EPSG:4326")
    return frame.to_crs(crs) if crs != "EPSG:4326" else frame


@pytest.fixture(params=["embedded", "postgis"])
def target(request, monkeypatch, tmp_path, catalog):
    """Point the CLI at an empty store of each engine; returns a store to inspect the result."""
    if request.param == "postgis":
        from conftest import database_url

        from gis_service.stores.postgis import PostGISStore

        url = database_url(request.getfixturevalue("postgis_url"), "gis_test_loading")
        monkeypatch.setenv("GIS_STORE", "postgis")
        monkeypatch.setenv("GIS_DATABASE_URL", url)
        store = PostGISStore(catalog, url)
        store.drop_all()
        store.init()
    else:
        from gis_service.stores.embedded import EmbeddedStore

        path = tmp_path / "load.gpkg"
        monkeypatch.setenv("GIS_STORE", "embedded")
        monkeypatch.setenv("GIS_GPKG_PATH", str(path))
        store = EmbeddedStore(catalog, path)
        store.init()
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()
    store.close()


def reopen(store):
    if store.kind == "embedded":
        from gis_service.stores.embedded import EmbeddedStore

        fresh = EmbeddedStore(store.catalog, store.path)
        fresh.init()
        return fresh
    return store


def load(*args):
    return runner.invoke(cli.app, ["load", *args])


@pytest.mark.parametrize("suffix,driver", [(".geojson", "GeoJSON"), (".gpkg", "GPKG"), (".shp", "ESRI Shapefile"),
                                           (".parquet", None), (".fgb", "FlatGeobuf")])
def test_formats_round_trip(target, tmp_path, suffix, driver):
    frame = _teams()
    path = tmp_path / f"rescue_teams{suffix}"
    if driver is None:
        frame.to_parquet(path)
    else:
        frame.to_file(path, driver=driver, layer="rescue_teams" if driver == "GPKG" else None)
    result = load("rescue_teams", str(path))
    assert result.exit_code == 0, result.output
    store = reopen(target)
    page = store.items("rescue_teams", Query(limit=100))
    assert page.number_matched == 12
    got = sorted((f.properties["name"], f.properties["personnel"], round(f.geometry.x, 7)) for f in page.features)
    want = sorted((n, p, round(g.x, 7)) for n, p, g in zip(frame.name, frame.personnel, frame.geometry, strict=True))
    assert got == want


def test_csv_with_lon_lat(target, tmp_path):
    path = tmp_path / "receptors.csv"
    path.write_text("name,receptor_class,population,lon,lat\n甲小学,school,600,125.3,43.9\n乙医院,hospital,300,125.4,43.95\n",
                    encoding="utf-8")
    result = load("receptors", str(path))
    assert result.exit_code == 0, result.output
    assert reopen(target).count("receptors") == 2


def test_cgcs2000_and_projected_crs(target, tmp_path):
    p4490 = tmp_path / "a.gpkg"
    _teams().set_crs(4490, allow_override=True).to_file(p4490, layer="rescue_teams")
    assert load("rescue_teams", str(p4490)).exit_code == 0
    p3857 = tmp_path / "b.shp"
    _teams(crs="EPSG:32651").to_file(p3857)  # UTM zone 51N
    result = load("rescue_teams", str(p3857), "--replace")
    assert result.exit_code == 0, result.output
    assert "reprojected from EPSG:32651" in result.output
    store = reopen(target)
    first = store.items("rescue_teams", Query(limit=1, sortby=(("personnel", True),))).features[0]
    assert first.geometry.x == pytest.approx(125.0, abs=1e-7) and first.geometry.y == pytest.approx(43.8, abs=1e-7)
    assert store.count("rescue_teams") == 12


def test_missing_crs_refused(target, tmp_path):
    path = tmp_path / "nocrs.shp"
    _teams().to_file(path)
    path.with_suffix(".prj").unlink()
    result = load("rescue_teams", str(path))
    assert result.exit_code == 1
    assert "crs" in result.output and "no CRS" in result.output
    assert reopen(target).count("rescue_teams") == 0
    assert load("rescue_teams", str(path), "--crs", "EPSG:4490").exit_code == 0


def _write_bad(tmp_path, mutate):
    frame = _teams()
    mutate(frame)
    path = tmp_path / "bad.gpkg"
    frame.to_file(path, layer="rescue_teams")
    return path


@pytest.mark.parametrize("mutate,row,field,fragment", [
    (lambda f: f.__setitem__("personnel", [10] * 5 + [-3] + [10] * 6), 5, "personnel", "below the minimum"),
    (lambda f: f.__setitem__("team_type", ["fire"] * 7 + ["pilot"] + ["fire"] * 4), 7, "team_type", "not allowed"),
    (lambda f: f.__setitem__("name", ["x"] * 3 + [None] + ["x"] * 8), 3, "name", "required"),
    (lambda f: f.__setitem__("geometry", [Point(125, 43)] * 9 + [Point(125, 95)] + [Point(125, 43)] * 2), 9,
     "geometry", "latitude out of range"),
])
def test_bad_rows_named_and_nothing_written(target, tmp_path, mutate, row, field, fragment):
    path = _write_bad(tmp_path, mutate)
    result = load("rescue_teams", str(path))
    assert result.exit_code == 1
    assert f"row {row}, field {field}" in result.output and fragment in result.output, result.output
    assert "nothing was written" in result.output
    assert reopen(target).count("rescue_teams") == 0


def test_invalid_and_wrong_type_geometry(target, tmp_path):
    bowtie = Polygon([(125.0, 43.0), (125.1, 43.1), (125.1, 43.0), (125.0, 43.1), (125.0, 43.0)])
    frame = gpd.GeoDataFrame({"name": ["a", "b"], "level": ["provincial"] * 2, "planned_area_km2": [3.0, 4.0]},
                             geometry=[Polygon([(125, 43), (125.1, 43), (125.1, 43.1)]), bowtie], crs=4326)
    path = tmp_path / "parks.geojson"
    frame.to_file(path)
    result = load("chemical_parks", str(path))
    assert result.exit_code == 1 and "row 1, field geometry" in result.output and "Self-intersection" in result.output
    result = load("rescue_teams", str(path), "--ignore-extra")
    assert result.exit_code == 1 and "geometry type Polygon not allowed" in result.output
    assert reopen(target).count("chemical_parks") == 0


def test_unknown_columns_and_layer(target, tmp_path):
    frame = _teams()
    frame["colour"] = "red"
    path = tmp_path / "extra.geojson"
    frame.to_file(path)
    result = load("rescue_teams", str(path))
    assert result.exit_code == 1 and "colour" in result.output
    assert load("rescue_teams", str(path), "--ignore-extra").exit_code == 0
    assert load("no_such_layer", str(path)).exit_code == 2


def test_replace_is_atomic_on_failure(target, tmp_path):
    assert load("rescue_teams", str(_write_bad(tmp_path, lambda f: None))).exit_code == 0
    bad = _write_bad(tmp_path, lambda f: f.__setitem__("personnel", [-1] * 12))
    assert load("rescue_teams", str(bad), "--replace").exit_code == 1
    assert reopen(target).count("rescue_teams") == 12


def test_init_db_twice(target):
    for _ in range(2):
        result = runner.invoke(cli.app, ["init-db"])
        assert result.exit_code == 0, result.output
