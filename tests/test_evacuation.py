"""Evacuation to shelters: whole people, every capacity respected, everyone placeable placed, the last person out
as early as possible (checked by max flow on faster pairs), the fewest person-minutes (checked against networkx's
min-cost flow on small cases), and the API on both stores."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis.resources import evacuation as ev
from gis_service.api.app import create_app
from gis_service.config import Settings


@st.composite
def case(draw):
    r, s = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    times = np.array([[draw(st.sampled_from([np.inf, *range(60, 1800, 60)])) for _ in range(s)] for _ in range(r)])
    people = np.array([draw(st.integers(0, 40)) for _ in range(r)], dtype=np.int64)
    cap = np.array([draw(st.integers(1, 50)) for _ in range(s)], dtype=np.int64)
    return times, people, cap


def _nx_min_cost(times, people, cap, t_star, placed):
    """Reference: networkx network simplex on the pairs ≤ T*, with a demand of ``placed`` people."""
    g = nx.DiGraph()
    g.add_node("src", demand=-int(placed))
    g.add_node("sink", demand=int(placed))
    for i, p in enumerate(people):
        g.add_edge("src", ("o", i), capacity=int(p), weight=0)
    for j, c in enumerate(cap):
        g.add_edge(("s", j), "sink", capacity=int(c), weight=0)
    for i, j in zip(*np.nonzero(times <= t_star), strict=True):
        g.add_edge(("o", i), ("s", j), weight=int(times[i, j]))
    flow = nx.min_cost_flow(g)
    return sum(flow[("o", i)].get(("s", j), 0) * int(times[i, j]) for i, j in zip(*np.nonzero(times <= t_star),
                                                                                    strict=True))


@settings(max_examples=200, deadline=None)
@given(case())
def test_assignment_respects_capacities_and_is_optimal(c):
    times, people, cap = c
    x, t_star, _ = ev.assign(times, people, cap)
    assert x.dtype.kind == "i" and (x >= 0).all()
    assert (x.sum(axis=0) <= cap).all(), "a shelter over capacity"
    assert (x.sum(axis=1) <= people).all(), "more people moved than live there"
    assert not (x[~np.isfinite(times)] > 0).any(), "people sent where no road goes"
    best = ev._max_flow(np.isfinite(times), people, cap)
    assert x.sum() == best, "not everyone placeable was placed"
    if best == 0:
        return
    assert times[x > 0].max() == t_star
    faster = times < t_star
    assert ev._max_flow(faster, people, cap) < best, "the last person could have been out earlier"
    assert int((x * np.where(np.isfinite(times), times, 0)).sum()) == _nx_min_cost(times, people, cap, t_star, best)


def test_the_last_person_out_comes_before_person_minutes():
    # origin 1 can only reach shelter 0 in time; so origin 0 sends 10 there and 20 to the far shelter (T* = 600 s),
    # although sending all of origin 0 to the near shelter would cost fewer person-minutes with T = 660 s
    times = np.array([[60.0, 600.0], [120.0, 660.0]])
    x, t_star, _ = ev.assign(times, np.array([30, 30]), np.array([40, 100]))
    assert t_star == 600.0 and x.tolist() == [[10, 20], [30, 0]]


# ---------------------------------------------------------------- API on both stores

@pytest.fixture(scope="module", params=["embedded", "postgis"])
def client(request, sample_stores):
    return TestClient(create_app(Settings(), sample_stores[request.param]))


def _a_source_with_people(client):
    for fid in range(1, 60):
        r = client.get(f"/analysis/exposure/hazard_sources/{fid}")
        if r.status_code == 200 and r.json()["metadata"]["exposure"]["total_population"] > 1000:
            return fid
    pytest.skip("no hazard source with people in its zones")


def test_evacuation_from_an_exposure_result(client):
    fid = _a_source_with_people(client)
    r = client.post("/analysis/resources/evacuate", json={"layer": "hazard_sources", "id": fid})
    assert r.status_code == 200, r.text
    doc = r.json()
    meta = doc["metadata"]
    shelters = [f["properties"] for f in doc["features"] if f["properties"]["role"] == "shelter"]
    flows = [f for f in doc["features"] if f["properties"]["role"] == "flow"]
    assert meta["people"] > 0 and meta["placed"] == sum(f["properties"]["people"] for f in flows)
    assert all(s["assigned"] <= s["capacity"] for s in shelters)
    assert meta["time_until_last_out_min"] == max(f["properties"]["eta_min"] for f in flows)
    assert all(f["geometry"]["type"] == "LineString" for f in flows)
    assert [s["id"] for s in meta["shelters_fill_first"]] == [
        s["id"] for s in sorted((s for s in shelters if s["full"]), key=lambda s: (s["fills_at_min"], s["id"]))]


@pytest.mark.parametrize("body, field", [
    ({"layer": "hazard_sources"}, "id"),
    ({"layer": "hazard_sources", "id": 1, "levels": ["purple"]}, "levels"),
    ({"layer": "hazard_sources", "id": 1, "scenario": {"wind_speed_m_s": -3}}, "wind_speed_m_s"),
])
def test_bad_evacuation_input_is_a_400(client, body, field):
    r = client.post("/analysis/resources/evacuate", json=body)
    assert r.status_code == 400 and field in r.text, r.text


def test_unknown_source_is_a_404(client):
    assert client.post("/analysis/resources/evacuate", json={"layer": "hazard_sources", "id": 999999}).status_code == 404
