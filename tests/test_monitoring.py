"""Live monitoring without a broker: kinds and their sources, payload checks, the alarm rules with
hysteresis, both reading stores (SQLite side file and PostgreSQL partitions), and the /monitoring API."""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.catalog import default_catalog
from gis_service.monitoring import rules as R
from gis_service.monitoring.kinds import kinds, sensor_rules
from gis_service.monitoring.readings import FloodGuard, parse_messages, parse_rows, validate

NOW = time.time()


# -- kinds ----------------------------------------------------------------------------------------

def test_kinds_table_matches_the_layer_spec_and_names_sources():
    spec = default_catalog()["sensors"]
    assert set(spec.attribute("kind").enum) == set(kinds())
    for k in kinds().values():
        assert k.source and k.confidence in ("V", "S", "M"), k.kind
        assert k.applies_to in spec.attribute("source_layer").enum


def test_gas_alarm_defaults_are_the_gb_t_50493_2019_set_points():
    """GB/T 50493-2019 §5.5: flammable gas first/second alarm ≤ 25 / 50 %LEL; toxic ≤ 100 / 200 %OEL."""
    fl, tox = kinds()["flammable_gas"], kinds()["toxic_gas"]
    assert (fl.unit, fl.defaults["high"], fl.defaults["high_high"]) == ("%LEL", 25.0, 50.0)
    assert (tox.unit, tox.defaults["high"], tox.defaults["high_high"]) == ("%OEL", 100.0, 200.0)
    assert "GB/T 50493" in fl.source and fl.confidence == "V"


def test_phreatic_orange_is_1_1_times_red_per_gb_51108():
    k = kinds()["phreatic_depth"]
    assert k.defaults["low"] == pytest.approx(1.1 * k.defaults["low_low"])
    assert "GB 51108" in k.source


# -- fixtures: a tiny sensors layer -----------------------------------------------------------------

def _rules(**over):
    import geopandas as gpd
    from shapely.geometry import Point

    rows = [
        {"id": 1, "kind": "flammable_gas", "unit": "%LEL", "source_layer": "hazard_sources", "source_id": 1},
        {"id": 2, "kind": "tank_level", "unit": "%", "source_layer": "hazard_sources", "source_id": 1},
        {"id": 3, "kind": "phreatic_depth", "unit": "m", "source_layer": "tailings_dams", "source_id": 1},
        {"id": 7, "kind": "pressure", "unit": "MPa", "source_layer": "hazard_sources", "source_id": 2},
    ]
    for r in rows:
        for name in ("low_low", "low", "high", "high_high", "rate_per_h", "deadband", "stale_min"):
            r.setdefault(name, over.get(name))
    df = gpd.GeoDataFrame(rows, geometry=[Point(125, 43.8)] * len(rows), crs="EPSG:4326").set_index("id")
    return sensor_rules(df)


def _batch(rules, readings, **kw):
    """readings: (sensor, t, value[, quality]) → a validated Batch."""
    p = parse_rows([{"sensor_id": s, "time": t, "value": v, "quality": (q[0] if q else 0)} for s, t, v, *q in readings])
    return validate(p, rules, max_future_s=300, max_age_s=86400 * 30, now=kw.get("now", NOW)), p


def _run(rules, readings, states=None):
    b, _ = _batch(rules, readings)
    states = {} if states is None else states
    out = R.evaluate(b, rules, states)
    states.update(out.all_states())
    return out.ops, states


# -- rules ----------------------------------------------------------------------------------------

def test_value_hovering_at_a_threshold_opens_one_alarm_and_does_not_flap():
    rules = _rules()
    wobble = [24.5, 25.5, 24.8, 25.2, 24.1, 25.9, 23.5, 24.9]       # around 25 %LEL, deadband 2
    ops, st = _run(rules, [(1, NOW - 100 + i, v) for i, v in enumerate(wobble)])
    assert [(o.kind, o.rule, o.level) for o in ops] == [("open", "high", 1)]
    ops, st = _run(rules, [(1, NOW - 50, 22.9)], st)                   # below 25 − 2: clears
    assert [(o.kind, o.rule) for o in ops] == [("close", "high")]


def test_without_deadband_the_same_series_would_flap():
    rules = _rules(deadband=0.0)
    wobble = [24.5, 25.5, 24.8, 25.2, 24.1, 25.9]
    ops, _ = _run(rules, [(1, NOW - 100 + i, v) for i, v in enumerate(wobble)])
    assert len(ops) == 5  # open, close, open, close, open: the hysteresis test above can fail


