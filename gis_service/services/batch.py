"""The batch facade: the national batches (regrade, QRA of every installation, exposure of every source, rescue
coverage gaps) on Dask distributed, their outputs
(GeoParquet under the batch directory) served as collections. The scheduler comes from the settings only
(``GIS_DASK_SCHEDULER``; empty = a LocalCluster of ``GIS_DASK_WORKERS``) — never from a request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..analysis.consequence.params import ScenarioParams
from ..analysis.qra.data import QraParams
from ..batch import batches
from ..batch.runner import Progress
from ..config import ROOT, Settings
from ..stores.base import Store
from .rescue import RescueService

RUN_NAME = re.compile(r"^(regrade|qra|exposure|coverage)-[0-9a-f]{16}$")


class UnknownRun(LookupError):
    """No finished batch run of that name (→ 404)."""


class BatchService:
    def __init__(self, store: Store, settings: Settings, rescue: RescueService):
        self.store, self.settings, self.rescue = store, settings, rescue

    @property
    def root(self) -> Path:
        if self.settings.batch_dir is not None:
            return Path(self.settings.batch_dir)
        path = getattr(self.store, "path", None)
        return (Path(path).parent if path is not None else ROOT / "sample_data") / "batches"

    def scheduler(self, override: str | None = None) -> str:
        return override or self.settings.dask_scheduler or "local"

    def regrade(self, *, scheduler: str | None = None, workers: int | None = None, grid: str | Path | None = None,
                progress: Progress | None = None) -> batches.BatchResult:
        return batches.regrade(self.store, self.root, self.scheduler(scheduler), workers or self.settings.dask_workers,
                               grid, progress)

    def qra(self, params: QraParams, *, scheduler: str | None = None, workers: int | None = None,
            progress: Progress | None = None) -> batches.BatchResult:
        return batches.qra(self.store, self.root, params, self.scheduler(scheduler),
                           workers or self.settings.dask_workers, progress)

    def exposure(self, params: ScenarioParams, *, scheduler: str | None = None, workers: int | None = None,
                 progress: Progress | None = None) -> batches.BatchResult:
        """Every hazard source's zones and the receptors inside each (as the exposure endpoint, per source)."""
        return batches.exposure(self.store, self.root, params, self.scheduler(scheduler),
                                workers or self.settings.dask_workers, progress)

    def coverage(self, incident: str | None = None, minutes: float | None = None, *, scheduler: str | None = None,
                 workers: int | None = None, progress: Progress | None = None) -> batches.BatchResult:
        """Rescue coverage gaps per county (as the coverage endpoint) with the rescue facade's road graph and
        arrival standards."""
        return batches.coverage(self.store, self.root, self.rescue.road_graph(), self.scheduler(scheduler),
                                workers or self.settings.dask_workers, incident, minutes, self.rescue.standards,
                                progress)

    def run_dir(self, run: str) -> Path:
        """The folder of a finished run; a name that is not one → UnknownRun (404)."""
        path = self.root / run
        if not RUN_NAME.match(run) or not (path / "records.parquet").exists():
            raise UnknownRun(f"no finished batch run {run!r}")
        return path

    def records(self, run: str, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
        return batches.records_page(self.run_dir(run), limit, offset)

    def summary(self, run: str) -> dict[str, Any]:
        return batches.load_summary(self.run_dir(run))
