"""``GET /analysis/rescue/nearest`` reads its query as one model (issue 23, performance): the contract stays FastAPI's.

The route validates its nine query parameters in one call (:func:`gis_service.api.params.query_model`) instead of
FastAPI's per-parameter path. What a caller sees must not change: OpenAPI states every parameter exactly as FastAPI
writes ``Query()`` parameters, and every bad input gets the 400 body FastAPI's per-parameter validation gives (a
reference route below declares the parameters one by one, as the route did before).
"""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from fastapi import FastAPI, Query
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from gis_service.analysis.rescue.inputs import MAX_K
from gis_service.api import errors, rescue
from gis_service.api.app import create_app
from gis_service.api.params import NO_NUL, query_parameters
from gis_service.api.rescue import (
    BY_DOC,
    INCIDENT_DOC,
    K_DOC,
    MAX_PERSONNEL,
    TEAM_TYPES_DOC,
    NearestQuery,
    NearestToFeatureQuery,
)

PATH = "/analysis/rescue/nearest"
FEATURE_PATH = "/analysis/rescue/nearest/{layer}/{fid}"

def _reference_app() -> FastAPI:
    """The route's parameters declared one by one (FastAPI validates each), answering with what it read."""
    app = FastAPI()
    errors.install(app)

    @app.get(PATH)
    def nearest(lon: float = Query(..., ge=-180, le=180, allow_inf_nan=False),
                lat: float = Query(..., ge=-90, le=90, allow_inf_nan=False),
                incident: str = Query(..., max_length=200, pattern=NO_NUL, description=INCIDENT_DOC),
                k: int = Query(5, ge=1, le=MAX_K, description=K_DOC),
                by: Literal["distance", "time"] = Query("distance", description=BY_DOC),
                min_personnel: int = Query(0, ge=0, le=MAX_PERSONNEL),
                on_duty: bool = Query(True), team_types: str | None = Query(None, max_length=500, pattern=NO_NUL,
                                                                             description=TEAM_TYPES_DOC)):
        return {"lon": lon, "lat": lat, "incident": incident, "k": k, "by": by, "min_personnel": min_personnel,
                "on_duty": on_duty, "team_types": team_types}

    return app

def _model_app() -> FastAPI:
    """The same model as FastAPI's own query-parameter model (``Annotated[Model, Query()]``), for its OpenAPI."""
    app = FastAPI()

    @app.get(PATH)
    def nearest(q: Annotated[NearestQuery, Query()]):
        return q

    return app

@pytest.fixture(scope="module")
def service(embedded_store):
    with TestClient(create_app(store=embedded_store), raise_server_exceptions=False) as c:
        yield c

@pytest.mark.parametrize("path", [PATH, FEATURE_PATH])
def test_the_route_reads_no_parameter_one_by_one(path):
    """Failed before: ``/nearest`` declared nine ``Query()`` parameters and ``/nearest/{layer}/{fid}`` six, each
    validated on its own per request; each now reads one pydantic model."""
    route = next(r for r in rescue.router.routes if isinstance(r, APIRoute) and r.path == path)
    assert route.dependant.query_params == []

def test_openapi_states_every_parameter_as_fastapi_writes_it(service):
    ours = service.get("/openapi.json").json()["paths"][PATH]["get"]["parameters"]
    fastapi_own = _model_app().openapi()["paths"][PATH]["get"]["parameters"]
    assert ours == fastapi_own
    assert [p["name"] for p in ours] == list(NearestQuery.model_fields)
    assert query_parameters(NearestQuery) == fastapi_own
    assert all(p["description"] and p["in"] == "query" for p in ours)

BAD = [
    "", "lat=43.8&incident=fire", "lon=126.5&incident=fire", "lon=126.5&lat=43.8",
    "lon=abc&lat=43.8&incident=fire", "lon=181&lat=43.8&incident=fire", "lon=nan&lat=43.8&incident=fire",
    "lon=inf&lat=-inf&incident=fire", "lon=126.5&lat=91&incident=fire", "lon=126.5&lat=43.8&incident=fire&k=0",
    f"lon=126.5&lat=43.8&incident=fire&k={MAX_K + 1}", "lon=126.5&lat=43.8&incident=fire&k=2.5",
    "lon=126.5&lat=43.8&incident=fire&k=", "lon=126.5&lat=43.8&incident=fire&by=walk",
    "lon=126.5&lat=43.8&incident=fire&min_personnel=-1", f"lon=126.5&lat=43.8&incident=fire&min_personnel={2**63}",
    "lon=126.5&lat=43.8&incident=fire&on_duty=maybe", "lon=126.5&lat=43.8&incident=fi%00re",
    "lon=126.5&lat=43.8&incident=" + "x" * 201, "lon=126.5&lat=43.8&incident=fire&team_types=" + "y" * 501,
    "lon=x&lat=y&incident=fire&k=z&by=q&on_duty=w&min_personnel=v",
]

@pytest.mark.parametrize("query", BAD)
def test_bad_input_gets_the_same_400_as_per_parameter_validation(service, query):
    expected = TestClient(_reference_app()).get(f"{PATH}?{query}")
    got = service.get(f"{PATH}?{query}")
    assert expected.status_code == 400
    assert (got.status_code, got.json()) == (400, expected.json())

