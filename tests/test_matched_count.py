"""numberMatched of filtered pages without an exact COUNT(*) over huge selections (issue 19).

A filtered page (bbox, CQL2 filter, equality, q) counts its matches only up to ``GIS_MATCHED_COUNT_CAP``; above it
the PostGIS store stops counting and the API omits numberMatched (OGC API Features 1.0, 7.15.8: "numberMatched" is
optional), while the ``next`` link comes from one row read past the page. The embedded store evaluates the filter in
memory and keeps the exact count. Either way, following ``next`` yields exactly the filtered selection.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings


def _client(store, cap):
    return TestClient(create_app(Settings(matched_count_cap=cap), store=store))


def _walk(client, url):
    """Every page by its next link: (ids in order, the pages)."""
    ids, pages = [], []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        doc = r.json()
        pages.append(doc)
        ids += [f["id"] for f in doc["features"]]
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        assert len(nxt) <= 1
        url = nxt[0].split("://", 1)[-1].split("/", 1)[-1] if nxt else None
        url = "/" + url if url else None
    return ids, pages


def _schools(client):
    doc = client.get("/collections/receptors/items", params={"limit": 10000}).json()
    return sorted(f["id"] for f in doc["features"] if f["properties"]["receptor_class"] == "school")


@pytest.mark.parametrize("how", ["equality", "cql2"])
def test_a_selection_above_the_cap_pages_completely_without_numbermatched(store, how):
    with _client(store, 10**6) as c:
        schools = _schools(c)
    assert len(schools) > 20
    query = "receptor_class=school" if how == "equality" else "filter=receptor_class%3D%27school%27"
    with _client(store, len(schools) - 1) as c:          # one less than the selection: counting stops
        ids, pages = _walk(c, f"/collections/receptors/items?{query}&limit=7")
    assert ids == schools                                  # next links: every match once, in id order, then none
    assert [p["numberReturned"] for p in pages][-1] == len(schools) - 7 * (len(pages) - 1)
    if store.__class__.__name__ == "PostGISStore":
        assert all("numberMatched" not in p for p in pages)   # omitted, not a full count
    else:
        assert all(p["numberMatched"] == len(schools) for p in pages)   # in memory: exact and free
    with _client(store, len(schools)) as c:              # exactly the cap: still counted, exactly
        ids, pages = _walk(c, f"/collections/receptors/items?{query}&limit=7")
    assert ids == schools and all(p["numberMatched"] == len(schools) for p in pages)


def test_unfiltered_pages_keep_the_kept_count_and_html_says_more_than(store):
    with _client(store, 3) as c:
        first = c.get("/collections/receptors/items", params={"limit": 5}).json()
        total = first["numberMatched"]                        # the trigger-kept count, never capped
        assert total > 5 and any(link["rel"] == "next" for link in first["links"])
        last = c.get("/collections/receptors/items", params={"limit": 5, "offset": total - 5}).json()
        assert last["numberReturned"] == 5 and not any(link["rel"] == "next" for link in last["links"])
        html = c.get("/collections/receptors/items", params={"receptor_class": "school", "limit": 2, "f": "html"}).text
    if store.__class__.__name__ == "PostGISStore":
        assert "多于 3 个要素" in html and "more than 3 matched" in html
    else:
        assert "matched, 2 returned" in html
