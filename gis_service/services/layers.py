"""The layers facade: the catalogue, feature reads and writes (OGC API Features), and the layer content
the maps and the viewer draw (packed collections, grid counts, the offline basemap) — cached by
``(layer, store revision)``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from cachetools import LRUCache

from .. import access
from .. import crs as crsmod
from ..analysis.borders import AdminAreas
from ..catalog import Catalog, LayerSpec
from ..config import Settings
from ..maps.base import DISPLAY_PRECISION, GRID_CELLS, pack, simplified
from ..maps.style import popup_attributes
from ..stores.base import AuditQuery, Feature, FeatureNotFound, Page, Query, Store, WriteBatch
from ..validation import Problem, Row, ValidationFailed, validate_rows

BASEMAP_LAYERS = ("admin_areas", "roads")
BASEMAP_TOLERANCE_DEG = 0.005   # ~500 m: outlines for a province-to-county view, not for measuring
BASEMAP_PRECISION_DEG = 5e-4    # ~50 m
CONTEXT_LIMIT = 3000            # context features (admin areas, roads) drawn under a report's map image


class VersionNotFound(FeatureNotFound):
    def __init__(self, layer: str, fid: int, seq: int):
        super().__init__(layer, fid)
        self.args = (f"no recorded version {seq} of feature {fid} in layer {layer!r}",)


class VersionExpired(LookupError):
    """A version older than the restorable period (→ 410 Gone)."""


class LayersService:
    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self._cache: LRUCache[Hashable, Any] = LRUCache(64)
        self._lock = threading.Lock()
        self._admin_areas: tuple[float, int, AdminAreas] | None = None   # (checked at, revision, areas)

    # -- the catalogue and the store contract ------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        return self.store.catalog

    def spec(self, layer: str) -> LayerSpec:
        return self.store.spec(layer)

    def items(self, layer: str, query: Query, crs: crsmod.Crs = crsmod.CRS84_CRS) -> Page:
        """A page of features; geometries in ``crs`` (its axis order), transformed by pyproj."""
        page = self.store.items(layer, query)
        if crs.is_crs84:
            return page
        return Page(_in_crs(page.features, crs), page.number_matched, page.matched_exact, page.more)

    def get(self, layer: str, fid: int, crs: crsmod.Crs = crsmod.CRS84_CRS) -> Feature:
        feat = self.store.get(layer, fid)
        return feat if crs.is_crs84 else _in_crs([feat], crs)[0]

    def count(self, layer: str) -> int:
        return self.store.count(layer)

    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        return self.store.extent(layer)

    def revision(self, layer: str) -> int:
        return self.store.revision(layer)

    def write(self, layer: str, batch: WriteBatch) -> list[int]:
        self.stamp(layer, [*batch.creates, *batch.replaces.values()])
        return self.store.write(layer, batch)

    def replace_all(self, layer: str, rows: list[Row]) -> list[int]:
        self.stamp(layer, rows)
        return self.store.replace_all(layer, rows)

    # -- the audit trail: history, restore, change feed ---------------------------------------------
    def audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        if query.layer is not None:
            self.spec(query.layer)
        return self.store.audit(query)

    def history(self, layer: str, fid: int, limit: int = 100,
                before: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """The feature's versions, newest first: every recorded write with who, when, before and after; at most
        ``limit`` of them, older than the seq ``before`` when given. Returns (versions, next): ``next`` is the
        ``before`` of the following page, None on the last. A feature the caller may not see (or that never
        existed) is 404, also once deleted if its records are not visible."""
        self.spec(layer)
        records = self.store.audit(AuditQuery(layer=layer, fid=fid, before_seq=before, limit=limit + 1,
                                              newest_first=True))
        if not records and before is None:
            self.store.get(layer, fid)  # FeatureNotFound unless the caller may see it (then: no write recorded)
        more = len(records) > limit
        records = records[:limit]
        return records, (records[-1]["seq"] if more else None)

    def version(self, layer: str, fid: int, seq: int) -> dict[str, Any]:
        found = self.store.audit(AuditQuery(layer=layer, fid=fid, after_seq=seq - 1, limit=1))
        if not found or found[0]["seq"] != seq:
            raise VersionNotFound(layer, fid, seq)
        return found[0]

    def restore(self, layer: str, fid: int, seq: int, state: str = "before") -> Feature:
        """Make feature ``fid`` what it was ``before`` (default) or ``after`` the recorded write ``seq``: an edit
        undone, a deleted feature back under its id. Versions older than GIS_AUDIT_RESTORE_DAYS are refused."""
        import time
        from datetime import datetime

        spec = self.spec(layer)
        record = self.version(layer, fid, seq)
        age_days = (time.time() - datetime.fromisoformat(record["at"].replace("Z", "+00:00")).timestamp()) / 86400
        if age_days > self.settings.audit_restore_days:
            raise VersionExpired(f"version {seq} is {age_days:.1f} days old; versions are restorable for "
                                 f"{self.settings.audit_restore_days:g} days (GIS_AUDIT_RESTORE_DAYS)")
        target = record[state]
        if target is None:
            raise ValidationFailed([Problem(None, "state", f"the feature did not exist {state} write {seq} "
                                            f"({record['action']}); restore another version")], layer)
        props = {k: v for k, v in target["properties"].items() if spec.has_attribute(k)}
        rows = validate_rows(spec, [(shapely.geometry.shape(target["geometry"]), props)])
        self.write(layer, WriteBatch(puts={fid: rows[0]}, action="restore"))
        return self.store.get(layer, fid)

    def changes(self, layer: str, since: int, limit: int) -> dict[str, Any]:
        """The layer's change feed after ``since`` (a seq of the audit trail): each write's seq, time, action and
        the feature as it is after it (None once deleted). ``next`` is the cursor to follow."""
        self.spec(layer)
        records = self.store.audit(AuditQuery(layer=layer, after_seq=since, limit=limit))
        changes = [{"seq": r["seq"], "at": r["at"], "action": r["action"], "id": r["feature_id"],
                    "feature": r["after"]} for r in records]
        return {"layer": layer, "since": since, "next": changes[-1]["seq"] if changes else since,
                "changes": changes, "complete": len(changes) < limit}

    def apply_changes(self, layer: str, fetch, since: int = 0, page: int = 500) -> int:
        """Follow a change feed into this store: ``fetch(layer, since, limit)`` returns a page as
        :meth:`changes` does (another instance's, over HTTP for ``gis-service sync``). Each feature ends as the
        feed's last word on it (put under its id, or deleted); applying a page twice changes nothing. Returns
        the cursor to continue from."""
        import shapely.geometry as sg

        spec = self.spec(layer)
        while True:
            doc = fetch(layer, since, page)
            final: dict[int, dict[str, Any] | None] = {}
            for change in doc["changes"]:
                final[int(change["id"])] = change["feature"]
            puts = {fid: validate_rows(spec, [(sg.shape(f["geometry"]), {k: v for k, v in f["properties"].items()
                                                                         if spec.has_attribute(k)})])[0]
                    for fid, f in final.items() if f is not None}
            gone = [fid for fid, f in final.items() if f is None and self._exists(layer, fid)]
            if puts or gone:
                self.write(layer, WriteBatch(puts=puts, deletes=gone, action="sync"))
            since = int(doc["next"])
            if doc.get("complete", True) or not doc["changes"]:
                return since

    def _exists(self, layer: str, fid: int) -> bool:
        try:
            self.store.get(layer, fid)
            return True
        except FeatureNotFound:
            return False

    # -- jurisdictions ------------------------------------------------------------------------------
    def stamp(self, layer: str, rows: Sequence[Row]) -> None:
        """Set each row's ``admin_code`` (its jurisdiction) as the service defines it, whatever the writer sent:
        an admin area's own code, otherwise the code of the finest admin area holding the row's representative
        point (None outside every admin area — then only the whole service's scope may write it)."""
        spec = self.spec(layer)
        if not rows:
            return
        if spec.own_code:
            for r in rows:
                r.properties["admin_code"] = r.properties.get(spec.own_code)
            return
        for r, code in zip(rows, self.admin_codes([r.geometry for r in rows]), strict=True):
            r.properties["admin_code"] = code

    def admin_codes(self, geoms: Sequence[Any]) -> list[str | None]:
        """The code of the finest admin area holding each geometry's representative point."""
        tree, codes = self._admin_index()
        if not len(codes):
            return [None] * len(geoms)
        points = shapely.point_on_surface(np.asarray(list(geoms), dtype=object))
        which, hit = tree.query(points, predicate="intersects")
        out: list[str | None] = [None] * len(geoms)
        for i, j in zip(which.tolist(), hit.tolist(), strict=True):
            code, held = codes[j], out[i]
            if code and (held is None or len(code.rstrip("0")) > len(held.rstrip("0"))):
                out[i] = code
        return out

    def restamp(self, layers: Sequence[str] | None = None,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, tuple[int, int]]:
        """Backfill ``admin_code`` where it is NULL (rows stored before jurisdictions, or written around the
        service), layer by layer — admin areas first, so the others are joined to stamped areas. On PostGIS one
        set-based UPDATE with a spatial join per id window; in the GeoPackage one vectorised pass and one file
        swap. Returns {layer: (stamped, left NULL: outside every admin area)}."""
        names = list(layers) if layers else [spec.name for spec in self.catalog]
        for name in names:
            self.spec(name)
        names.sort(key=lambda n: n != "admin_areas")
        out: dict[str, tuple[int, int]] = {}
        for name in names:
            def step(done: int, total: int, name: str = name) -> None:
                if progress is not None:
                    progress(name, done, total)

            out[name] = self.store.restamp(name, self.admin_codes, step)
        return out

    ADMIN_AREAS_RECHECK_S = 30.0

    def admin_areas(self) -> AdminAreas:
        """The admin areas for border notes (rescue and exposure): an STRtree, codes and names, cached by the
        layer's revision, which is asked again at most every 30 s (ADMIN_AREAS_RECHECK_S) — so a rescue answer
        costs no extra round trip; an admin-area edit shows in the notes within that time."""
        import time

        now = time.monotonic()
        held = self._admin_areas
        if held is not None and now - held[0] < self.ADMIN_AREAS_RECHECK_S:
            return held[2]
        revision = self.store.revision("admin_areas") if "admin_areas" in self.catalog else 0
        if held is not None and held[1] == revision:
            self._admin_areas = (now, revision, held[2])
            return held[2]
        if "admin_areas" in self.catalog:
            with access.unrestricted():
                frame = self.store.frame("admin_areas", columns=["code", "name"])
            areas = AdminAreas.build(list(frame.geometry.values), frame["code"].tolist(), frame["name"].tolist())
        else:
            areas = AdminAreas.build([], [], [])
        self._admin_areas = (now, revision, areas)
        return areas

    def admin_name(self, jurisdiction: str) -> str | None:
        """The name of the admin area whose code is ``jurisdiction`` (a normalised prefix such as '2201'), or None."""
        if "admin_areas" not in self.catalog or not jurisdiction:
            return None

        def build():
            with access.unrestricted():
                frame = self.store.frame("admin_areas", columns=["code", "name"])
            return {str(c): n for c, n in zip(frame["code"].tolist(), frame["name"].tolist(), strict=True)
                    if c is not None}

        names = self._cached(("admin_names", self.store.revision("admin_areas")), build)
        return names.get(jurisdiction.ljust(6, "0"))

    def _admin_index(self) -> tuple[shapely.STRtree, list[str | None]]:
        """STRtree of the admin areas and their codes, cached by the layer's revision (shared: read by all)."""
        layer = "admin_areas"
        if layer not in self.catalog:
            return shapely.STRtree([]), []

        def build():
            with access.unrestricted():
                frame = self.store.frame(layer, columns=["code"])
            return (shapely.STRtree(np.asarray(frame.geometry.values, dtype=object)),
                    [None if c is None else str(c) for c in frame["code"].tolist()])

        return self._cached(("admin_index", self.store.revision(layer)), build)

    def data_extent(self) -> list[float] | None:
        """Union of the extents of every non-basemap layer (the viewer's start view)."""
        boxes = [b for b in (self.store.extent(s.name) for s in self.catalog if not s.style.get("basemap")) if b]
        if not boxes:
            return None
        return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes)]

    def _scope_key(self, layer: str) -> str:
        """What a cached view of ``layer`` depends on besides its revision: the jurisdiction, if regulated."""
        return access.jurisdiction() if self.spec(layer).regulated else ""

    def _cached(self, key: tuple, make) -> Any:
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = make()
            with self._lock:
                self._cache[key] = hit
        return hit

    # -- what the maps and the viewer draw --------------------------------------------------------
    def packed(self, spec: LayerSpec, bbox: tuple[float, float, float, float] | None = None,
               limit: int = 3000, filters: dict[str, Any] | None = None) -> tuple[bytes, int]:
        """(packed collection, number matched) of up to ``limit`` features with only the popup attributes;
        lines and polygons simplified to a vertex budget, coordinates rounded for display."""
        columns = popup_attributes(spec)
        page = self.store.items(spec.name, Query(bbox=bbox, limit=limit, filters=dict(filters or {}),
                                                 properties=tuple(columns)))
        feats = page.features
        geoms = shapely.from_geojson(np.array([f.geometry_json for f in feats], dtype=object)) if feats \
            else np.array([], dtype=object)
        if feats:
            if spec.geometry_family != "point":
                geoms = simplified(geoms)
            geoms = shapely.set_precision(geoms, DISPLAY_PRECISION, mode="pointwise")
        return pack([f.id for f in feats], geoms, [f.properties for f in feats], columns), page.number_matched

    def aggregate(self, layer: str, cells: int = GRID_CELLS) -> dict[str, Any]:
        """Counts of features per grid cell (by representative point) over the layer's extent, cached by
        the layer's revision."""
        self.store.spec(layer)
        return self._cached(("aggregate", layer, self.store.revision(layer), cells, self._scope_key(layer)),
                            lambda: _aggregate_cells(self.store, layer, cells))

    def basemap_packed(self, layer: str) -> bytes:
        """Admin areas or roads for the viewer's offline basemap (simplified, packed), cached by the layer's
        revision: an edited road is in the next answer."""
        return self._cached(("basemap", layer, self.store.revision(layer), self._scope_key(layer)),
                            lambda: self._basemap(layer))

    def _basemap(self, layer: str) -> bytes:
        spec = self.store.spec(layer)
        columns = [c for c in ("name", "level", "road_class") if spec.has_attribute(c)]
        frame = self.store.frame(layer, columns=columns)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        geoms = shapely.set_precision(shapely.simplify(geoms, BASEMAP_TOLERANCE_DEG, preserve_topology=True),
                                      BASEMAP_PRECISION_DEG, mode="pointwise")
        props = frame[columns].to_dict("records")
        return pack([int(i) for i in frame.index], geoms, props, columns)

    def context_features(self, layer: str, bbox: tuple[float, float, float, float],
                         columns: Sequence[str]) -> list[tuple[Any, dict[str, Any]]]:
        """(geometry, properties) of a context layer inside ``bbox`` — what a report's map image is drawn over."""
        if layer not in self.catalog:
            return []
        page = self.store.items(layer, Query(bbox=bbox, limit=CONTEXT_LIMIT, properties=tuple(columns)))
        return [(f.geometry, f.properties) for f in page.features]


