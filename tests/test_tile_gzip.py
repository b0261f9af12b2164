"""Vector tiles compressed once per tile (gis_service/api/gzipped.py, issue 19): a client that accepts gzip gets
``Content-Encoding: gzip`` and the very bytes of the tile once inflated, the same compressed bytes on every answer
(kept by ETag, not compressed again — the middleware used to, at level 9 on the event loop), and a client that
does not gets the plain tile; an edit changes the ETag and so the compressed tile."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from gis_service.api import gzipped
from gis_service.api.app import create_app
from gis_service.config import Settings

URL = "/tiles/WebMercatorQuad/8/{y}/{x}?collections=hazard_sources,receptors"


@pytest.fixture
def client(embedded_store):
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=embedded_store)) as c:
        yield c


def _tile_url(client):
    import math

    lon, lat = client.get("/collections/hazard_sources/items/1").json()["geometry"]["coordinates"]
    n = 2 ** 8
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return URL.format(x=x, y=y)


def test_tile_is_gzipped_once_and_inflates_to_the_plain_tile(client, monkeypatch):
    url = _tile_url(client)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert len(plain.content) >= gzipped.MIN_SIZE
    assert "hazard_sources" in mapbox_vector_tile.decode(plain.content)

    calls = []
    real = gzip.compress
    monkeypatch.setattr(gzipped.gzip, "compress", lambda *a, **k: calls.append(1) or real(*a, **k))
    gzipped.CACHE._items.clear()
    gzipped.CACHE.size = 0
    raw = []
    for _ in range(3):
        r = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        assert r.headers["etag"] == plain.headers["etag"] and "Accept-Encoding" in r.headers["vary"]
        assert r.content == plain.content          # httpx inflates: the same tile
        raw.append(int(r.headers["content-length"]))
    assert calls == [1]                            # compressed once, then from the cache
    assert len(set(raw)) == 1 and raw[0] < len(plain.content)


def test_lru_keeps_to_its_budget():
    cache = gzipped.GzipCache(budget=3000)
    bodies = {f'"e{i}"': bytes((i * 7 + j * 13) % 256 for j in range(2048)) for i in range(5)}
    for etag, body in bodies.items():
        assert gzip.decompress(cache.get(etag, body)) == body
    assert cache.size <= 3000 and list(cache._items)[-1] == '"e4"'
