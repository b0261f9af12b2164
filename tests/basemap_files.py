"""Small basemap tile files for the tests: an MBTiles (SQLite, TMS rows) and a PMTiles v3 (the pmtiles package's
writer) of PNG tiles drawn with Pillow — each tile a colour of its own plus its address written on it, so a test
can tell which tile it was given."""

from __future__ import annotations

import io
import json
import math
import sqlite3
from pathlib import Path

from PIL import Image, ImageDraw

JILIN = (121.6, 40.8, 131.3, 46.3)


def tile_range(bbox, z):
    x0, y0, x1, y1 = bbox
    n = 1 << z

    def tx(lon):
        return int((lon + 180) / 360 * n)

    def ty(lat):
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    return range(tx(x0), tx(x1) + 1), range(ty(y1), ty(y0) + 1)


def colour(z, x, y) -> tuple[int, int, int]:
    return (40 + (x * 37) % 200, 60 + (y * 53) % 180, 90 + (z * 29) % 160)


def png(z, x, y) -> bytes:
    im = Image.new("RGB", (256, 256), colour(z, x, y))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 255, 255), outline=(255, 255, 255))
    d.line((0, 128, 255, 128), fill=(250, 250, 250), width=3)   # a "street"
    d.text((8, 8), f"{z}/{x}/{y}", fill=(0, 0, 0))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def tiles(bbox=JILIN, zooms=range(4, 9)):
    for z in zooms:
        xs, ys = tile_range(bbox, z)
        for x in xs:
            for y in ys:
                yield z, x, y


def make_mbtiles(path: Path, bbox=JILIN, zooms=range(4, 9), attribution="吉林省测绘 Jilin street map") -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")   # as the spec suggests
    meta = {"name": "吉林街道图", "format": "png", "bounds": ",".join(map(str, bbox)), "minzoom": min(zooms),
            "maxzoom": max(zooms), "attribution": f'<a href="https://example.org">{attribution}</a>', "type": "baselayer"}
    db.executemany("INSERT INTO metadata VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
    db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                   [(z, x, (1 << z) - 1 - y, png(z, x, y)) for z, x, y in tiles(bbox, zooms)])
    db.commit()
    db.close()
    return path


def make_pmtiles(path: Path, bbox=JILIN, zooms=range(4, 9), attribution="吉林省测绘 PMTiles") -> Path:
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import write

    entries = sorted((zxy_to_tileid(z, x, y), png(z, x, y)) for z, x, y in tiles(bbox, zooms))
    with write(str(path)) as w:
        for tid, data in entries:
            w.write_tile(tid, data)
        w.finalize({"tile_type": TileType.PNG, "tile_compression": Compression.NONE,
                    "min_zoom": min(zooms), "max_zoom": max(zooms),
                    "min_lon_e7": int(bbox[0] * 1e7), "min_lat_e7": int(bbox[1] * 1e7),
                    "max_lon_e7": int(bbox[2] * 1e7), "max_lat_e7": int(bbox[3] * 1e7),
                    "center_zoom": min(zooms), "center_lon_e7": int((bbox[0] + bbox[2]) / 2 * 1e7),
                    "center_lat_e7": int((bbox[1] + bbox[3]) / 2 * 1e7)},
                   {"name": "吉林街道图", "attribution": attribution, "format": "png", "extra": json.dumps([])})
    return path
