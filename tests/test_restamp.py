"""`gis-service restamp` on both stores (issue 20): rows stored before jurisdictions (admin_code NULL) get the
county holding them from the admin areas layer; admin areas get their own code; a row outside every admin area
stays NULL; a row already stamped is left alone; a county caller may not restamp; a second run stamps nothing.

Rows are written with ``Store.replace_all`` directly (under the layers facade, which would stamp them), so
they start NULL as in a database filled before jurisdictions. The expected county of each row is the fixture's
own (which county box its point was made in), not the code under test's answer."""

from __future__ import annotations

import pytest
from conftest import database_url
from shapely.geometry import Point
from test_jurisdiction import COUNTIES, _admin_rows, _hazard, _points, _team
from typer.testing import CliRunner

from gis_service import access, cli
from gis_service.access import ScopeDenied
from gis_service.config import Settings, get_settings
from gis_service.services.container import Services
from gis_service.stores.base import Query
from gis_service.stores.embedded import EmbeddedStore
from gis_service.validation import validate_rows

OUTSIDE = Point(100.0, 30.0)          # in no admin area of the fixture


def _unstamped(store) -> dict[str, dict[int, str | None]]:
    """Fill the store with NULL admin codes; return {layer: {id: expected code}}."""
    admin = validate_rows(store.spec("admin_areas"), _admin_rows())
    for r in admin:
        r.properties["admin_code"] = None
    store.replace_all("admin_areas", admin)
    truth: dict[str, dict[int, str | None]] = {"admin_areas": {}}
    for layer, make in (("hazard_sources", _hazard), ("rescue_teams", _team)):
        pairs: list = []
        expected: list[str | None] = []
        for code in COUNTIES:
            for i, p in enumerate(_points(code, 3)):
                pairs.append((p, make(f"{layer}-{code}-{i}")))
                expected.append(code)
        pairs.append((OUTSIDE, make(f"{layer}-outside")))
        expected.append(None)
        rows = validate_rows(store.spec(layer), pairs)
        for r in rows:
            r.properties["admin_code"] = None
        rows[0].properties["admin_code"] = "220202"      # stamped already (wrongly, on purpose): left alone
        expected[0] = "220202"
        ids = store.replace_all(layer, rows)
        truth[layer] = dict(zip(ids, expected, strict=True))
    return truth


def _codes(store, layer: str) -> dict[int, str | None]:
    page = store.items(layer, Query(limit=10_000))
    return {f.id: f.properties.get("admin_code") for f in page.features}


@pytest.fixture(params=["embedded", "postgis"])
def bare(request, tmp_path, catalog):
    if request.param == "postgis":
        from gis_service.stores.postgis import PostGISStore

        url = database_url(request.getfixturevalue("postgis_url"), "gis_test_restamp")
        store = PostGISStore(catalog, url)
        store.drop_all()
        store.init()
        env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": url}
    else:
        path = tmp_path / "restamp.gpkg"
        store = EmbeddedStore(catalog, path)
        store.init()
        env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path)}
    truth = _unstamped(store)
    yield store, truth, env
    store.close()