def test_levels_escalate_and_fall_back():
    rules = _rules()
    ops, _ = _run(rules, [(1, NOW - 10, 30), (1, NOW - 9, 60), (1, NOW - 8, 49), (1, NOW - 7, 40), (1, NOW - 6, 5)])
    assert [(o.kind, o.level) for o in ops] == [("open", 1), ("change", 2), ("change", 1), ("close", 1)]


def test_low_low_on_phreatic_depth_and_rate_of_change():
    rules = _rules()
    ops, _ = _run(rules, [(3, NOW - 7200, 8.0), (3, NOW - 3600, 6.4), (3, NOW - 1800, 5.5)])
    got = [(o.kind, o.rule, o.level) for o in ops]
    assert ("open", "low", 1) in got and ("change", "low", 2) in got
    assert ("open", "rate", 1) in got   # 1.6 m/h > 0.5 m/h


def test_bad_quality_reading_is_stored_but_not_judged():
    rules = _rules()
    b, _ = _batch(rules, [(1, NOW - 5, 80.0, 2)])
    assert len(b) == 1
    assert R.evaluate(b, rules, {}).ops == []


def test_stale_sensor_opens_then_closes_with_the_next_reading():
    rules = _rules()
    _, st = _run(rules, [(2, NOW - 3600, 50.0)])
    out = R.stale_ops(st, rules, NOW)           # tank level: stale after 10 min
    assert [(o.kind, o.rule) for o in out.ops] == [("open", "stale")]
    st.update(out.states)
    ops, _ = _run(rules, [(2, NOW - 1, 50.0)], st)
    assert [(o.kind, o.rule) for o in ops] == [("close", "stale")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 7]), st.floats(-5, 120, allow_nan=False)), min_size=1, max_size=60))
def test_vectorised_screening_gives_the_same_alarms_as_stepping_every_reading(seq):
    """The numpy pre-screen only skips sensors that cannot change state: compare with the plain loop."""
    rules = _rules()
    readings = [(s, NOW - 1000 + i * 7.0, v) for i, (s, v) in enumerate(seq)]
    fast, _ = _run(rules, readings)
    b, _ = _batch(rules, readings)
    slow, states = [], {}
    for i in range(len(b)):
        s = int(b.sensor[i])
        stt = states.setdefault(s, R.State())
        R.step(s, stt, rules.thresholds(int(b.row[i])), float(b.t[i]), float(b.value[i]), 0, slow, str(rules.unit[b.row[i]]))
    key = [(o.kind, o.sensor, o.rule, o.level, o.t) for o in fast]
    assert key == [(o.kind, o.sensor, o.rule, o.level, o.t) for o in slow]


# -- bad input --------------------------------------------------------------------------------------

def test_bad_messages_are_counted_by_reason_and_good_ones_kept():
    rules = _rules()
    good = json.dumps({"time": NOW - 1, "value": 3.0}).encode()
    msgs = [
        ("riskmap/readings/1", good),
        ("riskmap/readings/999", good),                                            # unknown sensor
        ("riskmap/readings/abc", good),                                            # malformed topic
        ("riskmap/readings/1", b"{not json"),                                      # malformed JSON
        ("riskmap/readings/1", b'{"time": 1, "value": 1e999}'),                    # non-finite (inf)
        ("riskmap/readings/2", json.dumps({"time": NOW + 86400, "value": 1}).encode()),   # future
        ("riskmap/readings/2", json.dumps({"time": NOW - 1, "value": 1, "unit": "ppm"}).encode()),  # wrong unit
        ("riskmap/readings/2", json.dumps({"time": "yesterday", "value": 1}).encode()),  # bad time
        ("riskmap/readings/2", json.dumps({"time": "2026-01-01T00:00:00", "value": 1}).encode()),  # no offset
        ("riskmap/readings/2", json.dumps({"value": 1}).encode()),                  # missing time
        ("riskmap/readings/2", b"x" * (10 * 1024 * 1024)),                          # 10 MB
        ("riskmap/readings/7", json.dumps({"time": NOW - 2, "value": 0.5, "unit": "MPa"}).encode()),
    ]
    p = parse_messages(msgs, "riskmap/readings", 65536)
    b = validate(p, rules, max_future_s=300, max_age_s=86400 * 365 * 100, now=NOW)
    assert sorted(b.sensor.tolist()) == [1, 7]
    assert p.rejected == Counter({"unknown_sensor": 1, "malformed_topic": 1, "malformed_json": 1, "non_finite": 1,
                                  "future_time": 1, "wrong_unit": 1, "bad_time": 2, "missing_field": 1,
                                  "oversize": 1})


