"""Reading user files into validated rows: GeoJSON, GeoPackage, Shapefile, GeoParquet, FlatGeobuf
and CSV with lon/lat (or WKT) columns.

CRS handling: the source CRS must be known and carry an EPSG code. EPSG:4326 and CGCS2000
(EPSG:4490, identical to WGS84 within centimetres) are taken as they are; any other EPSG CRS is
reprojected to EPSG:4326. GeoJSON is WGS84 by RFC 7946. CSV lon/lat columns are WGS84 unless
``crs`` says otherwise. A file whose CRS is missing or not EPSG-coded is refused (pass ``crs``).

Shapefile truncates field names to 10 characters; a truncated name that is the unique prefix of
a layer attribute is mapped back to it. Columns the layer does not have are refused unless
``ignore_extra`` is set, so nothing a user loads is silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from .catalog import LayerSpec
from .validation import Problem, Row, ValidationFailed, validate_rows

SUPPORTED = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage", ".shp": "Shapefile",
             ".zip": "Shapefile (zipped)", ".parquet": "GeoParquet", ".geoparquet": "GeoParquet",
             ".fgb": "FlatGeobuf", ".csv": "CSV"}
LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
WKT_NAMES = ("wkt", "geometry", "geom")
SAME_AS_WGS84 = {4326, 4490}  # CGCS2000 ≈ WGS84 to within centimetres
CHUNK = 2000


class LoadError(ValueError):
    """A file-level problem (format, CRS, columns)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.problem = Problem(None, field, message)


@dataclass
class LoadResult:
    rows: list[Row]
    source_crs: str
    reprojected: bool


def _parse_crs(text: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except Exception as exc:  # pyproj raises CRSError
        raise LoadError("crs", f"cannot understand CRS {text!r}: {exc}") from None


def read_frame(path: Path, crs: str | None = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read any supported file into a GeoDataFrame with its CRS as found (or as given)."""
    path = Path(path)
    if not path.exists():
        raise LoadError("file", f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError("file", f"unsupported file type {suffix!r}; supported: {', '.join(sorted(SUPPORTED))}")
    try:
        if suffix == ".csv":
            return _read_csv(path, crs)
        if suffix in (".parquet", ".geoparquet"):
            frame = gpd.read_parquet(path)
        else:
            import pyogrio

            kwargs = {"layer": layer} if layer else {}
            frame = pyogrio.read_dataframe(path, **kwargs)
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError("file", f"cannot read {path.name}: {exc}") from None
    if crs:
        frame = frame.set_crs(_parse_crs(crs), allow_override=True)
    return frame


def _read_csv(path: Path, crs: str | None) -> gpd.GeoDataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    lower = {c.lower().strip(): c for c in df.columns}
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    wkt = next((lower[n] for n in WKT_NAMES if n in lower), None)
    if lon and lat:
        problems = []
        xs = pd.to_numeric(df[lon].replace("", None), errors="coerce")
        ys = pd.to_numeric(df[lat].replace("", None), errors="coerce")
        for i in df.index[xs.isna() | ys.isna()]:
            problems.append(Problem(int(i), lon if pd.isna(xs[i]) else lat, "missing or non-numeric coordinate"))
        if problems:
            raise ValidationFailed(problems[:50])
        geoms = shapely.points(xs.to_numpy(float), ys.to_numpy(float))
        df = df.drop(columns=[lon, lat])
    elif wkt:
        try:
            geoms = shapely.from_wkt(df[wkt].replace("", None).to_numpy(), on_invalid="raise")
        except shapely.errors.GEOSException as exc:
            raise LoadError(wkt, f"unparseable WKT: {exc}") from None
        df = df.drop(columns=[wkt])
    else:
        raise LoadError("geometry", "CSV needs lon/lat (longitude/latitude, x/y) columns or a WKT column")
    df = df.replace("", None)
    return gpd.GeoDataFrame(df, geometry=geoms, crs=_parse_crs(crs) if crs else CRS.from_epsg(4326))


def to_wgs84(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str, bool]:
    """Return (frame in EPSG:4326, source CRS label, reprojected?) or raise LoadError."""
    if frame.crs is None:
        raise LoadError("crs", "the file has no CRS; give one (e.g. --crs EPSG:4490) — coordinates are never guessed")
    epsg = frame.crs.to_epsg(min_confidence=70)
    if epsg is None:
        raise LoadError("crs", f"CRS {frame.crs.name!r} has no EPSG code; reproject it or pass --crs EPSG:xxxx")
    if epsg in SAME_AS_WGS84:
        return frame.set_crs(4326, allow_override=True), f"EPSG:{epsg}", False
    try:
        return frame.to_crs(4326), f"EPSG:{epsg}", True
    except Exception as exc:
        raise LoadError("crs", f"cannot reproject from EPSG:{epsg}: {exc}") from None


def map_columns(spec: LayerSpec, columns: list[str], ignore_extra: bool) -> dict[str, str]:
    """File column → attribute name (exact, case-insensitive, or Shapefile-truncated prefix)."""
    mapping: dict[str, str] = {}
    unknown = []
    for col in columns:
        if col in ("id", "fid", "FID"):
            continue
        if col in spec.attribute_names:
            mapping[col] = col
            continue
        matches = [a for a in spec.attribute_names if a.lower() == col.lower()]
        if not matches and len(col) == 10:
            matches = [a for a in spec.attribute_names if a.lower().startswith(col.lower())]
        if len(matches) == 1:
            mapping[col] = matches[0]
        else:
            unknown.append(col)
    if unknown and not ignore_extra:
        raise LoadError(unknown[0], f"column(s) {', '.join(unknown)} are not attributes of layer {spec.name} "
                        f"({', '.join(spec.attribute_names)}); rename them or pass --ignore-extra")
    return mapping


def rows_from_frame(spec: LayerSpec, frame: gpd.GeoDataFrame, ignore_extra: bool = False,
                    keep_ids: bool = False, progress: Callable[[int], None] | None = None) -> LoadResult:
    frame, source_crs, reprojected = to_wgs84(frame)
    mapping = map_columns(spec, [c for c in frame.columns if c != frame.geometry.name], ignore_extra)
    attrs = frame[list(mapping)].rename(columns=mapping)
    records = attrs.astype(object).where(attrs.notna(), None).to_dict("records")
    geoms = list(frame.geometry.values)
    rows: list[Row] = []
    problems: list[Problem] = []
    for start in range(0, len(records), CHUNK):
        chunk = list(zip(geoms[start:start + CHUNK], records[start:start + CHUNK], strict=True))
        try:
            rows.extend(validate_rows(spec, chunk, first_row=start))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
            if len(problems) >= 50:
                break
        if progress:
            progress(len(chunk))
    if problems:
        raise ValidationFailed(problems[:50], spec.name)
    if keep_ids and "id" in frame.columns:
        ids = pd.to_numeric(frame["id"], errors="coerce")
        if ids.notna().all() and ids.is_unique and (ids > 0).all():
            for row, fid in zip(rows, ids.astype(int).tolist(), strict=True):
                row.id = fid
    return LoadResult(rows, source_crs, reprojected)
