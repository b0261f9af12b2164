"""Bulk downloads of a layer or a filtered selection (``f=gpkg``, ``f=fgb``, ``f=csv`` on the items path).

The selection (bbox, CQL2 filter, equality filters, ``q``, the caller's jurisdiction) is read by the store's
:meth:`~gis_service.stores.base.Store.export`: one pass in id order, column by column, ``EXPORT_ROWS`` rows at a
time, counting nothing (PostGIS: one server-side cursor over one snapshot; embedded: one mask). Memory is one chunk,
whatever the layer's size.

* CSV is streamed to the client as it is read.
* GeoPackage and FlatGeobuf: the chunks become Arrow record batches (geometry as WKB) fed to one
  ``pyogrio.write_arrow`` call, i.e. one GDAL dataset session: GeoPackage rows go in inside GDAL's transaction and its
  R-tree is built once at the end (not maintained by triggers row by row, as appending chunk by chunk did). FlatGeobuf
  is written without its optional spatial index: GDAL builds that in memory (≈ 0.25 kB per feature measured on the
  national hazard sources), which would make memory grow with the selection. Both formats are finished only at the
  end (GeoPackage's SQLite pages, FlatGeobuf's header), so the file is written to a temporary file, then streamed in
  1 MiB blocks and removed.

Coordinates in files and the CSV's WKT are in the chosen CRS with x = longitude / easting, y = latitude / northing
(the order GIS files use), whatever the CRS's authority axis order.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import shapely

from .. import crs as crsmod
from ..catalog import LayerSpec
from ..stores.base import EXPORT_ROWS, ExportChunk, Query, Store

BLOCK = 1 << 20
FORMATS = {"gpkg": ("application/geopackage+sqlite3", "gpkg", "GPKG"),
           "fgb": ("application/flatgeobuf", "fgb", "FlatGeobuf"),
           "csv": ("text/csv; charset=utf-8", "csv", None)}
_ARROW = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(), "string": pa.string(),
          "json": pa.string()}
GEOMETRY = "geometry"


class DownloadsService:
    rows = EXPORT_ROWS  # rows per chunk read from the store (tests make it small to cross chunk borders)

    def __init__(self, store: Store):
        self.store = store

    def stream(self, layer: str, query: Query, fmt: str, crs: crsmod.Crs) -> Iterator[bytes]:
        """The download's bytes. The CSV's first chunk, or the whole GeoPackage/FlatGeobuf file, is made before this
        returns, so what goes wrong with the query (a filter the database refuses, a timeout, the database gone) is
        raised here, while the HTTP status can still say so, instead of cutting a download off after its 200."""
        if fmt == "csv":
            chunks = self._chunks(layer, query)
            return self._csv(layer, next(chunks, None), chunks, crs)
        return _blocks(self._file(layer, query, fmt, crs))

    def _chunks(self, layer: str, query: Query) -> Iterator[ExportChunk]:
        return self.store.export(layer, query, rows=self.rows)

    @staticmethod
    def _geometries(chunk: ExportChunk, crs: crsmod.Crs) -> np.ndarray:
        return crsmod.from_crs84_xy(shapely.from_wkb(chunk.wkb), crs)

    def _csv(self, layer: str, first: ExportChunk | None, rest: Iterator[ExportChunk],
             crs: crsmod.Crs) -> Iterator[bytes]:
        names = self.store.spec(layer).attribute_names
        head = io.StringIO()
        csv.writer(head).writerow(["id", *names, "wkt"])
        yield ("\ufeff" + head.getvalue()).encode()  # BOM: spreadsheet programs then read the Chinese text
        for chunk in itertools.chain([first] if first is not None else [], rest):
            wkt = shapely.to_wkt(self._geometries(chunk, crs), rounding_precision=crsmod.precision(crs))
            buf = io.StringIO()
            cells = [["" if v is None else v for v in chunk.columns[n]] for n in names]
            csv.writer(buf).writerows(zip(chunk.ids.tolist(), *cells, wkt.tolist(), strict=True))
            yield buf.getvalue().encode()

    def _file(self, layer: str, query: Query, fmt: str, crs: crsmod.Crs) -> BinaryIO:
        """The finished file, open for reading and already unlinked (its space is freed once it is closed, even if the
        client goes away before reading it)."""
        import pyogrio

        spec = self.store.spec(layer)
        _media, ext, driver = FORMATS[fmt]
        schema = arrow_schema(spec)
        failed: list[Exception] = []

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for chunk in self._chunks(layer, query):
                    yield self._batch(spec, schema, chunk, crs)
            except Exception as exc:  # GDAL reports a failed stream as its own error: keep the cause to raise it
                failed.append(exc)
                raise

        fd, path = tempfile.mkstemp(suffix=f".{ext}", prefix="riskmap-download-")
        os.close(fd)
        os.unlink(path)  # the driver creates it
        try:
            try:
                pyogrio.write_arrow(pa.RecordBatchReader.from_batches(schema, batches()), path, layer=layer,
                                    driver=driver, geometry_name=GEOMETRY, geometry_type=geometry_type(spec),
                                    crs=crs.epsg_or_crs84, layer_options={"SPATIAL_INDEX": "NO"} if fmt == "fgb" else None)
            except Exception:
                if failed:
                    raise failed[0] from None
                raise
            return open(path, "rb")  # noqa: SIM115 - closed by _blocks
        finally:
            if os.path.exists(path):
                os.unlink(path)

    def _batch(self, spec: LayerSpec, schema: pa.Schema, chunk: ExportChunk, crs: crsmod.Crs) -> pa.RecordBatch:
        wkb = chunk.wkb if crs.is_crs84 else shapely.to_wkb(self._geometries(chunk, crs))
        arrays = [pa.array(chunk.ids, type=pa.int64())]
        arrays += [pa.array(chunk.columns[a.name], type=_ARROW[a.type], from_pandas=True) for a in spec.attributes]
        arrays.append(pa.array(wkb, type=pa.binary()))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _blocks(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while block := fh.read(BLOCK):
            yield block


def arrow_schema(spec: LayerSpec) -> pa.Schema:
    """id, the spec's attributes (JSON ones as text), the geometry as WKB (GeoArrow's extension name tells GDAL)."""
    fields = [pa.field("id", pa.int64(), nullable=False)]
    fields += [pa.field(a.name, _ARROW[a.type]) for a in spec.attributes]
    fields.append(pa.field(GEOMETRY, pa.binary(), metadata={"ARROW:extension:name": "geoarrow.wkb"}))
    return pa.schema(fields)


def geometry_type(spec: LayerSpec) -> str:
    """The layer's one geometry type, or "Unknown" (any geometry) where the spec allows several."""
    return spec.geometry_types[0] if len(spec.geometry_types) == 1 else "Unknown"