def test_a_flooding_sensor_is_cut_to_its_budget_and_others_pass():
    rules = _rules()
    flood = FloodGuard(rate=10, burst=50)
    rows = [(1, NOW - 100 + i * 0.001, 1.0) for i in range(5000)] + [(2, NOW - 5, 50.0), (7, NOW - 5, 1.0)]
    p = parse_rows([{"sensor_id": s, "time": t, "value": v} for s, t, v in rows])
    b = validate(p, rules, max_future_s=300, max_age_s=1e9, flood=flood, now=NOW)
    assert int((b.sensor == 1).sum()) == 50 and p.rejected["flood"] == 4950
    assert {2, 7} <= set(b.sensor.tolist())


# -- the reading stores -------------------------------------------------------------------------------

@pytest.fixture(params=["embedded", "postgis"])
def reading_store(request, tmp_path):
    if request.param == "postgis":
        from conftest import database_url

        from gis_service.monitoring.pgstore import PgReadings

        url = database_url(request.getfixturevalue("postgis_url"), "gis_test_readings")
        store = PgReadings(url)
        store.drop()
    else:
        from gis_service.monitoring.sqlitestore import SqliteReadings

        store = SqliteReadings(tmp_path / "r.sqlite")
    store.init()
    yield store
    store.close()


def _commit(store, rules, readings):
    b, p = _batch(rules, readings)
    return store.commit(b, lambda states: R.evaluate(b, rules, states), p.rejected)


def test_store_keeps_readings_once_and_runs_the_alarm_lifecycle(reading_store):
    rules = _rules()
    rows = [(1, NOW - 60 + i, v) for i, v in enumerate([10, 20, 30, 35, 60])]
    written, ops = _commit(reading_store, rules, rows)
    assert written == 5 and [(o.kind, o.level) for o in ops] == [("open", 1), ("change", 2)]
    written, ops = _commit(reading_store, rules, rows)                 # a redelivery: stored once
    assert written == 0 and ops == []
    assert reading_store.count_readings() == 5
    assert reading_store.counters()["duplicate"] == 5
    [alarm] = reading_store.alarms("open", None, 10)
    assert (alarm["rule"], alarm["level"], alarm["peak_value"]) == ("high", 2, 60.0)
    acked = reading_store.acknowledge(alarm["id"], "editor:abcd1234", "crew sent")
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "editor:abcd1234"
    _commit(reading_store, rules, [(1, NOW - 10, 3.0)])
    closed = reading_store.alarm(alarm["id"])
    assert closed["status"] == "closed" and closed["closed_at"]
    assert [h["event"] for h in closed["history"]] == ["opened", "changed", "acknowledged", "closed"]
    events = reading_store.events_since(0)
    assert [json.loads(d)["event"] for _, d in events] == ["opened", "changed", "acknowledged", "closed"]
    series = reading_store.series(1, NOW - 3600, NOW + 1, 100)
    assert [v for _, v, _ in series] == [10, 20, 30, 35, 60, 3.0]
    assert math.isclose(series[0][0], NOW - 60, abs_tol=1e-5)


def test_store_bins_each_sensors_last_reading_per_step(reading_store):
    """The replay slider's readings: per sensor and 5-minute bin the latest reading, only bins that have one,
    nothing outside [t0, t1), ordered by sensor and bin, cut at the limit."""
    rules = _rules()
    t0 = NOW - 3600
    rows = [(1, t0 - 5, 9.0), (1, t0 + 10, 5.0), (1, t0 + 250, 6.0), (1, t0 + 310, 7.0), (2, t0 + 299.5, 51.0),
            (2, t0 + 1800.2, 52.0), (2, t0 + 1900.0, 99.0, 2), (7, NOW + 30, 1.0)]  # bad quality (2): left out
    _commit(reading_store, rules, rows)
    got = reading_store.binned(t0, NOW, 300.0, 100)
    assert got == [(1, 0, 6.0), (1, 1, 7.0), (2, 0, 51.0), (2, 6, 52.0)]
    assert reading_store.binned(t0, NOW, 300.0, 3) == got[:3]
    assert reading_store.binned(t0, NOW, 3600.0, 100) == [(1, 0, 7.0), (2, 0, 52.0)]
    assert reading_store.binned(NOW + 100, NOW + 200, 300.0, 100) == []


