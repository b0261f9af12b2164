"""Store factory: the configuration picks the engine; everything else sees only :class:`Store`."""

from __future__ import annotations

from ..catalog import Catalog, default_catalog, load_catalog
from ..config import Settings
from .base import Feature, FeatureNotFound, Page, Query, Store, StoreError, WriteBatch

__all__ = ["Feature", "FeatureNotFound", "Page", "Query", "Store", "StoreError", "WriteBatch", "make_store"]


def make_store(settings: Settings, catalog: Catalog | None = None) -> Store:
    catalog = catalog or (load_catalog(settings.layers_dir) if settings.layers_dir else default_catalog())
    if settings.store == "postgis":
        from .postgis import PostGISStore

        return PostGISStore(catalog, settings.database_url, connect_timeout_s=settings.db_connect_timeout_s,
                            statement_timeout_s=settings.db_statement_timeout_s,
                            deadline_s=settings.db_deadline_s)
    from .embedded import EmbeddedStore

    return EmbeddedStore(catalog, settings.gpkg_path)
