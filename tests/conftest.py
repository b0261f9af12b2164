"""Shared fixtures: the catalogue, a small deterministic dataset, and both stores.

PostGIS tests skip when no server answers, unless GIS_REQUIRE_POSTGIS=1 (set by CI), which turns
the skip into a failure. The server is found at GIS_TEST_DATABASE_URL (default: the local
PostgreSQL over TCP with trust auth); the test database ``gis_test`` is created if missing.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon

from gis_service.catalog import default_catalog
from gis_service.config import Settings
from gis_service.services.container import Services
from gis_service.stores.base import WriteBatch
from gis_service.stores.embedded import EmbeddedStore
from gis_service.validation import validate_rows

ADMIN_URL = os.environ.get("GIS_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_DB = os.environ.get("GIS_TEST_DB", "gis_test")
REQUIRE_POSTGIS = os.environ.get("GIS_REQUIRE_POSTGIS", "") not in ("", "0", "false")
REQUIRE_BROWSER = os.environ.get("GIS_REQUIRE_BROWSER", "") not in ("", "0", "false")


_SERVICES: dict[int, Services] = {}


def services_for(store, settings: Settings | None = None) -> Services:
    """The services over ``store`` (one per store and test session, as a process builds them once)."""
    if settings is not None:
        return Services.build(settings, store)
    svc = _SERVICES.get(id(store))
    if svc is None or svc.store is not store:
        svc = _SERVICES[id(store)] = Services.build(Settings(), store)
    return svc


def _postgis_url() -> str | None:
    """URL of a PostGIS test database, creating it when needed; None if unavailable."""
    try:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DB,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{TEST_DB}"')  # noqa: S608 - fixed test identifier
        base = ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{TEST_DB}"
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostGIS here"
        _postgis_url.reason = str(exc)  # type: ignore[attr-defined]
        return None


@pytest.fixture(scope="session")
def postgis_url() -> str:
    url = _postgis_url()
    if url is None:
        reason = f"PostGIS unavailable: {getattr(_postgis_url, 'reason', '?')}"
        if REQUIRE_POSTGIS:
            pytest.fail(reason + " (GIS_REQUIRE_POSTGIS=1 makes this a failure)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def catalog():
    return default_catalog()


# -- a small deterministic dataset around Changchun ----------------------------------------------

def small_dataset(catalog, seed: int = 7) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    data: dict[str, list] = {}
    teams = []
    kinds = ["mine_rescue", "hazmat", "fire", "medical"]
    for i in range(40):
        lon, lat = 125.0 + rng.uniform(0, 1.2), 43.5 + rng.uniform(0, 0.8)
        teams.append((Point(lon, lat), {"name": f"救援队{i:02d}", "team_type": kinds[i % 4],
                                        "personnel": int(rng.integers(5, 120)), "on_duty": bool(i % 5),
                                        "parent_org": "测试", "data_source": "synthetic (tests)"}))
    data["rescue_teams"] = teams
    receptors = []
    classes = ["school", "hospital", "care_home", "residential"]
    for i in range(300):
        lon, lat = 125.0 + rng.uniform(0, 1.2), 43.5 + rng.uniform(0, 0.8)
        receptors.append((Point(lon, lat), {"name": f"目标{i:03d}", "receptor_class": classes[i % 4],
                                            "population": int(rng.integers(0, 3000))}))
    data["receptors"] = receptors
    parks = []
    for i in range(5):
        x, y = 125.1 + 0.2 * i, 43.6 + 0.1 * i
        parks.append((Polygon([(x, y), (x + 0.03, y), (x + 0.03, y + 0.02), (x, y + 0.02)]),
                      {"name": f"园区{i}", "level": "provincial", "planned_area_km2": 5.0}))
    data["chemical_parks"] = parks
    hazards = []
    for i in range(60):
        lon, lat = 125.0 + rng.uniform(0, 1.2), 43.5 + rng.uniform(0, 0.8)
        hazards.append((Point(lon, lat), {"name": f"储罐区{i}", "enterprise": f"企业{i % 7}",
                                          "unit_type": "storage" if i % 2 else "production",
                                          "inventory": [{"substance": "chlorine", "cas": "7782-50-5",
                                                         "quantity_t": float(rng.uniform(1, 40))}]}))
    data["hazard_sources"] = hazards
    roads = []
    for i in range(10):
        y = 43.5 + 0.08 * i
        roads.append((LineString([(125.0, y), (125.6, y), (126.2, y)]), {"name": f"路{i}", "road_class": "primary",
                                                                        "speed_kmh": 60.0, "oneway": False}))
    data["roads"] = roads
    return data


def fill(store, catalog, data) -> None:
    for layer, pairs in data.items():
        rows = validate_rows(catalog[layer], pairs)
        store.replace_all(layer, [])
        store.write(layer, WriteBatch(creates=rows))


@pytest.fixture(scope="session")
def dataset(catalog):
    return small_dataset(catalog)


@pytest.fixture(scope="session")
def embedded_store(tmp_path_factory, catalog, dataset):
    store = EmbeddedStore(catalog, tmp_path_factory.mktemp("emb") / "store.gpkg")
    store.init()
    fill(store, catalog, dataset)
    return store


@pytest.fixture(scope="session")
def postgis_store(postgis_url, catalog, dataset):
    from gis_service.stores.postgis import PostGISStore

    store = PostGISStore(catalog, postgis_url)
    store.drop_all()
    store.init()
    fill(store, catalog, dataset)
    yield store
    store.close()


@pytest.fixture(params=["embedded", "postgis"])
def store(request):
    """Contract tests run once per engine."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def fresh_store(request, tmp_path, catalog, dataset):
    """A private, writable store per test (for write tests), on the engine of ``store_kind``."""
    kind = getattr(request, "param", "embedded")
    if kind == "postgis":
        from gis_service.stores.postgis import PostGISStore

        url = database_url(request.getfixturevalue("postgis_url"), "gis_test_writes")
        store = PostGISStore(catalog, url)
        store.drop_all()
        store.init()
    else:
        store = EmbeddedStore(catalog, tmp_path / "fresh.gpkg")
        store.init()
    fill(store, catalog, dataset)
    yield store
    store.close()