def test_retention_rolls_old_readings_up_to_hours(reading_store):
    rules = _rules()
    day = 86400.0
    old = [(2, NOW - 3 * day + i * 60.0, 40.0 + i) for i in range(5)]
    b, p = _batch(rules, old)
    reading_store.commit(b, lambda s: R.evaluate(b, rules, s), p.rejected)
    _commit(reading_store, rules, [(2, NOW - 5, 50.0)])
    report = reading_store.maintain(1.0, NOW)
    assert reading_store.count_readings() == 1
    hourly = reading_store.hourly(2, NOW - 4 * day, NOW)
    assert sum(h[1] for h in hourly) == 5 and min(h[2] for h in hourly) == 40.0 and max(h[3] for h in hourly) == 44.0
    assert report


def test_postgres_readings_table_is_partitioned_by_day(postgis_url):
    import psycopg
    from conftest import database_url

    from gis_service.monitoring.pgstore import PgReadings

    url = database_url(postgis_url, "gis_test_readings")
    store = PgReadings(url)
    store.drop()
    store.init()
    rules = _rules()
    _commit(store, rules, [(1, NOW - 2 * 86400, 1.0), (1, NOW - 1, 1.0)])
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        strategy = conn.execute("SELECT partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                                "WHERE c.relname = 'readings'").fetchone()[0]
        parts = [r[0] for r in conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'readings'")]
    assert strategy == "r" and len(parts) >= 3 and all(p.startswith("readings_20") for p in parts)
    store.close()


def test_postgres_reads_share_a_bounded_psycopg_pool(postgis_url):
    """Reads go through psycopg_pool: many threads at once use at most pool_size server connections, the
    store works again after close(), and an unreachable server answers MonitoringUnavailable in bounded time."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg
    from conftest import database_url, free_port
    from psycopg_pool import ConnectionPool

    from gis_service.monitoring.pgstore import PgReadings
    from gis_service.monitoring.storebase import MonitoringUnavailable

    url = database_url(postgis_url, "gis_test_readings")
    store = PgReadings(url, pool_size=3)
    store.init()
    app_name = f"pool-test-{time.time_ns()}"
    store.url += f"?application_name={app_name}"

    def busy(_):
        with store._read() as conn:
            conn.execute("SELECT pg_sleep(0.05)")
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                (app_name,)).fetchone()[0]

    with ThreadPoolExecutor(12) as ex:
        seen = list(ex.map(busy, range(36)))
    stats = store._pool.get_stats()
    assert isinstance(store._pool, ConnectionPool) and stats["pool_max"] == 3 and stats["requests_num"] >= 36
    assert 1 <= max(seen) <= 3 and stats.get("connections_num", 0) <= 3 and store.last_seq() >= 0
    store.close()
    assert store.last_seq() >= 0  # a new pool after close()
    store.close()
    with psycopg.connect(url.replace("+psycopg", "")) as conn:  # nothing left open by the store
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            (app_name,)).fetchone()[0] == 0
    down = PgReadings(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    t0 = time.monotonic()
    with pytest.raises(MonitoringUnavailable):
        down.last_seq()
    assert time.monotonic() - t0 < PgReadings.POOL_WAIT_S + 5  # bounded (generous: a loaded machine)
    down.close()


def test_store_records_each_escalation_step_once_and_stops_at_acknowledgement(reading_store):
    """Issue 20: escalation steps are events, recorded once (also when two processes race), only while open."""
    rules = _rules()
    _commit(reading_store, rules, [(1, NOW - 60, 10.0), (1, NOW - 59, 30.0)])
    [(alarm_id, sensor_id, level, opened_at, done)] = reading_store.escalation_candidates()
    assert (sensor_id, level, done) == (1, 1, 0) and math.isclose(opened_at, NOW - 59, abs_tol=1e-3)
    first = reading_store.escalate(alarm_id, 1, "2201", "city", NOW)
    assert first is not None and json.loads(first[1])["to"] == "2201"
    assert reading_store.escalate(alarm_id, 1, "2201", "city", NOW) is None        # once
    assert reading_store.escalation_candidates()[0][4] == 1
    routes = reading_store.routes([alarm_id])
    assert [(step, to) for _seq, step, to, _at in routes[alarm_id]] == [(1, "2201")]
    assert routes[alarm_id][0][0] == first[0]
    reading_store.acknowledge(alarm_id, "editor:x", None)
    assert reading_store.escalate(alarm_id, 2, "22", "province", NOW) is None      # acknowledged: stops
    assert reading_store.escalation_candidates() == []
    assert [json.loads(d)["event"] for _, d in reading_store.events_since(0)] == ["opened", "escalated", "acknowledged"]
    only = reading_store.alarms(None, None, 10, [7])
    assert only == [] and len(reading_store.alarms(None, None, 10, [1, 7])) == 1
