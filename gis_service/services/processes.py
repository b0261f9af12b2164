"""The processes facade (OGC API – Processes Part 1): which analyses run as processes, their descriptions
(generated from the analyses' pydantic request models), synchronous execution, and asynchronous jobs whose
state lives in the store's database (:class:`gis_service.processes.jobs.JobStore`).

Asynchronous jobs run on a thread pool of this API process (``GIS_JOBS_CONCURRENCY``); the batches among them
hand their partitions to Dask (:mod:`gis_service.batch`). A heartbeat thread keeps the jobs of this process
fresh and takes over those of a process that died (no heartbeat for ``GIS_JOBS_STALE_S``): their inputs are in
the job store, so they run again, and batches skip the partitions already checkpointed.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from .. import access
from ..access import ScopeDenied
from ..config import Settings
from ..processes import inputs as pin
from ..processes.describe import inputs_of, problems
from ..processes.jobs import JobStore, UnknownJob
from ..stores.base import Store
from ..validation import Problem, ValidationFailed
from .batch import BatchService
from .exposure import ExposureService
from .rescue import RescueService
from .risk import RiskService
from .siting import SitingService

log = logging.getLogger(__name__)

Progress = Callable[[float, str | None], None]  # (percent 0–100, message) → raises JobDismissed when dismissed
GEOJSON_OUT = {"type": "object", "contentMediaType": "application/geo+json",
               "description": "GeoJSON FeatureCollection (RFC 7946) with metadata"}
JSON_OUT = {"type": "object", "contentMediaType": "application/json"}


class UnknownProcess(LookupError):
    pass


class JobDismissed(Exception):
    """The job was dismissed (or taken over) while it ran: stop, write nothing more."""


class JobNotReady(Exception):
    def __init__(self, job_id: str, status: str):
        super().__init__(f"job {job_id} is {status}: no results")
        self.job_id, self.status = job_id, status


@dataclass(frozen=True)
class Process:
    id: str
    title: str
    description: str
    inputs: type[BaseModel]
    run: Callable[[Any, Progress], Any]
    output: str = "result"
    output_schema: dict[str, Any] = field(default_factory=lambda: GEOJSON_OUT)
    sync: bool = True               # also sync-execute (the batches are async only)
    role: str = "viewer"            # role needed to execute
    keywords: tuple[str, ...] = ()

    def summary(self, base: str = "") -> dict[str, Any]:
        control = ["sync-execute", "async-execute", "dismiss"] if self.sync else ["async-execute", "dismiss"]
        return {"id": self.id, "title": self.title, "description": self.description, "version": "1.0.0",
                "keywords": list(self.keywords), "jobControlOptions": control,
                "outputTransmission": ["value"],
                "links": [{"href": f"{base}/processes/{self.id}", "rel": "self", "type": "application/json",
                           "title": "process description"},
                          {"href": f"{base}/processes/{self.id}/execution",
                           "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute", "type": "application/json",
                           "title": "execute"}]}

    def describe(self, base: str = "") -> dict[str, Any]:
        return {**self.summary(base), "inputs": inputs_of(self.inputs),
                "outputs": {self.output: {"title": self.output, "schema": self.output_schema}},
                "x-required-role": self.role}


class ProcessesService:
    def __init__(self, store: Store, settings: Settings, exposure: ExposureService, rescue: RescueService,
                 siting: SitingService, risk: RiskService, batch: BatchService):
        self.store, self.settings = store, settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.registry: dict[str, Process] = {p.id: p for p in (*_analyses(exposure, rescue, siting, risk),
                                                               *_batches(batch))}
        self._jobs: JobStore | None = None
        self._pool: ThreadPoolExecutor | None = None
        # the jobs this process has claimed and runs, each with the flag that stops it: set by ``dismiss`` here at
        # once, or by the heartbeat when the job's row is gone or owned by another process (dismissed elsewhere)
        self._stops: dict[str, threading.Event] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    # -- descriptions ---------------------------------------------------------------------------
    def process(self, process_id: str) -> Process:
        try:
            return self.registry[process_id]
        except KeyError:
            raise UnknownProcess(f"no process {process_id!r}; known: {', '.join(self.registry)}") from None

    def parse(self, process_id: str, inputs: Any) -> Any:
        """The process's input model from the request's ``inputs``; bad input → ValidationFailed naming it."""
        proc = self.process(process_id)
        if process_id.startswith("batch-") and access.jurisdiction():
            # batch runs cover the whole service on Dask workers outside the caller's scope: operators only
            raise ScopeDenied("hazard_sources", access.jurisdiction(), None,
                              f"process {process_id!r} runs over the whole service; a caller with a jurisdiction "
                              "may not start it")
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, dict):
            raise ValidationFailed([Problem(None, "inputs", "must be an object of input id → value")])
        try:
            return proc.inputs(**inputs)
        except ValidationError as exc:
            raise ValidationFailed(problems(exc, proc.inputs)) from None
        except ValidationFailed as exc:  # model validators that raise the service's own error
            raise ValidationFailed([Problem(p.row, f"inputs.{p.field}", p.message) for p in exc.problems]) from None

    # -- the job store ----------------------------------------------------------------------------
    @property
    def jobs(self) -> JobStore:
        if self._jobs is None:
            stale = self.settings.jobs_stale_s
            engine = getattr(self.store, "engine", None)
            if self.store.kind == "postgis" and engine is not None:
                self._jobs = JobStore.postgres(engine, stale)
            else:
                path = getattr(self.store, "path", self.settings.gpkg_path)
                self._jobs = JobStore.sqlite(f"{path}.jobs.sqlite", stale)
        return self._jobs

    # -- execution ------------------------------------------------------------------------------
    def execute(self, process_id: str, inputs: Any) -> Any:
        """Synchronous execution: the result, or the analysis's own error (400/404…) raised."""
        proc = self.process(process_id)
        if not proc.sync:
            raise ValidationFailed([Problem(None, "Prefer", f"process {process_id!r} runs only asynchronously: "
                                            "send 'Prefer: respond-async'")])
        model = self.parse(process_id, inputs)
        return proc.run(model, _no_progress)

    def submit(self, process_id: str, inputs: Any) -> dict[str, Any]:
        """Asynchronous execution: the job, committed to the job store before it is returned (acknowledged)."""
        model = self.parse(process_id, inputs)
        job = self.jobs.create(process_id, model.model_dump(mode="json", exclude_unset=True), owner=self.owner)
        self._start(job["job_id"])
        return job

    def _start(self, job_id: str) -> None:
        self.start()
        with self._lock:
            if job_id in self._running:
                return
            self._running.add(job_id)
        assert self._pool is not None
        # the job runs in the submitter's context: its jurisdiction (gis_service.access) and request id
        # (a job taken over from a dead process runs with the whole service's scope — see issue 20's note)
        self._pool.submit(contextvars.copy_context().run, self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            if not self.jobs.claim(job_id, self.owner):
                return
            stop = threading.Event()
            with self._lock:
                self._stops[job_id] = stop
            doc = self.jobs.get(job_id)
            proc = self.process(doc["process_id"])
            model = self.parse(proc.id, doc["inputs"])
            last: list[tuple[int, str | None]] = []

            def progress(percent: float, message: str | None = None) -> None:
                # also called while nothing changed (a batch polls it while its partitions run): then it only
                # checks the stop flag, so a dismissed job stops within a poll instead of at its next partition
                if stop.is_set():
                    raise JobDismissed(job_id)
                state = (int(percent), message)
                if last and last[0] == state:
                    return
                last[:] = [state]
                if not self.jobs.progress(job_id, self.owner, int(percent), message):
                    raise JobDismissed(job_id)

            result = proc.run(model, progress)
            self.jobs.finish(job_id, self.owner, "successful", "done", {proc.output: result})
        except (JobDismissed, UnknownJob):
            log.info("job %s dismissed while running", job_id)
        except Exception as exc:  # noqa: BLE001 - every failure ends the job with its message
            log.warning("job %s failed: %s", job_id, exc, exc_info=not isinstance(exc, ValidationFailed | LookupError))
            try:
                self.jobs.finish(job_id, self.owner, "failed", _message(exc))
            except Exception:  # noqa: BLE001 - job store down: the heartbeat stops, another process retries
                log.exception("job %s: could not record the failure", job_id)
        finally:
            with self._lock:
                self._running.discard(job_id)
                self._stops.pop(job_id, None)

    def dismiss(self, job_id: str) -> dict[str, Any]:
        doc = self.jobs.dismiss(job_id)
        with self._lock:
            stop = self._stops.get(job_id)
        if stop is not None:   # running here: stop it now (elsewhere, that process's heartbeat stops it)
            stop.set()
        return doc

    def results(self, job_id: str) -> Any:
        status, results = self.jobs.results(job_id)
        if status != "successful":
            raise JobNotReady(job_id, status)
        return results

    # -- the life of this process ------------------------------------------------------------------
    def start(self) -> None:
        """The job pool and the heartbeat thread (idempotent). Called by the API at start-up, which also
        takes over the jobs that a process that died left behind."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.settings.jobs_concurrency, thread_name_prefix="job")
                self._stop.clear()
                self._beater = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
                self._beater.start()

    def recover(self) -> list[str]:
        """Run again the jobs nobody runs (accepted or running, owner silent): their inputs are stored."""
        ids = self.jobs.abandoned()
        for job_id in ids:
            log.info("taking over job %s", job_id)
            self._start(job_id)
        return ids

    def _beat(self) -> None:
        period = max(0.5, self.settings.jobs_stale_s / 3)
        while not self._stop.wait(period):
            try:
                with self._lock:
                    mine, claimed = list(self._running), dict(self._stops)
                alive = self.jobs.beat(mine, self.owner)
                for job_id, stop in claimed.items():
                    if job_id not in alive:   # dismissed by another process, or taken over: stop running it
                        stop.set()
                self.recover()
            except Exception as exc:  # noqa: BLE001 - the database may be down; try again next period
                log.warning("job heartbeat: %s", exc)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _no_progress(percent: float, message: str | None = None) -> None:
    """Synchronous execution reports progress to nobody."""


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{p.field}: {p.message}" for p in exc.problems) or str(exc)
    return f"{type(exc).__name__}: {exc}"


def _analyses(exposure: ExposureService, rescue: RescueService, siting: SitingService,
              risk: RiskService) -> tuple[Process, ...]:
    """The analyses as processes; each run calls the facade the analysis endpoint calls."""
    from ..analysis.consequence.params import ScenarioParams
    from ..analysis.qra.data import QraParams

    def params_of(model: BaseModel, base: type[BaseModel]) -> Any:
        return base(**model.model_dump(include=set(base.model_fields), exclude_unset=True))

    def run_exposure(m: pin.ExposureInputs, progress: Progress) -> Any:
        res = exposure.feature(m.layer, m.id, params_of(m, ScenarioParams))
        return res.to_feature_collection(receptor_features=m.receptor_features)

    def run_nearest(m: pin.NearestRescueInputs, progress: Progress) -> Any:
        answer = rescue.nearest(m.lon, m.lat, m.incident, k=m.k, by=m.by, min_personnel=m.min_personnel,
                                on_duty=m.on_duty, team_types=m.team_types)
        return answer.to_dict()

    def run_siting(m: pin.SitingInputs, progress: Progress) -> Any:
        if m.park_id is not None:
            report = siting.check_park(m.park_id, m.rule_set)
        elif m.proposal is not None:
            report = siting.check_proposal(m.proposal, m.kind, m.rule_set, m.repair)
        else:
            raise ValidationFailed([Problem(None, "proposal", "give park_id or proposal")])
        return report.to_dict()

    def run_qra_one(m: pin.QraInstallationInputs, progress: Progress) -> Any:
        return risk.individual(params_of(m, QraParams), layer=m.layer, fid=m.id, societal=m.societal).document()

    def run_qra_park(m: pin.QraParkInputs, progress: Progress) -> Any:
        return risk.individual(params_of(m, QraParams), park_id=m.park_id, societal=m.societal).document()

    return (
        Process("exposure", "Exposure of a stored feature 暴露分析",
                "Consequence zones of a hazard source, tailings dam or goaf area and the receptors inside them "
                "(as GET /analysis/exposure/{layer}/{id}).", pin.ExposureInputs, run_exposure,
                keywords=("exposure", "consequence")),
        Process("rescue-nearest", "Nearest capable rescue teams 最近救援队伍",
                "The k nearest capable teams to an incident point by distance or road time "
                "(as GET /analysis/rescue/nearest).", pin.NearestRescueInputs, run_nearest,
                keywords=("rescue",)),
        Process("siting", "Siting check 选址检查",
                "An existing chemical park or a proposal against the siting rule set "
                "(as GET /analysis/siting/{park_id} and POST /analysis/siting).", pin.SitingInputs, run_siting,
                output_schema=JSON_OUT, keywords=("siting",)),
        Process("qra-installation", "QRA of an installation 装置定量风险",
                "GB 36894 individual-risk contours and, with societal, the F-N curve of one hazard source "
                "(as GET /analysis/risk/individual/{layer}/{id}).", pin.QraInstallationInputs, run_qra_one,
                keywords=("qra", "risk")),
        Process("qra-park", "QRA of a chemical park 园区定量风险",
                "GB 36894 individual-risk contours and, with societal, the F-N curve of every installation of "
                "a chemical park (as GET /analysis/risk/individual?park_id=).", pin.QraParkInputs, run_qra_park,
                keywords=("qra", "risk")),
    )


def _batches(batch: BatchService) -> tuple[Process, ...]:
    """The batches as processes (asynchronous only); their records are served at /batches/{run}/items."""
    from ..analysis.consequence.params import ScenarioParams
    from ..analysis.qra.data import QraParams

    def partitions(progress: Progress):
        def report(done: int, total: int) -> None:
            progress(100.0 * done / max(1, total) * 0.99, f"{done}/{total} partitions")
        return report

    def outputs(res) -> dict[str, Any]:
        return {"summary": res.summary,
                "records": {"href": f"/batches/{res.run}/items", "type": "application/geo+json",
                            "title": "one row per " + ("hazard feature" if res.kind == "coverage" else "hazard source")
                                     + " (GeoJSON, paged)", "run": res.run}}

    def run_regrade(m: pin.BatchRegradeInputs, progress: Progress) -> Any:
        return outputs(batch.regrade(progress=partitions(progress)))

    def run_qra(m: pin.BatchQraInputs, progress: Progress) -> Any:
        params = QraParams(**m.model_dump(include=set(QraParams.model_fields), exclude_unset=True))
        return outputs(batch.qra(params, progress=partitions(progress)))

    def run_exposure(m: pin.BatchExposureInputs, progress: Progress) -> Any:
        params = ScenarioParams(**m.model_dump(include=set(ScenarioParams.model_fields), exclude_unset=True))
        return outputs(batch.exposure(params, progress=partitions(progress)))

    def run_coverage(m: pin.BatchCoverageInputs, progress: Progress) -> Any:
        return outputs(batch.coverage(m.incident, m.minutes, progress=partitions(progress)))

    out = {"type": "object", "contentMediaType": "application/json",
           "description": "summary, and a link to the records collection (/batches/{run}/items)"}
    return (
        Process("batch-regrade", "Batch: regrade every hazard source 重大危险源批量分级",
                "GB 18218-2018 grading of every hazard source (people within 500 m for α), partitioned by 1° tile "
                "with a 500 m halo and run on Dask distributed; records as GeoParquet, served as a collection.",
                pin.BatchRegradeInputs, run_regrade, output_schema=out, sync=False, keywords=("batch", "grading")),
        Process("batch-qra", "Batch: QRA of every installation 全省定量风险批量计算",
                "Each installation's QRA on its own (IR contour areas, protection targets, F-N) and the province's "
                "F-N curve, partitioned by 1° tile with a max_range_m halo and run on Dask distributed.",
                pin.BatchQraInputs, run_qra, output_schema=out, sync=False, keywords=("batch", "qra")),
        Process("batch-exposure", "Batch: exposure of every hazard source 全省危险源暴露批量分析",
                "Each hazard source's consequence zones and the receptors (count, population) inside each, as the "
                "exposure process answers for one source; partitioned by 1° tile, each partition getting the "
                "receptors its zones can reach (measured in a first pass), run on Dask distributed.",
                pin.BatchExposureInputs, run_exposure, output_schema=out, sync=False,
                keywords=("batch", "exposure")),
        Process("batch-coverage", "Batch: rescue coverage gaps per county 救援覆盖盲区批量分析",
                "Every hazard source, tailings dam and goaf area with the fastest capable team by road and the "
                "nearest by straight line, and the gaps per county, as GET /analysis/rescue/coverage; "
                "partitioned by the 1° tile of the teams with a halo of the farthest ground an ETA can cover.",
                pin.BatchCoverageInputs, run_coverage, output_schema=out, sync=False,
                keywords=("batch", "rescue", "coverage")),
    )