def test_restamp_fills_null_codes_from_admin_areas(bare, monkeypatch):
    store, truth, env = bare
    assert all(c is None for c in _codes(store, "admin_areas").values())
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["restamp"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "hazard_sources: 8 stamped; 1 outside every admin area (left NULL)" in result.output
    assert "rescue_teams: 8 stamped; 1 outside every admin area (left NULL)" in result.output
    # the CLI wrote through its own store object: this one rereads the changed file / the same database
    admin = store.frame("admin_areas", columns=["code", "admin_code"])
    assert (admin["admin_code"] == admin["code"]).all()             # an admin area's own code
    for layer in ("hazard_sources", "rescue_teams"):
        assert _codes(store, layer) == truth[layer]                   # finest area: the county, not city/province

    svc = Services.build(Settings(), store)
    again = svc.layers.restamp(["hazard_sources"])
    assert again == {"hazard_sources": (0, 1)}                        # nothing left to stamp but the outsider
    with access.scoped("220102"), pytest.raises(ScopeDenied):
        svc.layers.restamp(["hazard_sources"])


def test_restamp_reports_progress_and_counts(bare):
    store, truth, _ = bare
    svc = Services.build(Settings(), store)
    steps: list[tuple[str, int, int]] = []
    result = svc.layers.restamp(["rescue_teams", "admin_areas"], lambda *a: steps.append(a))
    assert list(result) == ["admin_areas", "rescue_teams"]            # admin areas first
    assert result["admin_areas"] == (len(_admin_rows()), 0)
    assert result["rescue_teams"] == (8, 1)
    assert ("rescue_teams", 1, 1) in steps and steps[-1][1] == steps[-1][2]
    # scoped reads now find the county's rows: the stamped codes are what row-level security filters on
    code = next(iter(COUNTIES))
    with access.scoped(code):
        seen = {f.id for f in store.items("hazard_sources", Query(limit=100)).features}
    assert seen == set()                                               # hazard sources were not restamped
    svc.layers.restamp(["hazard_sources"])
    with access.scoped(code):
        seen = {f.id for f in store.items("hazard_sources", Query(limit=100)).features}
    assert seen == {i for i, c in truth["hazard_sources"].items() if c == code}


def test_restamp_is_audited_one_record_per_stamped_feature(bare):
    """Each feature that gets a code leaves one audit record (action 'restamp', who: the command line, the
    feature before with admin_code null and after with its county); the outsider and the row stamped already
    leave none, a second run none; the records are visible to the county as any write of its features."""
    from gis_service.stores.base import AuditQuery

    store, truth, _ = bare
    svc = Services.build(Settings(), store)
    assert all(r["action"] != "restamp" for r in store.audit(AuditQuery(layer="hazard_sources", limit=1000)))
    svc.layers.restamp(["hazard_sources"])
    records = [r for r in store.audit(AuditQuery(layer="hazard_sources", limit=1000)) if r["action"] == "restamp"]
    stamped = {fid: code for fid, code in truth["hazard_sources"].items()
               if code is not None and fid != min(truth["hazard_sources"])}   # the first row was stamped already
    assert sorted(r["feature_id"] for r in records) == sorted(stamped)     # one each, no more
    for r in records:
        assert r["who"] == "local" and r["admin_code"] == stamped[r["feature_id"]]
        assert r["before"]["properties"]["admin_code"] is None
        assert r["after"]["properties"]["admin_code"] == stamped[r["feature_id"]]
        assert r["before"]["geometry"] == r["after"]["geometry"] and r["after"]["id"] == r["feature_id"]
        assert {k: v for k, v in r["before"]["properties"].items() if k != "admin_code"} == \
            {k: v for k, v in r["after"]["properties"].items() if k != "admin_code"}
    svc.layers.restamp(["hazard_sources"])
    again = [r for r in store.audit(AuditQuery(layer="hazard_sources", limit=1000)) if r["action"] == "restamp"]
    assert len(again) == len(records)
    code = next(iter(COUNTIES))
    with access.scoped(code):
        mine = {r["feature_id"] for r in store.audit(AuditQuery(layer="hazard_sources", limit=1000))
                if r["action"] == "restamp"}
    assert mine == {fid for fid, c in stamped.items() if c == code}


def test_restamp_stands_or_falls_with_its_records(bare, monkeypatch):
    """Codes are not written without their audit records (one statement on PostGIS, one file swap embedded)."""
    store, truth, _ = bare
    svc = Services.build(Settings(), store)
    if store.kind == "embedded":
        import gis_service.stores.embedded as emb

        def boom(*a, **k):
            raise OSError("disk full while writing the audit record")

        monkeypatch.setattr(emb, "_append_audit", boom)
        expected: type[Exception] = OSError
    else:
        from sqlalchemy.exc import DBAPIError

        import gis_service.stores.postgis as pg

        monkeypatch.setattr(pg, "RESTAMP_AUDIT_SQL", pg.RESTAMP_AUDIT_SQL.replace("regulated, before", "nope, before"))
        expected = DBAPIError
    with pytest.raises(expected):
        svc.layers.restamp(["hazard_sources"])
    fresh = EmbeddedStore(store.catalog, store.path) if store.kind == "embedded" else store
    assert sum(c is not None for c in _codes(fresh, "hazard_sources").values()) == 1   # only the stamped one
