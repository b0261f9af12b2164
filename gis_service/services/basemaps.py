"""The basemaps facade: the local tile file (opened and checked once, at start-up), the basemaps offered with their
attribution and 审图号 (:mod:`gis_service.basemaps.offers`), the tiles the service serves, and the credit line the
PDF maps print."""

from __future__ import annotations

from dataclasses import dataclass

from ..basemaps.archive import ArchiveInfo, TileArchive, open_archive
from ..basemaps.offers import Offer, offers
from ..config import Settings

MAX_Z = 30


class NoTile(LookupError):
    """No tile at that address (outside the file's zooms or extent, or no file configured)."""


class BadTileAddress(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TileAnswer:
    body: bytes
    media_type: str
    etag: str


class FileTiles:
    """The local file as a :class:`gis_service.reports.tileimage.TileSource`."""

    def __init__(self, archive: TileArchive):
        self.archive = archive
        self.min_zoom, self.max_zoom = archive.info.min_zoom, archive.info.max_zoom

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        return self.archive.tile(z, x, y) if self.min_zoom <= z <= self.max_zoom else None


class BasemapService:
    def __init__(self, settings: Settings):
        self.settings = settings
        # a file that is not MBTiles/PMTiles (or holds vector tiles) stops the start-up, naming GIS_BASEMAP_FILE
        self.archive: TileArchive | None = open_archive(settings.basemap_file) if settings.basemap_file else None

    @property
    def local(self) -> ArchiveInfo | None:
        return self.archive.info if self.archive else None

    def offers(self) -> tuple[list[Offer], list[str]]:
        return offers(self.settings, self.local)

    def etag(self, z: int, x: int, y: int) -> str:
        self._check(z, x, y)
        assert self.archive is not None
        return f'"{self.archive.info.version}-{z}-{x}-{y}"'

    def _check(self, z: int, x: int, y: int) -> None:
        if not 0 <= z <= MAX_Z:
            raise BadTileAddress("z", f"zoom {z} outside 0–{MAX_Z}")
        n = 1 << z
        for name, v in (("x", x), ("y", y)):
            if not 0 <= v < n:
                raise BadTileAddress(name, f"{name}={v} outside 0–{n - 1} at zoom {z}")
        if self.archive is None:
            raise NoTile("no local basemap file is configured (GIS_BASEMAP_FILE)")

    def tile(self, z: int, x: int, y: int) -> TileAnswer:
        """The tile at z/x/y (XYZ, rows from the north); :class:`NoTile` outside the file's zooms or extent."""
        etag = self.etag(z, x, y)
        assert self.archive is not None
        info = self.archive.info
        data = self.archive.tile(z, x, y) if info.min_zoom <= z <= info.max_zoom else None
        if not data:
            raise NoTile(f"no tile {z}/{x}/{y} in the basemap file (zoom {info.min_zoom}–{info.max_zoom})")
        return TileAnswer(data, info.media_type, etag)

    def tile_source(self) -> FileTiles | None:
        """The local file's tiles for a PDF map image (None without a file)."""
        return FileTiles(self.archive) if self.archive is not None else None

    def report_credit(self) -> str:
        """The credit line of a PDF map image: its maps are drawn from the service's own layers (with the local
        file's tiles under them when one is configured: see ReportsService)."""
        own = offers(self.settings, None)[0][-1].attribution
        if self.archive is None:
            return own
        file_offer = self.offers()[0][0]
        return f"{file_offer.attribution}；{own}"

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()
