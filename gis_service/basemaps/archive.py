"""Reading a local tile archive — MBTiles 1.3 (SQLite) or PMTiles v3 — so a province can ship its own offline
street map and the service serves it at ``/basemap/{z}/{x}/{y}``.

* MBTiles (https://github.com/mapbox/mbtiles-spec/blob/master/1.3/spec.md): a SQLite file with a ``tiles`` table
  (``zoom_level, tile_column, tile_row, tile_data``) whose rows count from the *south* (TMS), so the XYZ row ``y``
  is stored as ``2^z - 1 - y``; a ``metadata`` table of name/value pairs (``format``, ``bounds``, ``minzoom``,
  ``maxzoom``, ``attribution``, ``name``). Opened read-only (``mode=ro`` URI).
* PMTiles v3 (https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md): a single file with a header, a
  Hilbert-ordered directory and JSON metadata, read with the ``pmtiles`` package's reader over a memory map.

Raster tiles (PNG, JPEG, WebP) are served. A file of vector tiles (MVT/pbf) is refused with a message saying what
to do: the viewer and the PDF maps draw raster basemaps only. Anything that is neither format is refused naming the
file and the formats accepted — at start-up, never at the first tile request."""

from __future__ import annotations

import gzip
import hashlib
import html
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

RASTER = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
VECTOR = ("pbf", "mvt")
MAX_ZOOM = 30
SQLITE_MAGIC = b"SQLite format 3\x00"
PMTILES_MAGIC = b"PMTiles"
WHAT_TO_DO = ("ship an MBTiles (.mbtiles) or PMTiles v3 (.pmtiles) file of raster PNG/JPEG/WebP tiles "
              "(e.g. `gdal_translate -of MBTILES` of a GeoTIFF, or `pmtiles convert` of an MBTiles file)")


class TileArchiveError(ValueError):
    """The configured basemap file cannot be served (the message names the file and what to do)."""


@dataclass(frozen=True)
class ArchiveInfo:
    path: str
    kind: str                    # "mbtiles" | "pmtiles"
    format: str                  # "png" | "jpg" | "webp"
    media_type: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None   # lon/lat west, south, east, north
    name: str
    attribution: str             # plain text (tags of an HTML attribution removed)
    version: str                 # size and modification time: part of every tile's ETag


def plain(text: object) -> str:
    """Attribution text from a file's metadata without its HTML (``<a href=…>© OSM</a>`` → ``© OSM``)."""
    return html.unescape(re.sub(r"<[^>]*>", "", str(text or ""))).strip()[:300]


def _version(path: Path) -> str:
    st = path.stat()
    return hashlib.blake2b(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode(), digest_size=8).hexdigest()


def _bounds(value: object) -> tuple[float, float, float, float] | None:
    try:
        w, s, e, n = (float(v) for v in str(value).split(","))
    except (TypeError, ValueError):
        return None
    return (w, s, e, n) if -180 <= w < e <= 180 and -90 <= s < n <= 90 else None


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "pbf" if data else None


def _check_format(path: Path, fmt: str) -> str:
    fmt = fmt.lower().strip()
    if fmt in VECTOR:
        raise TileArchiveError(f"GIS_BASEMAP_FILE={path}: holds vector tiles ({fmt}); the viewer and the PDF maps "
                               "draw raster basemaps only — render it to raster PNG/JPEG/WebP tiles first, or "
                               "leave GIS_BASEMAP_FILE empty (the own-layers basemap is drawn)")
    if fmt not in RASTER:
        raise TileArchiveError(f"GIS_BASEMAP_FILE={path}: tile format {fmt!r} not served; {WHAT_TO_DO}")
    return "jpg" if fmt == "jpeg" else fmt


class TileArchive:
    """An open tile archive: :attr:`info` and :meth:`tile` (XYZ addressing, rows from the north)."""

    info: ArchiveInfo

    def tile(self, z: int, x: int, y: int) -> bytes | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - overridden
        pass


class MBTiles(TileArchive):
    def __init__(self, path: Path):
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            self._db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 0").fetchall()
            zooms = self._db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
            first = self._db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise TileArchiveError(f"GIS_BASEMAP_FILE={path}: a SQLite file but not an MBTiles tile set ({exc}); "
                                   f"{WHAT_TO_DO}") from None
        fmt = str(meta.get("format") or (_sniff(bytes(first[0])) if first else None) or "")
        if not fmt:
            raise TileArchiveError(f"GIS_BASEMAP_FILE={path}: an MBTiles file with no tiles and no format")
        fmt = _check_format(path, fmt)
        lo = _int(meta.get("minzoom"), zooms[0] if zooms[0] is not None else 0)
        hi = _int(meta.get("maxzoom"), zooms[1] if zooms[1] is not None else lo)
        self.info = ArchiveInfo(str(path), "mbtiles", fmt, RASTER[fmt], lo, hi, _bounds(meta.get("bounds")),
                                plain(meta.get("name") or path.stem), plain(meta.get("attribution")), _version(path))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                   (z, x, (1 << z) - 1 - y)).fetchone()   # TMS: rows count from the south
        return bytes(row[0]) if row else None

    def close(self) -> None:
        self._db.close()


