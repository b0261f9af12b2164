"""Settings, read from the environment with the ``GIS_`` prefix (pydantic-settings).

    GIS_STORE=embedded|postgis          which engine answers (default: embedded)
    GIS_GPKG_PATH=sample_data/jilin_sample.gpkg   the embedded store's file
    GIS_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/riskmap
    GIS_API_KEYS="secret1:editor,secret2:viewer:2201"  key:role[:jurisdiction]; writes need role editor
    GIS_KEYS_FILE=                      YAML file of hashed keys with role and jurisdiction (identities.py)
    GIS_JWT_JWKS=                       JWKS file or URL: Bearer JWTs verified against it (e.g. Keycloak)
    GIS_JWT_ISSUER=, GIS_JWT_AUDIENCE=  checked when set; GIS_JWT_ALGORITHMS=RS256,ES256
    GIS_JWT_ROLE_CLAIM=role, GIS_JWT_JURISDICTION_CLAIM=admin_code   where a token carries them
    GIS_READ_REQUIRES_KEY=false         reads are open by default
    GIS_PUBLIC_JURISDICTION=            what anonymous reads see of regulated layers ('' = all, as before;
                                        'none' = nothing); a province deployment sets it or requires keys
    GIS_BASEMAP_URL=                    XYZ/WMTS template; empty → admin boundaries as basemap
    GIS_BASEMAP_FILE=                   a local MBTiles/PMTiles file of raster tiles, served at /basemap/{z}/{x}/{y}
    GIS_TIANDITU_KEY=, GIS_TIANDITU_SET=vec_w   Tianditu (天地图) vector or imagery with its label layer (c or w set)
    GIS_BASEMAP_REVIEW_NO=              the shown basemap's map-review number (审图号), e.g. GS(2024)0650号
    GIS_RESCUE_STANDARD_MIN=hazmat:20   override configurable rescue arrival standards (minutes)
    GIS_ROAD_PBF=                       route on an OSM PBF extract instead of the roads layer
    GIS_MQTT_URL=mqtt://127.0.0.1:1883  sensor readings broker (topic GIS_MQTT_TOPIC/{sensor_id})
    GIS_DB_CONNECT_TIMEOUT_S=5          PostGIS: give up connecting after this long (→ 503)
    GIS_DB_STATEMENT_TIMEOUT_S=30       PostGIS: cancel a statement after this long (→ 503)
    GIS_HEAVY_CONCURRENCY=2             analyses/maps running at once per worker (the rest queue)
    GIS_LOG_LEVEL=INFO, GIS_LOG_FORMAT=text|json   the service's log
    GIS_REPORT_FONT=                    CJK TrueType font for PDF reports (default: Debian's fonts)
    GIS_JOBS_CONCURRENCY=1              OGC API – Processes jobs running at once per API process
    GIS_DASK_SCHEDULER=                 tcp://host:8786 runs batches on that cluster; empty = LocalCluster
    GIS_DASK_WORKERS=2                  workers of that LocalCluster
    GIS_VIEWER_BUNDLE=true              the viewer as one bundled script when web/dist/ has a fresh one

Every value is typed and checked when the settings are read: a bad value stops the service at
start-up with a message naming the variable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .models.rescue_standards import parse_overrides

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GPKG = ROOT / "sample_data" / "jilin_sample.gpkg"
ROLES = ("sensor", "viewer", "editor", "admin")  # sensor: may only post monitoring readings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GIS_", env_file=None, extra="ignore")

    store: str = Field("embedded", description="embedded | postgis")
    gpkg_path: Path = DEFAULT_GPKG
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/riskmap"
    layers_dir: Path | None = None
    api_keys: str = Field("", description="comma-separated key:role pairs; roles: sensor (post readings only), viewer, editor, admin")
    read_requires_key: bool = False
    keys_file: Path | None = Field(None, description="YAML file of API keys stored as SHA-256 with role and "
                                   "jurisdiction (gis-service keys add)")
    jwt_jwks: str = Field("", description="JWKS file path or http(s) URL; Bearer JWTs are verified against it")
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_algorithms: str = Field("RS256,ES256", description="accepted signature algorithms (asymmetric only)")
    jwt_role_claim: str = Field("role", description="claim with the role; dotted path, e.g. realm_access.roles")
    jwt_jurisdiction_claim: str = Field("admin_code", description="claim with the GB/T 2260 jurisdiction code")
    jwt_allow_whole: bool = Field(False, description="accept tokens without a jurisdiction as the whole service")
    jwt_leeway_s: float = Field(30.0, ge=0, le=600, description="clock skew allowed on exp/nbf")
    audit_restore_days: float = Field(90.0, gt=0, le=36500, description="recorded versions (also of deleted "
                                      "features) can be restored for this many days; the trail itself is kept")
    public_jurisdiction: str = Field("", description="jurisdiction of anonymous reads: '' = everything, "
                                     "'none' = no regulated feature, or an admin code")
    max_limit: int = Field(10_000, ge=1, le=1_000_000)
    default_limit: int = Field(100, ge=1)
    tile_max_features: int = Field(5000, ge=100, le=1_000_000, description="features per layer of a vector tile "
                                   "before thinning (one per 4-pixel cell)")
    tile_cache_tiles: int = Field(4096, ge=0, le=10_000_000, description="vector tiles kept in memory per process "
                                  "(keyed by the layers' revisions, so edits never serve a stale tile)")
    viewer_tile_threshold: int = Field(20_000, ge=0, le=1_000_000_000, description="the viewer draws a layer "
                                       "holding at least this many features (its collection's itemCount) from the "
                                       "vector tiles instead of GeoJSON; 0 = every layer from tiles")
    viewer_bundle: bool = Field(True, description="serve the viewer's modules as the one minified bundle "
                                "setup_web_assets.sh builds (web/dist/viewer.bundle.js) while it matches the sources; "
                                "false = always the modules themselves (development)")
    matched_count_cap: int = Field(100_000, ge=0, le=1_000_000_000, description="numberMatched of a filtered "
                                   "items page (bbox, filter, equality, q) is counted up to this many rows; above it "
                                   "numberMatched is omitted (OGC API Features allows it) and the next link comes "
                                   "from one extra row read past the page")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1)
    db_connect_timeout_s: float = Field(5.0, gt=0, le=300)
    db_statement_timeout_s: float = Field(30.0, gt=0, le=3600)
    header_timeout_s: float = Field(10.0, ge=0.5, le=600, description="a client must send its request headers "
                                    "within this (slow-header clients get 408 and are closed)")
    body_timeout_s: float = Field(60.0, ge=0.5, le=3600, description="a client must send its request body within "
                                  "this after the headers (slow-body clients get 408 and are closed)")
    shutdown_grace_s: float = Field(3.0, ge=0, le=600, description="on stop (SIGTERM, Ctrl-C) open requests and "
                                    "event streams get this long to finish, then are closed (an EventSource reconnects)")
    db_deadline_s: float = Field(3.0, ge=0.3, le=60, description="PostGIS: a server that answers no liveness "
                                 "probe within this (frozen, hung) is answered with 503 until it does again")
    heavy_concurrency: int = Field(2, ge=1, le=64, description="analyses and maps running at once per worker; "
                                   "more wait their turn, so cheap requests are not starved")
    basemap_url: str = ""
    basemap_attribution: str = ""
    basemap_crs: str = Field("WGS84", description="WGS84 (also CGCS2000) or GCJ02 (AMap etc.)")
    basemap_file: Path | None = Field(None, description="a local MBTiles or PMTiles file of raster tiles (a "
                                      "province's offline street map), served at /basemap/{z}/{x}/{y}; checked at "
                                      "start-up")
    tianditu_key: str = Field("", max_length=100, pattern=r"^[A-Za-z0-9]*$",
                              description="Tianditu (天地图) developer key (tk); offers its vector or imagery map")
    tianditu_set: str = Field("vec_w", pattern=r"^(vec|img)_(c|w)$", description="Tianditu layer and matrix set: "
                              "vec_w, vec_c, img_w or img_c (w: Web Mercator; c: CGCS2000 lon/lat, levels from 1)")
    basemap_review_no: str = Field("", max_length=80, pattern=r"^[^<>&\x00-\x1f]*$",
                                   description="map-review number (审图号) of the tile basemap shown, e.g. "
                                   "'GS(2024)0650号'; printed with its attribution on every web map and PDF "
                                   "(《地图管理条例》); required with GIS_TIANDITU_KEY")
    public_url: str | None = None
    rescue_standard_min: str = Field("", description="arrival-standard overrides, e.g. 'hazmat:20,medical:15'")
    road_pbf: Path | None = Field(None, description="OSM PBF to route on instead of the roads layer")
    # live monitoring (gis_service.monitoring)
    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="MQTT broker of the sensor readings")
    mqtt_topic: str = Field("riskmap/readings", description="topic prefix; readings on {prefix}/{sensor_id}")
    mqtt_group: str = Field("riskmap-ingest", description="MQTT v5 shared-subscription group; empty = own subscription")
    alarm_escalation_min: str = Field("", description="escalation minutes overriding data/alarm_escalation.csv, "
                                      "e.g. '2:county:10,2:city:20' (alarm level:from level:minutes); checked when "
                                      "the services are built")
    alarm_escalate_every_s: float = Field(5.0, gt=0, le=3600, description="how often the MQTT ingest worker "
                                          "passes overdue alarms up (API processes do it each second while a stream "
                                          "is open; `gis-service escalate` on demand)")
    monitoring_retention_days: float = Field(30.0, gt=0, description="raw readings kept this long, then hourly roll-ups")
    monitoring_max_future_s: float = Field(300.0, ge=0, description="readings further ahead of the clock are refused")
    monitoring_max_payload: int = Field(65536, ge=64, description="largest MQTT payload accepted, bytes")
    monitoring_flood_rate: float = Field(20.0, gt=0, description="readings/s one sensor may sustain (token bucket)")
    monitoring_flood_burst: float = Field(200.0, ge=1, description="readings one sensor may send at once")
    # OGC API – Processes jobs and Dask batches (gis_service.processes, gis_service.batch)
    jobs_concurrency: int = Field(1, ge=1, le=64, description="asynchronous jobs running at once per API process")
    jobs_stale_s: float = Field(30.0, ge=1, le=3600, description="a running job silent this long (its process died) "
                                "is taken over by another API process")
    dask_scheduler: str = Field("", max_length=500, description="tcp://host:8786 of a Dask scheduler; empty = a "
                                "LocalCluster started by the batch")
    dask_workers: int = Field(2, ge=1, le=256, description="workers of the LocalCluster (one thread each)")
    batch_dir: Path | None = Field(None, description="where batch outputs and checkpoints go (GeoParquet); default "
                                   "batches/ next to the GeoPackage or sample_data/batches for PostGIS")
    # logging and reports
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="level of the service's log (GIS_LOG_LEVEL)")
    log_format: Literal["text", "json"] = Field("text", description="text (key=value) or json (one object per line)")
    report_font: Path | None = Field(None, description="TrueType/TTC font with CJK glyphs for the PDF reports "
                                     "(default: Debian's WenQuanYi Zen Hei or Noto CJK)")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_upper(cls, v: object, info) -> object:
        if not isinstance(v, str):
            return v
        return v.upper() if info.field_name == "log_level" else v.lower()

    @field_validator("store")
    @classmethod
    def _store(cls, v: str) -> str:
        if v not in ("embedded", "postgis"):
            raise ValueError("GIS_STORE must be 'embedded' or 'postgis'")
        return v

    @model_validator(mode="after")
    def _review_number(self) -> Settings:
        if self.tianditu_key and not self.basemap_review_no.strip():
            raise ValueError("GIS_TIANDITU_KEY is set but GIS_BASEMAP_REVIEW_NO is empty: a published map shows its "
                             "map-review number (审图号, 《地图管理条例》); set GIS_BASEMAP_REVIEW_NO to the number "
                             "Tianditu shows for the edition you use, e.g. GIS_BASEMAP_REVIEW_NO='GS(2024)0650号'")
        return self

    @field_validator("rescue_standard_min")
    @classmethod
    def _standards(cls, v: str) -> str:
        parse_overrides(v)  # ValueError names the variable and what it accepts
        return v

    @field_validator("jwt_algorithms")
    @classmethod
    def _algorithms(cls, v: str) -> str:
        algs = [a.strip() for a in v.split(",") if a.strip()]
        bad = [a for a in algs if a.lower() == "none" or a.upper().startswith("HS")]
        if bad or not algs:
            raise ValueError("GIS_JWT_ALGORITHMS: asymmetric algorithms only (e.g. RS256,ES256), never none/HS*")
        return ",".join(algs)

    @field_validator("public_jurisdiction")
    @classmethod
    def _public(cls, v: str) -> str:
        from .access import normalise

        return v if v.strip() == "none" else normalise(v)

    def jwt_algorithm_list(self) -> list[str]:
        return self.jwt_algorithms.split(",")

    def key_grants(self) -> dict[str, tuple[str, str]]:
        """GIS_API_KEYS as {key: (role, jurisdiction)}; a key without a jurisdiction has the whole service's."""
        from .access import normalise

        out = {}
        for pair in filter(None, (p.strip() for p in self.api_keys.split(","))):
            key, _, rest = pair.partition(":")
            role, _, jurisdiction = rest.partition(":")
            role = role or "editor"
            if role not in ROLES:
                raise ValueError(f"GIS_API_KEYS: unknown role {role!r}; roles: {', '.join(ROLES)}")
            try:
                out[key] = (role, normalise(jurisdiction))
            except ValueError as exc:
                raise ValueError(f"GIS_API_KEYS: {exc}") from None
        return out

    def key_roles(self) -> dict[str, str]:
        return {k: role for k, (role, _) in self.key_grants().items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
