"""Bulk downloads of a layer or a filtered selection (``f=gpkg``, ``f=fgb``, ``f=csv`` on the items path).

The selection (bbox, CQL2 filter, equality filters, ``q``) is read from the store in id order, ``CHUNK`` features
at a time by keyset (``id > last``), so memory stays constant whatever the layer's size. CSV is streamed to the
client as it is read; GeoPackage and FlatGeobuf are written chunk by chunk (pyogrio, GDAL's drivers) to a
temporary file — both formats are finished only at the end (GeoPackage's SQLite pages, FlatGeobuf's header
count) — which is then streamed in 1 MiB blocks and removed. Coordinates in files and the CSV's WKT are in the
chosen CRS with x = longitude / easting, y = latitude / northing (the order GIS files use), whatever the CRS's
authority axis order."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import crs as crsmod
from ..stores.base import Query, Store

CHUNK = 20_000
BLOCK = 1 << 20
FORMATS = {"gpkg": ("application/geopackage+sqlite3", "gpkg", "GPKG"),
           "fgb": ("application/flatgeobuf", "fgb", "FlatGeobuf"),
           "csv": ("text/csv; charset=utf-8", "csv", None)}


class DownloadsService:
    def __init__(self, store: Store):
        self.store = store

    def chunks(self, layer: str, query: Query) -> Iterator[tuple[np.ndarray, np.ndarray, list[dict]]]:
        """(ids, CRS84 geometries, properties) of the selection, CHUNK rows at a time, in id order."""
        last = None
        while True:
            page = self.store.items(layer, replace(query, limit=CHUNK, offset=0, sortby=(), properties=None,
                                                   min_id=last, count_cap=0))   # no count: the chunk's rows suffice
            if not page.features:
                return
            ids = np.array([f.id for f in page.features], dtype=np.int64)
            geoms = shapely.from_geojson(np.array([f.geometry_json for f in page.features], dtype=object))
            yield ids, geoms, [f.properties for f in page.features]
            if len(page.features) < CHUNK:
                return
            last = int(ids[-1])

    def _frame(self, layer: str, ids: np.ndarray, geoms: np.ndarray, props: list[dict],
               crs: crsmod.Crs) -> gpd.GeoDataFrame:
        spec = self.store.spec(layer)
        cols: dict[str, object] = {"id": ids}
        for a in spec.attributes:
            values = [p.get(a.name) for p in props]
            if a.type == "json":
                cols[a.name] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
            elif a.type == "integer":
                cols[a.name] = pd.array(values, dtype="Int64")
            elif a.type == "number":
                cols[a.name] = pd.array(values, dtype="Float64")
            elif a.type == "boolean":
                cols[a.name] = pd.array(values, dtype="boolean")
            else:
                cols[a.name] = pd.array(values, dtype="string")
        out = crsmod.from_crs84_xy(geoms, crs)
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(out, crs=crs.epsg_or_crs84))

    def stream(self, layer: str, query: Query, fmt: str, crs: crsmod.Crs) -> Iterator[bytes]:
        if fmt == "csv":
            return self._csv(layer, query, crs)
        return self._file(layer, query, fmt, crs)

    def _csv(self, layer: str, query: Query, crs: crsmod.Crs) -> Iterator[bytes]:
        spec = self.store.spec(layer)
        names = spec.attribute_names
        head = io.StringIO()
        csv.writer(head).writerow(["id", *names, "wkt"])
        yield ("\ufeff" + head.getvalue()).encode()  # BOM: spreadsheet programs then read the Chinese text
        for ids, geoms, props in self.chunks(layer, query):
            wkt = shapely.to_wkt(crsmod.from_crs84_xy(geoms, crs), rounding_precision=crsmod.precision(crs))
            buf = io.StringIO()
            w = csv.writer(buf)
            for fid, p, g in zip(ids, props, wkt, strict=True):
                w.writerow([int(fid), *[_cell(p.get(n)) for n in names], g])
            yield buf.getvalue().encode()

    def _file(self, layer: str, query: Query, fmt: str, crs: crsmod.Crs) -> Iterator[bytes]:
        import pyogrio

        _media, ext, driver = FORMATS[fmt]
        fd, path = tempfile.mkstemp(suffix=f".{ext}", prefix="riskmap-download-")
        os.close(fd)
        os.unlink(path)  # the driver creates it
        try:
            wrote = False
            for ids, geoms, props in self.chunks(layer, query):
                frame = self._frame(layer, ids, geoms, props, crs)
                pyogrio.write_dataframe(frame, path, layer=layer, driver=driver, append=wrote,
                                        promote_to_multi=False, **({"SPATIAL_INDEX": "NO"} if fmt == "fgb" else {}))
                wrote = True
            if not wrote:
                frame = self._frame(layer, np.zeros(0, dtype=np.int64), np.array([], dtype=object), [], crs)
                pyogrio.write_dataframe(frame, path, layer=layer, driver=driver)
            with open(path, "rb") as fh:
                while block := fh.read(BLOCK):
                    yield block
        finally:
            if os.path.exists(path):
                os.unlink(path)


def _cell(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    return v
