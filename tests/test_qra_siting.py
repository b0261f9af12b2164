"""Siting uses the QRA: a school inside the 3×10⁻⁷ contour of a new installation fails the external-safety rule,
outside it passes; without an inventory the screening distance is used and the outcome says so."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fill, services_for
from shapely.geometry import Point

from gis_service import geodesy
from gis_service.analysis.qra import data as qra_data
from gis_service.analysis.qra import engine as qra
from gis_service.analysis.siting.results import Proposal
from gis_service.stores.embedded import EmbeddedStore

LON, LAT = 125.4, 43.95
INVENTORY = [{"substance": "chlorine", "cas": "7782-50-5", "quantity_t": 20.0}]


def _radius_3e7() -> float:
    res = qra.compute([qra.Installation(None, None, "x", Point(LON, LAT), INVENTORY, "storage")],
                      qra_data.qra_params())
    geom = geodesy.to_local(dict(res.contours)[3e-7], *res.origin)
    ring = np.asarray(geom.exterior.coords) if geom.geom_type == "Polygon" else np.asarray(
        max(geom.geoms, key=lambda g: g.area).exterior.coords)
    return float(np.hypot(ring[:, 0], ring[:, 1]).mean())


@pytest.fixture
def one_school_store(tmp_path, catalog):
    store = EmbeddedStore(catalog, tmp_path / "school.gpkg")
    store.init()
    fill(store, catalog, {"receptors": [(Point(LON, LAT), {"name": "第一小学", "receptor_class": "school",
                                                           "population": 800})]})
    yield store
    store.close()


def _proposal_at(distance_m: float) -> Proposal:
    lon, lat, _ = geodesy.WGS84.fwd(LON, LAT, 90.0, distance_m)
    return Proposal(Point(lon, lat), "installation", "新建液氯储罐", INVENTORY)


def test_school_inside_the_3e7_contour_of_a_new_installation_fails(one_school_store):
    r = _radius_3e7()
    assert 30 < r < 2000
    out = services_for(one_school_store).siting.check(_proposal_at(0.6 * r), only=["external_safety_distance"]).outcome(
        "external_safety_distance")
    assert out.outcome == "fail"
    hit = out.offending[0]
    assert hit["name"] == "第一小学" and hit["criterion_per_year"] == 3e-7 and hit["ir_per_year"] > 3e-7
    assert "new" in out.threshold_basis and "GB 36894" in out.threshold_basis


def test_school_outside_the_3e7_contour_passes(one_school_store):
    r = _radius_3e7()
    out = services_for(one_school_store).siting.check(_proposal_at(1.5 * r), only=["external_safety_distance"]).outcome(
        "external_safety_distance")
    assert out.outcome == "pass" and not out.offending
    assert 0 < out.measured < 1  # the school's IR is below its criterion, but not zero


def test_without_inventory_the_screening_distance_is_used_and_said(one_school_store):
    lon, lat, _ = geodesy.WGS84.fwd(LON, LAT, 90.0, 500.0)
    p = Proposal(Point(lon, lat), "installation", "无存量", None)
    out = services_for(one_school_store).siting.check(p, only=["external_safety_distance"]).outcome("external_safety_distance")
    assert out.outcome == "fail" and out.threshold == 1000
    assert "no inventory" in out.threshold_basis and "not from a standard" in out.threshold_basis
