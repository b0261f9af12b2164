"""No lost or torn write in any supported deployment: N concurrent writers (processes, uvicorn
workers) lose nothing, and every acknowledged write is visible to every worker at once.

Deployments: the embedded store opened by several processes (CLI loads beside a service), the
embedded store behind ``--workers 2``, PostGIS behind ``--workers 2``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import ServerProcess, database_url, fill

from gis_service.stores.embedded import EmbeddedStore

KEY = {"X-API-Key": "w-key"}
N_POSTS = 120


def _team(i: int, tag: str) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.0 + i * 1e-3, 43.5]},
            "properties": {"name": f"{tag}{i:04d}", "team_type": "fire", "personnel": 10, "on_duty": True}}


WRITER = textwrap.dedent("""
    import sys
    from gis_service.catalog import default_catalog
    from gis_service.stores.base import WriteBatch
    from gis_service.stores.embedded import EmbeddedStore
    from gis_service.validation import validate_rows
    from shapely.geometry import Point
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cat = default_catalog()
    store = EmbeddedStore(cat, path)
    store.init()
    for i in range(n):
        rows = validate_rows(cat["rescue_teams"], [(Point(125 + i * 1e-3, 43.5), {
            "name": f"{tag}{i:04d}", "team_type": "fire", "personnel": 10, "on_duty": True})])
        store.write("rescue_teams", WriteBatch(creates=rows))
""")


def test_processes_writing_one_embedded_file_lose_nothing(tmp_path, catalog, dataset):
    path = tmp_path / "shared.gpkg"
    store = EmbeddedStore(catalog, path)
    store.init()
    fill(store, catalog, dataset)
    before = store.count("rescue_teams")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"p{k}-", "15"]) for k in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0] * 4
    names = list(store.frame("rescue_teams", ["name"])["name"])  # this store reloads: the file changed
    assert store.count("rescue_teams") == before + 60
    assert sorted(n for n in names if n.startswith("p")) == sorted(f"p{k}-{i:04d}" for k in range(4) for i in range(15))
    ids = store.frame("rescue_teams", ["name"]).index
    assert ids.is_unique
    store.close()


def test_leftover_temporary_files_are_removed_at_start(tmp_path, catalog):
    path = tmp_path / "s.gpkg"
    EmbeddedStore(catalog, path).init()
    leftover = tmp_path / f".{path.name}.tmp-abc123.gpkg"
    leftover.write_bytes(b"half a write")
    other = tmp_path / "unrelated.gpkg.tmp"
    other.write_bytes(b"not ours")
    EmbeddedStore(catalog, path).init()
    assert not leftover.exists() and other.exists()


def _hammer(url: str) -> list[int]:
    """N_POSTS creates from 8 client threads; returns the created ids (every answer must be 201)."""
    lock, created, statuses = threading.Lock(), [], []

    def post(i: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            r = http.post("/collections/rescue_teams/items", json=_team(i, "http-"), headers=KEY)
        with lock:
            statuses.append(r.status_code)
            if r.status_code == 201:
                created.extend(r.json()["created"])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, range(N_POSTS)))
    assert statuses == [201] * N_POSTS, sorted(set(statuses))
    return created


def _all_visible(url: str, created: list[int], before: int) -> None:
    assert len(set(created)) == N_POSTS
    with httpx.Client(base_url=url, timeout=60) as http:
        for fid in created:  # each GET may land on any worker
            assert http.get(f"/collections/rescue_teams/items/{fid}").status_code == 200, fid
        for _ in range(6):
            doc = http.get("/collections/rescue_teams/items?limit=1").json()
            assert doc["numberMatched"] == before + N_POSTS


def test_embedded_behind_two_workers_loses_nothing(tmp_path, catalog, dataset):
    path = tmp_path / "served.gpkg"
    store = EmbeddedStore(catalog, path)
    store.init()
    fill(store, catalog, dataset)
    before = store.count("rescue_teams")
    store.close()
    env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_API_KEYS": "w-key:editor",
           "GIS_LOG_LEVEL": "WARNING"}
    with ServerProcess(env, workers=2) as srv:
        created = _hammer(srv.url)
        _all_visible(srv.url, created, before)
    assert EmbeddedStore(catalog, path).count("rescue_teams") == before + N_POSTS


@pytest.mark.postgis
def test_postgis_behind_two_workers_loses_nothing(postgis_url, catalog, dataset):
    from gis_service.stores.postgis import PostGISStore

    url = database_url(postgis_url, "gis_test_writers")
    store = PostGISStore(catalog, url)
    store.drop_all()
    store.init()
    fill(store, catalog, dataset)
    before = store.count("rescue_teams")
    store.close()
    env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": url, "GIS_API_KEYS": "w-key:editor", "GIS_LOG_LEVEL": "WARNING"}
    with ServerProcess(env, workers=2) as srv:
        created = _hammer(srv.url)
        _all_visible(srv.url, created, before)
