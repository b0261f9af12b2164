"""`gis-service` — the command line: serve, init-db, load, make-sample and the analysis commands.

Exit codes: 0 success, 1 bad input (the message names the row, field and problem; nothing is
written), 2 usage error, 3 store unavailable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .catalog import UnknownLayer
from .commands import access, batch, exposure, maps, monitoring, rescue, resources, siting
from .commands.common import err, fail, open_services, out, report_invalid
from .config import DEFAULT_GPKG, ROOT, Settings, get_settings
from .loading import LoadError, read_frame, rows_from_frame
from .stores import StoreError, make_store
from .validation import ValidationFailed

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Industrial-safety risk map service 工业安全风险地图服务")


def open_layers(settings: Settings | None = None):
    return open_services(settings).layers


SAMPLE_GENERATOR = ROOT / "sample_data" / "jilin_sample.py"


def _sample_module() -> Any:
    """``sample_data/jilin_sample.py``, loaded by path (a repository tool, not part of the runtime package)."""
    import importlib.util

    module = sys.modules.get("jilin_sample")
    if module is None:
        if not SAMPLE_GENERATOR.exists():
            fail(f"the sample generator {SAMPLE_GENERATOR} is not here (it ships with the repository)", 2)
        spec = importlib.util.spec_from_file_location("jilin_sample", SAMPLE_GENERATOR)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["jilin_sample"] = module
        spec.loader.exec_module(module)
    return module


def build_sample(path: Path, seed: int | None = None, scale: int = 1, national: bool = False) -> dict[str, int]:
    """Build the Jilin demonstration GeoPackage with ``sample_data/jilin_sample.py`` — a repository
    tool, not part of the runtime package — and return the feature count per layer. ``national``: the
    national-size set (sample_data/national.py: ≥ 300,000 hazard sources, ≥ 2,000,000 receptors), built
    with a progress bar."""
    module = _sample_module()
    if national:
        return module._build_with_bar(path, module.DEFAULT_SEED if seed is None else seed, scale, True)
    kwargs = {"scale": scale} if seed is None else {"seed": seed, "scale": scale}
    return module.build_sample(path, **kwargs)


def ensure_sample(settings: Settings) -> None:
    """With the embedded default and no data file yet, build the Jilin sample dataset."""
    if settings.store == "embedded" and Path(settings.gpkg_path) == DEFAULT_GPKG and not DEFAULT_GPKG.exists():
        err.print(f"building the Jilin sample dataset into {DEFAULT_GPKG} …")
        counts = build_sample(DEFAULT_GPKG)
        err.print("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="interface to bind"),
          port: int = typer.Option(8000, help="TCP port"),
          workers: int = typer.Option(1, help="uvicorn worker processes")):
    """Start the HTTP service (embedded store with the sample data unless GIS_STORE says otherwise)."""

    settings = get_settings()
    ensure_sample(settings)
    err.print(f"store: {settings.store}; open http://{host}:{port}/ (viewer: /viewer, API docs: /docs)")
    if workers > 1 and settings.store == "embedded":
        err.print(f"{workers} workers share {settings.gpkg_path}: writes are coordinated by a file lock on this "
                  "machine; for several machines or replicas use GIS_STORE=postgis")
    # The service writes its own access log (request id, status, timing): uvicorn's would repeat each line.
    # uvicorn with header and body read deadlines (GIS_HEADER_TIMEOUT_S, GIS_BODY_TIMEOUT_S): api/server.py
    from .api import server

    if workers > 1:
        server.run("gis_service.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                   access_log=False)
    else:
        from .api.app import create_app

        try:
            app_ = create_app(settings)
        except ValueError as exc:   # a bad setting found when the services are built (e.g. GIS_BASEMAP_FILE)
            fail(str(exc), 2)
        server.run(app_, host=host, port=port, access_log=False)


@app.command("init-db")
def init_db(drop: bool = typer.Option(False, help="drop the service's tables first (destroys data)")):
    """Create the schema, tables and spatial indexes (PostGIS) or the GeoPackage layers. Safe to run twice."""
    settings = get_settings()
    store = make_store(settings)
    try:
        if drop and hasattr(store, "drop_all"):
            store.drop_all()
        store.init()
    except StoreError as exc:
        fail(str(exc), 3)
    out.print(f"{settings.store} store ready: {', '.join(store.catalog.names())}")


@app.command()
def load(layer: str = typer.Argument(..., help="layer name, e.g. hazard_sources"),
         file: Path = typer.Argument(..., help="GeoJSON, GeoPackage, Shapefile, GeoParquet, FlatGeobuf or CSV"),
         crs: str = typer.Option(None, help="source CRS when the file has none, e.g. EPSG:4490"),
         source_layer: str = typer.Option(None, help="layer inside a multi-layer file (GeoPackage)"),
         replace: bool = typer.Option(False, help="replace the layer's content instead of appending"),
         ignore_extra: bool = typer.Option(False, help="drop columns the layer does not have"),
         quiet: bool = typer.Option(False, help="no progress bar")):
    """Validate a file against the layer spec and load it — all rows or none."""
    store = open_layers()
    try:
        spec = store.spec(layer)
        frame = read_frame(file, crs=crs, layer=source_layer or (layer if file.suffix.lower() == ".gpkg" else None))
        with Progress(TextColumn("[bold]validating[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, disable=quiet or len(frame) < 5000) as bar:
            task = bar.add_task(file.name, total=len(frame))
            result = rows_from_frame(spec, frame, ignore_extra=ignore_extra, keep_ids=replace,
                                     progress=lambda n: bar.advance(task, n))
        if replace:
            ids = store.replace_all(layer, result.rows)
        else:
            from .stores import WriteBatch

            ids = store.write(layer, WriteBatch(creates=result.rows, action="load"))
    except UnknownLayer as exc:
        fail(str(exc), 2)
    except LoadError as exc:
        fail(str(exc))
    except ValidationFailed as exc:
        report_invalid(exc, writing=True)
    except StoreError as exc:
        fail(str(exc), 3)
    note = f", reprojected from {result.source_crs}" if result.reprojected else f" ({result.source_crs})"
    out.print(f"loaded {len(ids)} feature(s) into {layer}{note}")


@app.command("make-sample")
def make_sample(path: Path = typer.Argument(DEFAULT_GPKG, help="output GeoPackage"),
                seed: int = typer.Option(2012), scale: int = typer.Option(1, help="multiply feature counts"),
                national: bool = typer.Option(False, help="national size: ≥ 300,000 hazard sources, "
                                              "≥ 2,000,000 receptors, China's admin areas")):
    """Build the reproducible Jilin demonstration dataset (marked synthetic where it is)."""
    counts = build_sample(path, seed=seed, scale=scale, national=national)
    out.print(", ".join(f"{k}: {v}" for k, v in counts.items()))


@app.command("load-sample")
def load_sample(path: Path = typer.Argument(DEFAULT_GPKG, help="sample GeoPackage (built if missing)")):
    """Copy every layer of the sample GeoPackage into the configured store (replacing content)."""
    if not path.exists():
        build_sample(path)
    store = open_layers()
    for spec in store.catalog:
        frame = read_frame(path, layer=spec.name)
        result = rows_from_frame(spec, frame, keep_ids=True)
        store.replace_all(spec.name, result.rows)
        out.print(f"{spec.name}: {len(result.rows)}")


# The analysis capabilities' commands, registered explicitly (a missing module fails at import, loudly).
COMMANDS = (exposure, rescue, resources, siting, maps, monitoring, batch, access)
for _module in COMMANDS:
    _module.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