def _int(value: object, default: int) -> int:
    try:
        return max(0, min(MAX_ZOOM, int(str(value))))
    except (TypeError, ValueError):
        return default


class PMTiles(TileArchive):
    def __init__(self, path: Path):
        from pmtiles.reader import MmapSource, Reader
        from pmtiles.tile import Compression, SpecVersionUnsupported, TileType

        self._file = open(path, "rb")   # noqa: SIM115 - kept open for the memory map while the service runs
        try:
            self._reader = Reader(MmapSource(self._file))
            header = self._reader.header()
            meta = self._reader.metadata() if header["metadata_length"] else {}
        except SpecVersionUnsupported:
            self._file.close()
            raise TileArchiveError(f"GIS_BASEMAP_FILE={path}: a PMTiles file of an older spec version; convert it to "
                                   "PMTiles v3 (`pmtiles convert`)") from None
        except (ValueError, KeyError, OSError) as exc:
            self._file.close()
            raise TileArchiveError(f"GIS_BASEMAP_FILE={path}: a damaged PMTiles file ({exc}); {WHAT_TO_DO}") from None
        names = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp", TileType.MVT: "pbf"}
        fmt = _check_format(path, names.get(header["tile_type"], str(header["tile_type"].name).lower()))
        if header["tile_compression"] not in (Compression.NONE, Compression.UNKNOWN, Compression.GZIP):
            self._file.close()
            raise TileArchiveError(f"GIS_BASEMAP_FILE={path}: tiles compressed with "
                                   f"{header['tile_compression'].name}; raster tiles are stored uncompressed")
        self._gzip = header["tile_compression"] == Compression.GZIP
        self._header = header
        self._dirs: dict[tuple[int, int], list] = {}   # deserialised directories by (offset, length)
        self._lock = threading.Lock()
        box = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7,
               header["max_lat_e7"] / 1e7)
        meta = meta if isinstance(meta, dict) else {}
        self.info = ArchiveInfo(str(path), "pmtiles", fmt, RASTER[fmt], header["min_zoom"], header["max_zoom"],
                                _bounds(",".join(map(str, box))), plain(meta.get("name") or path.stem),
                                plain(meta.get("attribution")), _version(path))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        if not (0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)):
            return None
        data = self._find(z, x, y)
        if not data:
            return None
        return gzip.decompress(data) if self._gzip else bytes(data)

    def _directory(self, offset: int, length: int) -> list:
        key = (offset, length)
        entries = self._dirs.get(key)
        if entries is None:
            from pmtiles.tile import deserialize_directory

            entries = deserialize_directory(self._reader.get_bytes(offset, length))
            with self._lock:
                if len(self._dirs) > 256:   # leaf directories of a large file: keep a bounded set
                    self._dirs.clear()
                self._dirs[key] = entries
        return entries

    def _find(self, z: int, x: int, y: int) -> bytes | None:
        """The spec's look-up (root directory, then at most three leaf levels) with the header read once and the
        directories deserialised once — ``pmtiles.reader.Reader.get`` redoes both for every tile (~10 ms a tile
        for a root of a few thousand entries; bench/bench_basemap_tiles.py)."""
        from pmtiles.tile import find_tile, zxy_to_tileid

        h = self._header
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = h["root_offset"], h["root_length"]
        for _ in range(4):
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length > 0:
                return self._reader.get_bytes(h["tile_data_offset"] + entry.offset, entry.length)
            offset, length = h["leaf_directory_offset"] + entry.offset, entry.length
        return None

    def close(self) -> None:
        self._file.close()


def open_archive(path: Path | str) -> TileArchive:
    """The archive at ``path``, checked: raises :class:`TileArchiveError` naming the file and what to do."""
    p = Path(path)
    if not p.is_file():
        raise TileArchiveError(f"GIS_BASEMAP_FILE={p}: no such file; {WHAT_TO_DO}")
    with open(p, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return MBTiles(p)
    if head.startswith(PMTILES_MAGIC):
        return PMTiles(p)
    raise TileArchiveError(f"GIS_BASEMAP_FILE={p}: neither an MBTiles (SQLite) nor a PMTiles file "
                           f"(it begins with {head[:8]!r}); {WHAT_TO_DO}")


def read_info(path: Path | str) -> ArchiveInfo:
    """The archive's description (opened and closed again)."""
    archive = open_archive(path)
    try:
        return archive.info
    finally:
        archive.close()

