"""The batches: inputs from the store (and the population grid), partitions with halos, Dask, assembly.

Each batch writes into ``<batch_dir>/<kind>-<run key>/``: one checkpoint per partition, then ``records.parquet``
(GeoParquet, one row per hazard source, sorted by id) and ``summary.json``. The run key is a hash of the batch
kind, its parameters and the store revisions of the layers it reads (and the grid's path), so an edit to the data
starts a fresh run while a rerun of the same run reuses its checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from ..analysis.grading import ALPHA_RADIUS_M, PEOPLE_NOTE, order_by_grade
from ..analysis.qra.data import QraParams
from ..analysis.qra.societal import assess, fn_curve
from ..stores.base import Store
from .partition import Partition, near, pad, partition_sources
from .runner import BatchFailed, Progress, checkpoint_path, read_checkpoint, run_partitions
from .tasks import GridReceptors, LayerReceptors, qra_part, regrade_part

SOURCES, RECEPTORS = "hazard_sources", "receptors"
KINDS = ("regrade", "qra")


@dataclass
class BatchResult:
    kind: str
    run_dir: Path
    summary: dict[str, Any]

    @property
    def run(self) -> str:
        return self.run_dir.name


def _run_dir(root: Path, kind: str, store: Store, layers: tuple[str, ...], extra: dict[str, Any]) -> Path:
    ident = {"kind": kind, "revisions": {layer: store.revision(layer) for layer in layers}, **extra,
             "store": store.kind, "format": 1}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return root / f"{kind}-{digest}"


def _receptor_frame(store: Store, columns: list[str]) -> tuple[pd.DataFrame, shapely.STRtree]:
    spec = store.spec(RECEPTORS)
    cols = [c for c in columns if c in spec.attribute_names]
    frame = store.frame(RECEPTORS, cols)
    return frame, shapely.STRtree(np.asarray(frame.geometry.values, dtype=object))


def _work(parts: list[Partition], store: Store, reach_m: float, grid: str | None,
          columns: list[str]) -> list[tuple[str, Any]]:
    """(key, receptors) per partition: the store's receptors within the halo, or the grid's cut."""
    if grid is not None:
        return [(p.key, GridReceptors(str(grid), pad(p.bounds, reach_m))) for p in parts]
    frame, tree = _receptor_frame(store, columns)
    return [(p.key, LayerReceptors(frame.iloc[near(tree, p.bounds, reach_m)])) for p in parts]


def _assemble(run_dir: Path, keys: list[str]) -> tuple[pd.DataFrame, list[str], list[str], dict[str, float]]:
    """The partitions' records in id order, their problems and warnings, and the most any one partition needed:
    receptors read and the peak memory of the process that ran it."""
    frames, problems, warnings, widest, peak = [], [], [], 0, 0.0
    for key in keys:
        frame, meta = read_checkpoint(run_dir, key)
        frames.append(frame)
        problems += meta.get("problems", [])
        warnings += meta.get("warnings", [])
        widest = max(widest, int(meta.get("receptors_read", 0)))
        peak = max(peak, float(meta.get("peak_rss_mb") or 0.0))
    records = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(records):
        records = records.sort_values("id", kind="stable").reset_index(drop=True)
    return records, problems, warnings, {"widest_partition_receptors": widest,
                                         "worker_peak_rss_mb": round(peak, 1)}


def _write_records(run_dir: Path, records: pd.DataFrame) -> None:
    gdf = gpd.GeoDataFrame(records, geometry=gpd.points_from_xy(records["lon"], records["lat"]), crs="OGC:CRS84")
    tmp = run_dir / ".records.tmp"
    gdf.to_parquet(tmp, index=False)
    tmp.replace(run_dir / "records.parquet")


def _finish(run_dir: Path, summary: dict[str, Any], records: pd.DataFrame) -> None:
    _write_records(run_dir, records)
    tmp = run_dir / ".summary.tmp"
    tmp.write_text(json.dumps(summary, ensure_ascii=False, default=float))
    tmp.replace(run_dir / "summary.json")


def regrade(store: Store, root: Path, scheduler: str, workers: int = 2, grid: str | Path | None = None,
            progress: Progress | None = None) -> BatchResult:
    """GB 18218 grading of every hazard source; people within 500 m from the receptors layer, or with ``grid``
    from the partitioned population grid instead."""
    t0 = time.perf_counter()
    layers = (SOURCES,) if grid is not None else (SOURCES, RECEPTORS)
    run_dir = _run_dir(root, "regrade", store, layers, {"grid": str(grid) if grid else None})
    sources = store.frame(SOURCES, ["inventory", "grade"])
    parts = partition_sources(sources)
    work = _work(parts, store, ALPHA_RADIUS_M, str(grid) if grid else None, ["population"])
    by_key = {p.key: p for p in parts}
    jobs = [(key, (by_key[key].sources, rec)) for key, rec in work]
    counts = run_partitions(regrade_part, jobs, run_dir, scheduler, workers, progress)
    records, problems, warnings, widest = _assemble(run_dir, [p.key for p in parts])
    if problems:
        raise BatchFailed("; ".join(problems[:20]) + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""))
    labels = records["grade_label"].where(records["grade_label"].notna(),
                                          np.where(records["refused"].notna(), "refused", "not major (S < 1)"))
    changed = records["grade"].astype("Float64").ne(records["stored_grade"].astype("Float64")).fillna(True)
    both_null = records["grade"].isna() & records["stored_grade"].isna()
    summary = {"kind": "regrade", "run": run_dir.name, "count": len(records),
               "major_hazard_sources": int(records["grade"].notna().sum()),
               "by_grade": order_by_grade({str(k): int(v) for k, v in labels.value_counts().items()}),
               "changed_count": int((changed & ~both_null).sum()), "warnings": warnings[:100],
               "warnings_count": len(warnings), "people": "population grid" if grid else "receptors layer",
               "people_note": PEOPLE_NOTE, **counts, **widest, "scheduler": scheduler, "seconds": round(time.perf_counter() - t0, 3)}
    _finish(run_dir, summary, records)
    return BatchResult("regrade", run_dir, summary)


QRA_RECEPTOR_COLUMNS = ["name", "receptor_class", "population", "population_day", "population_night"]


def qra(store: Store, root: Path, params: QraParams, scheduler: str, workers: int = 2,
        progress: Progress | None = None) -> BatchResult:
    """Every installation's QRA on its own, and the province's F-N curve from all their events (installations
    taken as independent: F(N) of the province = Σ over installations)."""
    t0 = time.perf_counter()
    pdict = params.model_dump(mode="json")
    run_dir = _run_dir(root, "qra", store, (SOURCES, RECEPTORS), {"params": pdict})
    spec = store.spec(SOURCES)
    cols = [c for c in ("name", "inventory", "unit_type", "park_id") if c in spec.attribute_names]
    sources = store.frame(SOURCES, cols)
    parts = partition_sources(sources)
    work = _work(parts, store, params.max_range_m, None, QRA_RECEPTOR_COLUMNS)
    by_key = {p.key: p for p in parts}
    jobs = [(key, (by_key[key].sources, rec, pdict)) for key, rec in work]
    counts = run_partitions(qra_part, jobs, run_dir, scheduler, workers, progress)
    keys = [p.key for p in parts]
    records, _problems, _warnings, widest = _assemble(run_dir, keys)
    ev = [pq.read_table(run_dir / f"{k}.events.parquet").to_pandas() for k in keys
          if (run_dir / f"{k}.events.parquet").exists()]
    events = pd.concat(ev, ignore_index=True) if ev else pd.DataFrame({"frequency_per_year": [], "deaths": []})
    if len(events):
        events = events.sort_values(["id", "frequency_per_year", "deaths"], kind="stable")
    freq, deaths = events["frequency_per_year"].to_numpy(float), events["deaths"].to_numpy(float)
    points = fn_curve(freq, deaths)
    computed = records[records["skipped"].isna()]
    summary = {"kind": "qra", "run": run_dir.name, "installations": len(records), "computed": len(computed),
               "skipped": int(records["skipped"].notna().sum()),
               "installations_with_failing_targets": int((computed["targets_failing"] > 0).sum()),
               "by_fn_region": {str(k): int(v) for k, v in computed["fn_region"].value_counts().items()},
               "province_fn_curve": [{"n": n, "f_per_year": f} for n, f in points],
               "province_fn_assessment": assess(points, params),
               "province_expected_deaths_per_year": float((freq * deaths).sum()),
               "max_ir_per_year": float(computed["max_ir_per_year"].max()) if len(computed) else 0.0,
               "parameters": pdict, **counts, **widest, "scheduler": scheduler,
               "method": "each installation alone, as GET /analysis/risk/individual/hazard_sources/{id}?societal=true; "
                         "province F-N = cumulative frequency of all installations' events (independent "
                         "installations; CCPS CPQRA 2000 §4.4.2)",
               "seconds": round(time.perf_counter() - t0, 3)}
    _finish(run_dir, summary, records)
    return BatchResult("qra", run_dir, summary)


def done_partitions(run_dir: Path, keys: list[str]) -> int:
    return sum(checkpoint_path(run_dir, k).exists() for k in keys)


def records_page(run_dir: Path, limit: int, offset: int) -> dict[str, Any]:
    """A page of a batch's records as a GeoJSON FeatureCollection (the output served as a collection)."""
    pf = pq.ParquetFile(run_dir / "records.parquet")
    total = pf.metadata.num_rows
    table = pq.read_table(run_dir / "records.parquet").slice(offset, limit)
    frame = table.drop(["geometry"]).to_pandas()
    feats = []
    for row in frame.to_dict(orient="records"):
        props = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        feats.append({"type": "Feature", "id": props["id"],
                      "geometry": {"type": "Point", "coordinates": [props["lon"], props["lat"]]},
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats, "numberMatched": total, "numberReturned": len(feats)}


def load_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())

