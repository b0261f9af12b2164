"""Outages answered and survived, against a PostgreSQL cluster of the test's own (tests/pg_cluster.py;
the shared server is never touched): the database stopped under load, frozen under load, and down
when the service starts. Every answer is 2xx or a 503 JSON body with Retry-After; nothing hangs
beyond the configured timeouts; no connection is dropped; the service recovers without a restart.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from conftest import ServerProcess, fill, free_port

from gis_service.stores.postgis import PostGISStore

pytestmark = pytest.mark.postgis

CONNECT_S, STATEMENT_S = 2, 2
# the longest any answer may take: the client-side deadline (statement + connect timeout) plus a
# connect attempt plus scheduling slack on a busy 2-core machine
BOUND_S = STATEMENT_S + CONNECT_S + CONNECT_S + 4
PATHS = ["/collections/rescue_teams/items?limit=5", "/collections/receptors/items/3",
         "/analysis/rescue/nearest?lon=125.5&lat=43.8&incident=chemical&k=3"]


@pytest.fixture
def cluster(postgis_url):  # postgis_url: PostGIS is installed here (skips/fails like the other tests)
    from pg_cluster import OwnPostgres

    pg = OwnPostgres(free_port())
    try:
        pg.start()
        pg.create_postgis()
        yield pg
    finally:
        pg.destroy()


def _fill(pg, catalog, dataset) -> None:
    store = PostGISStore(catalog, pg.url)
    store.init()
    fill(store, catalog, dataset)
    store.close()


def _server(pg, workers: int = 1) -> ServerProcess:
    return ServerProcess({"GIS_STORE": "postgis", "GIS_DATABASE_URL": pg.url, "GIS_LOG_LEVEL": "ERROR",
                          "GIS_DB_CONNECT_TIMEOUT_S": str(CONNECT_S),
                          "GIS_DB_STATEMENT_TIMEOUT_S": str(STATEMENT_S)}, workers=workers)


class Load:
    """Client threads requesting PATHS in a loop; every answer is recorded (or the exception)."""

    def __init__(self, url: str, clients: int = 6, paths: list[str] = PATHS):
        self.url, self.clients, self.paths = url, clients, paths
        self.results: list[tuple[float, str, int | None, float, str]] = []  # (t, path, status, secs, problem)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def _run(self, i: int) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            n = i
            while not self._stop.is_set():
                path = self.paths[n % len(self.paths)]
                n += 1
                t0 = time.monotonic()
                problem, status = "", None
                try:
                    r = http.get(path)
                    status = r.status_code
                    if status == 503:
                        doc = r.json()
                        if doc.get("code") != "ServiceUnavailable" or "retry-after" not in r.headers:
                            problem = f"503 without JSON body or Retry-After: {r.text[:200]}"
                    elif not 200 <= status < 300:
                        problem = f"{status}: {r.text[:200]}"
                except Exception as exc:  # noqa: BLE001 - a dropped connection or a client timeout
                    problem = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self.results.append((t0, path, status, time.monotonic() - t0, problem))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self.threads:
            t.join(timeout=BOUND_S + 60)

    def since(self, t: float):
        return [r for r in self.results if r[0] >= t]


def _check_answers(results) -> None:
    problems = [r for r in results if r[4]]
    assert not problems, problems[:5]
    slow = [r for r in results if r[3] > BOUND_S]
    assert not slow, f"{len(slow)} answers took longer than {BOUND_S} s: {slow[:3]}"


def _recovers(url: str, within_s: float = 30) -> None:
    deadline = time.monotonic() + within_s
    with httpx.Client(base_url=url, timeout=BOUND_S + 5) as http:
        while True:
            statuses = [http.get(p).status_code for p in ["/readyz", *PATHS]]
            if all(s < 500 for s in statuses) and statuses[0] == 200:  # an empty store may answer 404
                return
            assert time.monotonic() < deadline, f"no recovery within {within_s} s: {statuses}"
            time.sleep(0.5)


def test_database_stopped_under_load(cluster, catalog, dataset):
    _fill(cluster, catalog, dataset)
    with _server(cluster) as srv, Load(srv.url) as load:
        time.sleep(2)
        assert load.results and all(r[2] == 200 for r in load.results), load.results[:3]
        down = time.monotonic()
        cluster.stop()
        time.sleep(4)
        outage = load.since(down + 1)
        assert outage and all(r[2] == 503 for r in outage), outage[:5]
        with httpx.Client(base_url=srv.url) as http:
            assert http.get("/healthz").status_code == 200
            assert http.get("/readyz").status_code == 503
        cluster.start()
        _recovers(srv.url)
        time.sleep(1)
    _check_answers(load.results)


def test_database_frozen_under_load(cluster, catalog, dataset):
    _fill(cluster, catalog, dataset)
    with _server(cluster) as srv, Load(srv.url) as load:
        time.sleep(2)
        frozen = time.monotonic()
        cluster.freeze()
        try:
            time.sleep(BOUND_S + 4)
        finally:
            cluster.thaw()
        during = [r for r in load.since(frozen) if r[0] + r[3] < frozen + BOUND_S + 4]
        assert any(r[2] == 503 for r in during), "no 503 while the database was frozen"
        _recovers(srv.url)
    _check_answers(load.results)


def test_service_starts_while_database_is_down_and_recovers(cluster, catalog, dataset):
    cluster.stop()
    with _server(cluster) as srv, httpx.Client(base_url=srv.url, timeout=BOUND_S + 5) as http:
        assert http.get("/healthz").status_code == 200
        r = http.get("/readyz")
        assert r.status_code == 503 and r.headers["retry-after"] and r.json()["code"] == "ServiceUnavailable"
        r = http.get(PATHS[0])
        assert r.status_code == 503 and r.json()["code"] == "ServiceUnavailable"
        cluster.start()
        _recovers(srv.url)  # tables created on first use, no restart
        assert http.get("/collections/rescue_teams/items").json()["numberMatched"] == 0


# -- issue 24: a frozen database answered within GIS_DB_DEADLINE_S; a restart costs no request ----------

DEADLINE_S = 3.0
SLACK_S = 1.5   # scheduling on a busy 2-core machine, the HTTP round trip


def _first_answers(load: Load, within_s: float = 15) -> None:
    """Let the clients run 2 s after their first answers (a busy machine may take longer to answer the first)."""
    deadline = time.monotonic() + within_s
    while not load.results and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)


def _deadline_server(pg) -> ServerProcess:
    """Timeouts far above the deadline (as in production: 5 s connect, 30 s statements), so only the
    liveness deadline can explain a fast answer."""
    return ServerProcess({"GIS_STORE": "postgis", "GIS_DATABASE_URL": pg.url, "GIS_LOG_LEVEL": "ERROR",
                          "GIS_DB_CONNECT_TIMEOUT_S": "5", "GIS_DB_STATEMENT_TIMEOUT_S": "30",
                          "GIS_DB_DEADLINE_S": str(DEADLINE_S)})


# the monitoring reading store (monitoring/pgstore.py: raw psycopg, a pool of its own) has the same deadline
MONITORING_PATHS = ["/monitoring/alarms?limit=5", "/monitoring/stats", "/monitoring/alarms?status=all&limit=3"]
PATH_SETS = pytest.mark.parametrize("paths", [PATHS, MONITORING_PATHS], ids=["layers", "monitoring"])


@PATH_SETS
def test_frozen_database_answers_503_within_the_deadline(cluster, catalog, dataset, paths):
    _fill(cluster, catalog, dataset)
    with _deadline_server(cluster) as srv:
        with Load(srv.url, paths=paths) as load:
            _first_answers(load)
            assert load.results and all(r[2] == 200 for r in load.results), load.results[:3]
            frozen = time.monotonic()
            cluster.freeze()
            try:
                time.sleep(3 * DEADLINE_S)
                with httpx.Client(base_url=srv.url, timeout=30) as http:  # a fresh client during the freeze
                    t0 = time.monotonic()
                    r = http.get(paths[0])
                    fresh = time.monotonic() - t0
                    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0, r.text
                    assert fresh < SLACK_S, f"a request during a known freeze took {fresh:.1f} s"
            finally:
                cluster.thaw()
            thawed = time.monotonic()
            time.sleep(3)
        during = [r for r in load.results if frozen <= r[0] < thawed]
        assert any(r[2] == 503 for r in during), "no 503 while the database was frozen"
        slow = [r for r in during if r[3] > DEADLINE_S + SLACK_S]
        assert not slow, f"{len(slow)} answers during the freeze took longer than the deadline: {slow[:3]}"
        after = [r for r in load.results if r[0] >= thawed + 1.5]
        assert after and all(r[2] == 200 for r in after), f"not recovered 1.5 s after the thaw: {after[:3]}"
    _check_answers([r for r in load.results if r[2] != 503])


@PATH_SETS
def test_restart_then_request_gets_no_503(cluster, catalog, dataset, paths):
    _fill(cluster, catalog, dataset)
    with _deadline_server(cluster) as srv:
        with Load(srv.url, clients=6, paths=paths) as load:  # six clients at once: several pooled connections
            _first_answers(load)
        assert load.results and all(r[2] == 200 for r in load.results), load.results[:3]
        cluster.stop()
        cluster.start()     # every pooled connection is now dead
        time.sleep(1)
        with Load(srv.url, clients=6, paths=paths) as again:
            time.sleep(3)
        bad = [r for r in again.results if r[2] != 200]
        assert again.results and not bad, f"{len(bad)} of {len(again.results)} requests failed after a restart: {bad[:3]}"