def _in_crs(features: list[Feature], crs: crsmod.Crs) -> list[Feature]:
    texts = crsmod.geojson_texts([f.geometry_json for f in features], crs, crsmod.precision(crs))
    return [Feature(f.id, f.properties if f.properties_json is None else None, t, f.distance_m, f.properties_json)
            for f, t in zip(features, texts, strict=True)]


def _aggregate_cells(store: Store, layer: str, cells: int) -> dict[str, Any]:
    frame = store.frame(layer, columns=[])
    pts = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
    if not len(pts):
        return {"cell": 0, "cells": [], "total": 0}
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    x0, y0, x1, y1 = float(x.min()), float(y.min()), float(x.max()), float(y.max())
    size = max(x1 - x0, y1 - y0, 1e-6) / cells
    ix = np.minimum(((x - x0) / size).astype(np.int64), cells)
    iy = np.minimum(((y - y0) / size).astype(np.int64), cells)
    key = ix * (cells + 1) + iy
    uniq, counts = np.unique(key, return_counts=True)
    cx = x0 + (uniq // (cells + 1) + 0.5) * size
    cy = y0 + (uniq % (cells + 1) + 0.5) * size
    out = [[round(float(a), 5), round(float(b), 5), int(c)] for a, b, c in zip(cx, cy, counts, strict=True)]
    return {"cell": round(size, 6), "cells": out, "total": int(len(pts))}