# -- the sample dataset and a live server -------------------------------------------------------

@pytest.fixture(scope="session")
def sample_gpkg(tmp_path_factory) -> Path:
    from gis_service.cli import build_sample

    path = tmp_path_factory.mktemp("sample") / "jilin_sample.gpkg"
    build_sample(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """The service in a subprocess (uvicorn) — for clients that block the GIL (GDAL) or browsers.

    ``env`` adds GIS_* settings, e.g. {"GIS_STORE": "embedded", "GIS_GPKG_PATH": "/tmp/x.gpkg"};
    ``start_timeout`` (s) bounds the start (generous: a shared 2-core machine at load 15 took > 60 s for the sample); ``cwd`` runs it elsewhere
    (another checkout, with its PYTHONPATH in ``env``).
    """

    def __init__(self, env: dict[str, str], workers: int = 1, start_timeout: float = 180.0, cwd=None):
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [sys.executable, "-m", "uvicorn", "--factory", "gis_service.api.app:create_app",
                    "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                    "--no-access-log", "--workers", str(workers)]
        self.env = {**os.environ, **env}
        self.proc = None
        self.start_timeout = start_timeout
        self.cwd = cwd

    def __enter__(self):
        import subprocess
        import tempfile
        import urllib.request

        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty server never blocks on it
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.cwd)
        deadline = time.time() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/conformance", timeout=2):
                    return self
            except OSError:
                if time.time() > deadline:
                    self.proc.kill()
                    raise RuntimeError(f"server did not start in {self.start_timeout:.0f} s") from None
                time.sleep(0.2)

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        if exc[0] is not None:  # a failing test shows what the server said (pytest prints captured output)
            self.log.seek(0)
            print("---- server log ----\n" + self.log.read().decode(errors="replace")[-20000:])
        self.log.close()


def load_gpkg_into(store, gpkg: Path) -> dict[str, int]:
    """Copy every catalogue layer of a GeoPackage into ``store`` (ids preserved)."""
    import pyogrio

    from gis_service.loading import rows_from_frame

    counts = {}
    for spec in store.catalog:
        frame = pyogrio.read_dataframe(gpkg, layer=spec.name)
        rows = rows_from_frame(spec, frame, keep_ids=True).rows
        store.replace_all(spec.name, rows)
        counts[spec.name] = len(rows)
    return counts


def database_url(postgis_url: str, name: str) -> str:
    """A separate test database next to ``postgis_url`` (created with PostGIS if missing).

    The name gets GIS_TEST_DB's suffix (``gis_test_writes`` → ``gis_test_writes_hardening`` with
    GIS_TEST_DB=gis_test_hardening), so test runs that share a server never share a database."""
    import psycopg

    suffix = TEST_DB.removeprefix("gis_test")
    if suffix and not name.endswith(suffix):
        name += suffix

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - fixed test identifier
    url = postgis_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


@pytest.fixture(scope="session")
def sample_postgis_url(postgis_url, sample_gpkg, catalog) -> str:
    """A PostGIS database (gis_test_sample) holding the full Jilin sample dataset."""
    from gis_service.stores.postgis import PostGISStore

    url = database_url(postgis_url, "gis_test_sample")
    store = PostGISStore(catalog, url)
    store.drop_all()
    store.init()
    load_gpkg_into(store, sample_gpkg)
    store.close()
    return url


@pytest.fixture(scope="session")
def sample_stores(sample_gpkg, sample_postgis_url, catalog, tmp_path_factory):
    """{"embedded": store, "postgis": store}, both holding the Jilin sample (read-only use)."""
    import shutil

    from gis_service.stores.postgis import PostGISStore

    copy = tmp_path_factory.mktemp("sample_emb") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, copy)
    emb = EmbeddedStore(catalog, copy)
    emb.init()
    pg = PostGISStore(catalog, sample_postgis_url)
    yield {"embedded": emb, "postgis": pg}
    pg.close()
