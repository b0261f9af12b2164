"""`gis-service batch regrade|qra|exposure|coverage|popgrid` — the national batches on Dask distributed, with a
progress bar.

    gis-service batch regrade                          # the configured store, LocalCluster of GIS_DASK_WORKERS
    gis-service batch qra --scale 10                   # the sample at 10× (make-sample … --scale 10 first)
    gis-service batch regrade --gpkg national.gpkg --grid popgrid/   # people from the population grid
    gis-service batch regrade --scheduler tcp://10.0.0.5:8786        # a real cluster
    gis-service batch exposure --wind-speed-m-s 1.5 --stability F    # every source's zones and exposed receptors
    gis-service batch coverage --incident chemical                   # rescue coverage gaps per county
    gis-service batch popgrid popgrid/ --gpkg national.gpkg --points 100000000
"""

from __future__ import annotations

from pathlib import Path

import typer

SCHEDULER_HELP = "tcp://host:8786, 'local' (a LocalCluster; default unless GIS_DASK_SCHEDULER) or 'inline' (no Dask)"


def _services(gpkg: Path | None, scale: int | None):
    from ..config import ROOT, Settings, get_settings
    from .common import fail, open_services

    if scale is not None and gpkg is None:
        gpkg = ROOT / "sample_data" / "generated" / f"jilin_x{scale}.gpkg"
        if not gpkg.exists():
            fail(f"{gpkg} is missing; build it with: gis-service make-sample {gpkg} --scale {scale}", 2)
    if gpkg is not None:
        if not gpkg.exists():
            fail(f"{gpkg}: no such file", 2)
        settings = Settings(**{**get_settings().model_dump(), "store": "embedded", "gpkg_path": gpkg})
        return open_services(settings)
    return open_services()


