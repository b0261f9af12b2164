"""Response models of the JSON endpoints, for the OpenAPI document.

The handlers build their answers with orjson (GeoJSON geometry passes through as text), so these
models describe the answers rather than produce them; the schemathesis run checks the statuses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Landing(BaseModel):
    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]


class Collection(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    title: str
    description: str
    itemType: str = "feature"
    crs: list[str]
    links: list[Link]
    extent: dict[str, Any] | None = None


class Collections(BaseModel):
    links: list[Link]
    collections: list[Collection]


class GeoJSONFeature(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = Field("Feature", description="Feature")
    id: int | str | None = None
    geometry: dict[str, Any] | None = Field(..., description="RFC 7946 geometry, WGS84 lon/lat")
    properties: dict[str, Any] | None


class FeatureCollection(BaseModel):
    """RFC 7946 FeatureCollection; analyses add ``metadata`` (model, parameters, units, sources)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field("FeatureCollection", description="FeatureCollection")
    features: list[GeoJSONFeature]
    numberMatched: int | None = None
    numberReturned: int | None = None
    links: list[Link] | None = None
    metadata: dict[str, Any] | None = None


class Created(BaseModel):
    created: list[int] = Field(..., description="ids of the new features, in input order")
    count: int


def geojson(model: type[BaseModel] = FeatureCollection, html: bool = False) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a 200 answered as application/geo+json (and text/html with ``f=html``)."""
    content: dict[str, Any] = {"application/geo+json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    if html:
        content["text/html"] = {}
    return {200: {"description": "GeoJSON", "content": content, "model": model}}


# -- analyses and the other JSON answers (issue 23: every route declares its answer) ------------------------
# Each model names the members every answer has; ``extra="allow"`` keeps the further members (model records,
# sources, notes) that the analyses add, so the document is described without being narrowed.

class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class JSONSchemaDoc(_Open):
    """A JSON Schema (OGC API Features Part 5 schema or queryables)."""

    schema_: str = Field(..., alias="$schema")
    id_: str = Field(..., alias="$id")
    type: str = "object"
    title: str | None = None
    properties: dict[str, Any]


class GradingRecord(_Open):
    """GB 18218-2018 grading of one hazard source: R, the grade and how each term was found."""


class GradingRun(_Open):
    """A regrade of every hazard source: counts by grade and change (records with ``records=true``)."""


class RuleSets(BaseModel):
    rule_sets: list[dict[str, Any]] = Field(..., description="each rule set as loaded from rules/<name>.yaml")


class GridCounts(_Open):
    """Counts of a layer's features per grid cell (for large-layer maps and the viewer)."""


class ViewerConfig(_Open):
    layers: list[dict[str, Any]]
    basemap: dict[str, Any]
    basemaps: dict[str, Any]
    extent: list[float] | tuple[float, float, float, float] | None
    endpoints: dict[str, str]
    read_requires_key: bool
    labels: dict[str, Any]


class PackedBasemap(_Open):
    """A simplified, packed basemap layer (coordinates as integer deltas; see web/js for the decoder)."""


class ReadingsAccepted(_Open):
    accepted: int
    problems: list[dict[str, Any]] = Field(default_factory=list)
    alarm_changes: list[dict[str, Any]] = Field(default_factory=list)


class AlarmList(_Open):
    alarms: list[dict[str, Any]]
    count: int
    status: str


class AlarmWithPackage(_Open):
    """One alarm; with ``package=true`` also its decision package (source, scenario, exposure, rescue)."""

    alarm: dict[str, Any]


class SensorSeries(_Open):
    sensor_id: int
    name: str | None = None
    kind: str
    unit: str | None = None
    readings: list[dict[str, Any]]


class ReadingsReplay(_Open):
    """Every visible sensor's readings over a window, binned for the replay slider."""

    t0: float
    step_s: float
    bins: int
    truncated: bool
    sensors: list[dict[str, Any]]


class SensorKinds(BaseModel):
    kinds: list[dict[str, Any]]


class MonitoringStats(BaseModel):
    counters: dict[str, int]
    time: str


class IncidentDoc(_Open):
    """One incident: its state, dispatched units, timeline and attached analyses."""


class IncidentList(_Open):
    incidents: list[dict[str, Any]]
    count: int
    status: str


class ProcessList(_Open):
    """OGC API – Processes: the process summaries and links."""

    processes: list[dict[str, Any]]


class ProcessDescription(_Open):
    """OGC API – Processes: one process's inputs, outputs and job control options."""


class JobStatus(_Open):
    """OGC API – Processes statusInfo: jobID, processID, status, progress, times, links."""

    jobID: str
    status: str


class JobList(_Open):
    jobs: list[dict[str, Any]]


class JobResults(_Open):
    """A finished job's results ``{outputId: value}`` (sync execution answers this too; async answers the
    job's statusInfo with 201)."""


class BatchSummary(_Open):
    """A batch run: its partitions, progress and totals."""


class TileMatrixSets(_Open):
    tileMatrixSets: list[dict[str, Any]]


class TileMatrixSetDoc(_Open):
    """A tile matrix set as OGC 17-083r4 JSON."""


class TileSets(_Open):
    tilesets: list[dict[str, Any]]


class TileSetDoc(_Open):
    """A tileset (OGC API – Tiles) or, with ``f=tilejson``, its TileJSON 3.0 document."""


class FeatureHistory(_Open):
    layer: str
    id: int
    versions: list[dict[str, Any]]
    count: int
    next: int | None = None
    links: list[dict[str, Any]] = []


class Restored(_Open):
    restored: dict[str, Any]
    from_version: Any
    state: Any


class AuditTrail(_Open):
    records: list[dict[str, Any]]
    count: int


class CallerScope(_Open):
    """Who the caller is and what it may touch: subject, role, jurisdiction (a GB/T 2260 prefix, '' = the whole
    service) with its admin area's name, and whether it may edit features inside it."""

    subject: str
    role: str | None
    jurisdiction: str
    via: str
    name: str | None
    can_edit: bool


class ChangeFeed(_Open):
    """A layer's changes after ``since`` and the ``next`` value to follow with."""


HTML_PAGE: dict[int | str, dict[str, Any]] = {200: {"description": "an HTML page (a Leaflet map or the viewer)",
                                                    "content": {"text/html": {}}}}
EVENT_STREAM: dict[int | str, dict[str, Any]] = {200: {"description": "Server-Sent Events (never ends by itself)",
                                                       "content": {"text/event-stream": {}}}}


# Routes that answer no JSON: each declares its ``response_class`` and its ``responses`` (PDF, HTML, a
# file, an event stream) or answers no body (204). tests/test_response_models.py holds the list.
