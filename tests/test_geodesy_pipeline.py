"""The local AEQD transformers are built from a PROJ pipeline string (fast) instead of ``Transformer.from_crs``
(a database search per centre). They must give the same coordinates as the CRS route, bit for bit, everywhere
the service may put a centre — or every buffer, plume footprint and QRA grid would move."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS, Transformer

from gis_service import geodesy


def _from_crs_pair(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    wgs84 = CRS.from_epsg(4326)
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.9f} +lon_0={lon0:.9f} +datum=WGS84 +units=m +no_defs")
    return (Transformer.from_crs(wgs84, aeqd, always_xy=True), Transformer.from_crs(aeqd, wgs84, always_xy=True))


CENTRES = [(125.3245, 43.8868), (73.5, 39.4), (134.77, 53.56), (109.5, 18.2), (0.0, 0.0), (-122.4, 37.8),
           (179.9, -65.0)]


@pytest.mark.parametrize(("lon0", "lat0"), CENTRES)
def test_pipeline_transformers_equal_the_crs_route_bit_for_bit(lon0: float, lat0: float) -> None:
    fwd, inv = geodesy._aeqd_pair.__wrapped__(round(lon0, 9), round(lat0, 9))
    ref_fwd, ref_inv = _from_crs_pair(round(lon0, 9), round(lat0, 9))
    rng = np.random.default_rng(7)
    lon = lon0 + rng.uniform(-0.5, 0.5, 20_000)
    lat = np.clip(lat0 + rng.uniform(-0.5, 0.5, 20_000), -89.9, 89.9)
    xy = np.column_stack(fwd.transform(lon, lat))
    assert np.array_equal(xy, np.column_stack(ref_fwd.transform(lon, lat)))
    assert np.array_equal(np.column_stack(inv.transform(*xy.T)), np.column_stack(ref_inv.transform(*xy.T)))
    # and the plane is what it claims: the centre maps to the origin, a point 1 km north to (0, 1000)
    lon_n, lat_n, _ = geodesy.WGS84.fwd(lon0, lat0, 0.0, 1000.0)
    x, y = fwd.transform(lon_n, lat_n)
    assert abs(x) < 1e-6 and abs(y - 1000.0) < 1e-6
