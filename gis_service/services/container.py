"""The services of one process, built once and shared by the API, the CLI and the tests:

    services = Services.build(settings)        # or Services.build(settings, store)
    services.store                             # the one Store of this process
    services.rescue.nearest(lon, lat, "chemical", by="time")
    services.siting.check_park(3)              # rule sets, road graph and standards resolved inside
    services.reports.siting_park(3)            # the same check, as PDF

In the API it is ``request.app.state.services`` (dependency :func:`gis_service.api.deps.get_services`).
A new capability adds its facade module in this package and one line to :meth:`Services.build`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings, get_settings
from ..identities import Verifier
from ..stores import Store, make_store
from .basemaps import BasemapService
from .batch import BatchService
from .downloads import DownloadsService
from .exposure import ExposureService
from .incidents import IncidentService
from .layers import LayersService
from .maps import MapsService
from .monitoring import MonitoringService
from .processes import ProcessesService
from .reports import ReportsService
from .rescue import RescueService
from .resources import ResourcesService
from .risk import RiskService
from .siting import SitingService
from .tiles import TilesService


@dataclass
class Services:
    settings: Settings
    store: Store
    layers: LayersService
    exposure: ExposureService
    rescue: RescueService
    resources: ResourcesService
    incidents: IncidentService
    siting: SitingService
    risk: RiskService
    monitoring: MonitoringService
    maps: MapsService
    reports: ReportsService
    batch: BatchService
    processes: ProcessesService
    tiles: TilesService
    downloads: DownloadsService
    identities: Verifier
    basemaps: BasemapService

    @classmethod
    def build(cls, settings: Settings | None = None, store: Store | None = None) -> Services:
        """Every facade over one store. Bad settings fail here, at start-up, naming the variable."""
        settings = settings or get_settings()
        identities = Verifier(settings)  # fails fast on a malformed GIS_API_KEYS or keys file
        basemaps = BasemapService(settings)  # fails fast on a GIS_BASEMAP_FILE that is not MBTiles/PMTiles
        store = store or make_store(settings)
        layers = LayersService(store, settings)
        exposure = ExposureService(store)
        rescue = RescueService(store, settings)
        exposure.admin_areas = rescue.admin_areas = layers.admin_areas   # border notes (issue 20)
        resources = ResourcesService(store, rescue, exposure)
        incidents = IncidentService(store, exposure, rescue, resources)
        resources.commitments = incidents.commitments
        siting = SitingService(store, rescue)
        risk = RiskService(store)
        monitoring = MonitoringService(store, settings, exposure, rescue)
        maps = MapsService(settings, layers, exposure, rescue, siting, risk)
        reports = ReportsService(settings, layers, exposure, rescue, siting, risk, incidents, monitoring, basemaps)
        batch = BatchService(store, settings, rescue)
        processes = ProcessesService(store, settings, exposure, rescue, siting, risk, batch)
        return cls(settings, store, layers, exposure, rescue, resources, incidents, siting, risk, monitoring, maps,
                   reports, batch, processes, tiles=TilesService(store, settings), downloads=DownloadsService(store), identities=identities,
                   basemaps=basemaps)