def _run(label: str, fn, quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..batch.runner import BatchFailed, SchedulerUnavailable
    from .common import err, fail

    with Progress(TextColumn(f"[bold]{label}[/] partitions"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, disable=quiet) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            return fn(progress)
        except SchedulerUnavailable as exc:
            fail(str(exc), 3)
        except BatchFailed as exc:
            fail(f"batch failed (finished partitions are kept; rerun to resume): {exc}", 1)
        except KeyboardInterrupt:   # Ctrl-C: the running partitions are cancelled, the finished ones kept
            fail(f"{label} interrupted: {bar.tasks[0].completed:.0f} partitions are kept; rerun the same command to "
                 "resume", 130)


def _report(res) -> None:
    import json

    from .common import out

    s = {k: v for k, v in res.summary.items()
         if k not in ("province_fn_curve", "warnings", "parameters", "counties", "standards", "limitations")}
    if "counties" in res.summary:   # coverage: the counties with the most gaps
        s["counties_with_most_gaps"] = [{"county": c["county"], "features": c["features"], "gaps": c["gaps"]}
                                        for c in res.summary["counties"][:10]]
    out.print_json(json.dumps(s, ensure_ascii=False, default=float))
    out.print(f"records: {res.run_dir / 'records.parquet'} (GET /batches/{res.run}/items)")


def register(app: typer.Typer) -> None:
    batch = typer.Typer(help="National batches on Dask distributed (regrade, QRA of every installation, exposure "
                             "of every source, rescue coverage gaps)")
    app.add_typer(batch, name="batch")

    @batch.command("regrade")
    def regrade(scheduler: str = typer.Option(None, help=SCHEDULER_HELP),
                workers: int = typer.Option(None, help="LocalCluster workers (default GIS_DASK_WORKERS)"),
                scale: int = typer.Option(None, help="run on the sample built at this scale"),
                gpkg: Path = typer.Option(None, help="run on this GeoPackage instead of the configured store"),
                grid: Path = typer.Option(None, help="population grid (batch popgrid) instead of the receptors"),
                quiet: bool = typer.Option(False, help="no progress bar")):
        """GB 18218 grading of every hazard source, partitioned by 1° tile with a 500 m halo."""
        svc = _services(gpkg, scale)
        _report(_run("regrade", lambda p: svc.batch.regrade(scheduler=scheduler, workers=workers, grid=grid,
                                                             progress=p), quiet))

    @batch.command("qra")
    def qra(scheduler: str = typer.Option(None, help=SCHEDULER_HELP),
            workers: int = typer.Option(None, help="LocalCluster workers (default GIS_DASK_WORKERS)"),
            scale: int = typer.Option(None, help="run on the sample built at this scale"),
            gpkg: Path = typer.Option(None, help="run on this GeoPackage instead of the configured store"),
            resolution_m: float = typer.Option(10.0, help="grid cell size, m"),
            max_range_m: float = typer.Option(2000.0, help="reach of each installation's risk, m"),
            quiet: bool = typer.Option(False, help="no progress bar")):
        """QRA of every installation and the province's F-N curve, partitioned by 1° tile."""
        from ..analysis.qra.data import qra_params
        from ..validation import ValidationFailed
        from .common import report_invalid

        try:
            params = qra_params(resolution_m=resolution_m, max_range_m=max_range_m)
        except ValidationFailed as exc:
            report_invalid(exc)
        svc = _services(gpkg, scale)
        _report(_run("qra", lambda p: svc.batch.qra(params, scheduler=scheduler, workers=workers, progress=p),
                     quiet))

    @batch.command("exposure")
    def exposure(scheduler: str = typer.Option(None, help=SCHEDULER_HELP),
                 workers: int = typer.Option(None, help="LocalCluster workers (default GIS_DASK_WORKERS)"),
                 scale: int = typer.Option(None, help="run on the sample built at this scale"),
                 gpkg: Path = typer.Option(None, help="run on this GeoPackage instead of the configured store"),
                 wind_speed_m_s: float = typer.Option(None, help="wind speed, m/s (default: the worst case)"),
                 stability: str = typer.Option(None, help="Pasquill stability class A–F"),
                 wind_dir_deg: float = typer.Option(None, help="wind from, degrees (default: circles)"),
                 quiet: bool = typer.Option(False, help="no progress bar")):
        """Every hazard source's consequence zones and the receptors (count, population) inside each zone."""
        from pydantic import ValidationError

        from ..analysis.consequence.params import ScenarioParams
        from .common import fail

        given = {k: v for k, v in (("wind_speed_m_s", wind_speed_m_s), ("stability", stability),
                                   ("wind_dir_deg", wind_dir_deg)) if v is not None}
        try:
            params = ScenarioParams(**given)
        except ValidationError as exc:
            fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), 1)
        svc = _services(gpkg, scale)
        _report(_run("exposure", lambda p: svc.batch.exposure(params, scheduler=scheduler, workers=workers,
                                                               progress=p), quiet))

    @batch.command("coverage")
    def coverage(scheduler: str = typer.Option(None, help=SCHEDULER_HELP),
                 workers: int = typer.Option(None, help="LocalCluster workers (default GIS_DASK_WORKERS)"),
                 scale: int = typer.Option(None, help="run on the sample built at this scale"),
                 gpkg: Path = typer.Option(None, help="run on this GeoPackage instead of the configured store"),
                 incident: str = typer.Option(None, help="incident type(s); default: each layer's own type"),
                 minutes: float = typer.Option(None, help="one time limit for all team types"),
                 quiet: bool = typer.Option(False, help="no progress bar")):
        """Rescue coverage gaps per county: hazards beyond the standard time of every capable team."""
        from ..validation import ValidationFailed
        from .common import report_invalid

        svc = _services(gpkg, scale)
        try:
            res = _run("coverage", lambda p: svc.batch.coverage(incident, minutes, scheduler=scheduler,
                                                                 workers=workers, progress=p), quiet)
        except ValidationFailed as exc:
            report_invalid(exc)
        _report(res)

    @batch.command("popgrid")
    def popgrid(out_dir: Path = typer.Argument(..., help="folder of the partitioned GeoParquet grid"),
                points: int = typer.Option(100_000_000, min=1, help="grid points in all"),
                gpkg: Path = typer.Option(None, help="the tiles holding this GeoPackage's hazard sources"),
                seed: int = typer.Option(2012), quiet: bool = typer.Option(False)):
        """Write the synthetic national population grid over the 1° tiles that hold hazard sources."""
        import shapely
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from ..batch.partition import tile_of
        from ..batch.popgrid import write_grid
        from .common import err, out

        svc = _services(gpkg, None)
        b = shapely.bounds(svc.store.frame("hazard_sources", []).geometry.values)
        col, row = tile_of((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
        tiles = sorted(set(zip(col.tolist(), row.tolist(), strict=True)))
        with Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, disable=quiet) as bar:
            task = bar.add_task("points", total=points)
            counts = write_grid(out_dir, tiles, points, seed, progress=lambda n: bar.advance(task, n))
        out.print(f"{out_dir}: {counts['points']:,} points in {counts['tiles']} tiles, "
                  f"{counts['population']:,} people (synthetic)")