@pytest.mark.parametrize("query", ["lon=126.55&lat=43.85&incident=chemical",
                                   "lon=126.55&lat=43.85&incident=fire&k=2&by=distance&min_personnel=1&on_duty=false",
                                   "lon=126.55&lat=43.85&incident=chemical&team_types=hazmat&on_duty=1&unknown=3"])
def test_good_input_is_read_as_before(query):
    read = TestClient(_reference_app()).get(f"{PATH}?{query}").json()
    from urllib.parse import parse_qsl

    assert NearestQuery.model_validate(dict(parse_qsl(query))).model_dump() == read

def test_the_answer_uses_every_parameter(service):
    r = service.get(PATH, params={"lon": 126.55, "lat": 43.85, "incident": "chemical", "k": 2,
                                  "team_types": "hazmat", "on_duty": "false"})
    assert r.status_code == 200, r.text
    body = r.json()
    teams = [f for f in body["features"] if f["geometry"]["type"] == "Point"]
    assert 0 < len(teams) <= 2
    assert {f["properties"]["team_type"] for f in teams} == {"hazmat"}


def test_no_path_of_one_router_is_a_path_of_another():
    """``ROUTERS``' order is free (only the number of routes a request is tested against depends on it) while no
    route of one router matches a path of another router's route for the same method."""
    import re

    from gis_service.api import app as app_module
    from gis_service.api import health

    routes = [(m.__name__, r) for m in (health, *app_module.ROUTERS) for r in m.router.routes if isinstance(r, APIRoute)]
    clashes = [(a, r.path, b, o.path) for a, r in routes for b, o in routes
               if a != b and r.methods & o.methods and o.path_regex.match(re.sub(r"\{[^}]+\}", "1", r.path))]
    assert clashes == []


# ---------------------------------------------------------------- GET /analysis/rescue/nearest/{layer}/{fid}


def _feature_reference_app() -> FastAPI:
    """The feature route's query declared one by one, as the route did before (FastAPI validates each)."""
    from gis_service.analysis.rescue.inputs import INCIDENT_BY_LAYER

    app = FastAPI()
    errors.install(app)

    @app.get(FEATURE_PATH)
    def nearest_to_feature(layer: str, fid: int, k: int = Query(5, ge=1, le=MAX_K, description=K_DOC),
                           by: Literal["distance", "time"] = Query("distance", description=BY_DOC),
                           incident: str | None = Query(None, max_length=200, pattern=NO_NUL,
                                                        description=INCIDENT_DOC + "; default from the layer: "
                                                        + ", ".join(f"{a}→{b}" for a, b in INCIDENT_BY_LAYER.items())),
                           min_personnel: int = Query(0, ge=0, le=MAX_PERSONNEL,
                                                      description="only teams with at least this many people"),
                           on_duty: bool = Query(True, description="only teams on duty"),
                           team_types: str | None = Query(None, max_length=500, pattern=NO_NUL,
                                                          description=TEAM_TYPES_DOC)):
        return {"k": k, "by": by, "incident": incident, "min_personnel": min_personnel, "on_duty": on_duty,
                "team_types": team_types}

    return app


def test_the_feature_route_states_its_parameters_as_before(service):
    ours = service.get("/openapi.json").json()["paths"][FEATURE_PATH]["get"]["parameters"]
    reference = _feature_reference_app().openapi()["paths"][FEATURE_PATH]["get"]["parameters"]
    assert [p["name"] for p in ours] == ["layer", "fid", *NearestToFeatureQuery.model_fields]
    assert ours[2:] == reference[2:] == query_parameters(NearestToFeatureQuery)


FEATURE_BAD = ["k=0", f"k={MAX_K + 1}", "k=2.5", "k=", "by=walk", "incident=fi%00re", "incident=" + "x" * 201,
               "min_personnel=-1", f"min_personnel={2**63}", "on_duty=maybe", "team_types=" + "y" * 501,
               "k=z&by=q&on_duty=w&min_personnel=v&incident=%00"]


@pytest.mark.parametrize("query", FEATURE_BAD)
def test_the_feature_route_gives_the_same_400_as_per_parameter_validation(service, query):
    expected = TestClient(_feature_reference_app()).get(f"/analysis/rescue/nearest/hazard_sources/1?{query}")
    got = service.get(f"/analysis/rescue/nearest/hazard_sources/1?{query}")
    assert expected.status_code == 400
    assert (got.status_code, got.json()) == (400, expected.json())


def test_the_feature_route_answers_with_its_query(service):
    r = service.get("/analysis/rescue/nearest/hazard_sources/1", params={"k": 2, "team_types": "hazmat",
                                                                         "on_duty": "false"})
    assert r.status_code == 200, r.text
    teams = [f for f in r.json()["features"] if f["geometry"]["type"] == "Point"]
    assert 0 < len(teams) <= 2 and {f["properties"]["team_type"] for f in teams} == {"hazmat"}
    assert r.json()["metadata"]["incident"] == "chemical"
