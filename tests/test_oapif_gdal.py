"""GDAL's OGC API Features client (the OAPIF driver QGIS uses) reads every collection, with the
counts of the source file, from both stores. The server runs in a subprocess because GDAL holds
the GIL while it makes HTTP requests. Its GIS_MATCHED_COUNT_CAP is small, so GDAL also reads filtered selections
whose pages omit numberMatched (PostGIS stops counting above the cap) by following the next links."""

from __future__ import annotations

import shutil

import pyogrio
import pytest
from conftest import ServerProcess

COUNT_CAP = 25


@pytest.fixture(scope="module", params=["embedded", "postgis"])
def server(request, sample_gpkg, tmp_path_factory):
    cap = {"GIS_MATCHED_COUNT_CAP": str(COUNT_CAP)}
    if request.param == "embedded":
        copy = tmp_path_factory.mktemp("oapif") / "sample.gpkg"
        shutil.copyfile(sample_gpkg, copy)
        env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(copy)}
    else:
        env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": request.getfixturevalue("sample_postgis_url")}
    with ServerProcess({**env, **cap}) as srv:
        srv.kind = request.param
        yield srv


def test_gdal_lists_every_collection(server, catalog):
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{server.url}")}
    assert layers == set(catalog.names())


@pytest.mark.parametrize("layer", ["hazard_sources", "goaf_areas", "chemical_parks", "tailings_dams",
                                   "rescue_teams", "receptors", "admin_areas", "roads"])
def test_gdal_reads_layer_with_source_counts(server, sample_gpkg, layer):
    source = pyogrio.read_dataframe(sample_gpkg, layer=layer)
    served = pyogrio.read_dataframe(f"OAPIF:{server.url}", layer=layer)
    assert len(served) == len(source)
    assert served.crs.to_epsg() == 4326 or "CRS84" in served.crs.to_string() or served.crs.equals("OGC:CRS84")
    assert "name" in served.columns
    # geometries round-trip (7 decimal places ≈ 1 cm)
    src = source.set_index("id").geometry.sort_index()
    got = served.set_index("id").geometry.sort_index() if "id" in served.columns else None
    if got is not None:
        assert (src.geom_equals_exact(got, tolerance=1e-6)).all()


def test_gdal_feature_count_from_number_matched(server, sample_gpkg):
    info = pyogrio.read_info(f"OAPIF:{server.url}", layer="receptors")
    assert info["features"] in (-1, len(pyogrio.read_dataframe(sample_gpkg, layer="receptors")))


def test_gdal_reads_cgcs2000_and_gauss_kruger_with_a_cql2_filter(server, sample_gpkg):
    """Done-when of issue 19: GDAL's OAPIF driver reads a layer in EPSG:4490 (and in a CGCS2000 Gauss-Krüger
    zone) with a CQL2 filter applied by the server; the result equals the unfiltered source filtered in Python."""
    from urllib.parse import quote

    import pyproj
    import shapely

    source = pyogrio.read_dataframe(sample_gpkg, layer="receptors")
    flt = "population > 1000 AND receptor_class IN ('school', 'hospital') AND S_INTERSECTS(geometry, BBOX(124, 42, 127, 45))"
    box = shapely.box(124, 42, 127, 45)
    keep = source[(source.population > 1000) & source.receptor_class.isin(["school", "hospital"])
                  & shapely.intersects(source.geometry.values, box)]
    assert 0 < len(keep) < len(source)
    url = f"OAPIF:{server.url}/collections/receptors?filter={quote(flt)}"
    served = pyogrio.read_dataframe(url, CRS="EPSG:4490", fid_as_index=True)
    assert served.crs.to_epsg() == 4490
    assert sorted(served.index) == sorted(keep["id"])
    got = served.geometry.sort_index()
    want = keep.set_index("id").geometry.sort_index()
    assert got.geom_equals_exact(want, tolerance=1e-6).all()  # GDAL hands lon/lat back in GIS order
    gk = pyogrio.read_dataframe(url, CRS="EPSG:4551", fid_as_index=True).sort_index()
    assert gk.crs.to_epsg() == 4551 and list(gk.index) == list(want.index)
    east, north = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4551", always_xy=True).transform(
        shapely.get_x(shapely.point_on_surface(want.values)), shapely.get_y(shapely.point_on_surface(want.values)))
    pts = shapely.point_on_surface(gk.geometry.values)
    assert abs(shapely.get_x(pts) - east).max() < 0.01 and abs(shapely.get_y(pts) - north).max() < 0.01


def test_gdal_reads_a_filtered_selection_above_the_count_cap(server, sample_gpkg):
    """A filter matching more than GIS_MATCHED_COUNT_CAP features: PostGIS pages carry no numberMatched (a bounded
    count stops at the cap), GDAL pages by the next links and reads exactly the selection on both stores."""
    import json
    import urllib.request
    from urllib.parse import quote

    source = pyogrio.read_dataframe(sample_gpkg, layer="receptors")
    flt = "receptor_class = 'residential' OR population > 2000"
    keep = source[(source.receptor_class == "residential") | (source.population > 2000)]
    assert len(keep) > 4 * COUNT_CAP
    with urllib.request.urlopen(f"{server.url}/collections/receptors/items?limit=10&filter={quote(flt)}") as r:
        first = json.load(r)
    assert ("numberMatched" in first) == (server.kind == "embedded")
    served = pyogrio.read_dataframe(f"OAPIF:{server.url}/collections/receptors?filter={quote(flt)}",
                                    fid_as_index=True)
    assert sorted(served.index) == sorted(keep["id"])
