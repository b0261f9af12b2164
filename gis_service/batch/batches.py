"""The batches: inputs from the store (and the population grid), partitions with halos, Dask, assembly.

Each batch writes into ``<batch_dir>/<kind>-<run key>/``: one checkpoint per partition, then ``records.parquet``
(GeoParquet, one row per hazard source, sorted by id) and ``summary.json``. The run key is a hash of the batch
kind, its parameters, the dataset (the store's file or database) and the revisions of the layers it reads (and the
grid's path), so an edit to the data, or another dataset, starts a fresh run while a rerun of the same run reuses
its checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from ..analysis.consequence.exposure import POPULATION_NOTE, receptor_class_labels
from ..analysis.consequence.params import ScenarioParams
from ..analysis.grading import ALPHA_RADIUS_M, PEOPLE_NOTE, order_by_grade
from ..analysis.qra.data import QraParams
from ..analysis.qra.societal import assess, fn_curve
from ..stores.base import Store
from .partition import Partition, near, pad, partition_sources
from .runner import BatchFailed, Progress, checkpoint_path, dask_client, read_checkpoint, run_partitions
from .tasks import (
    GridReceptors,
    LayerReceptors,
    coverage_part,
    exposure_part,
    exposure_reach_part,
    qra_part,
    regrade_part,
)

SOURCES, RECEPTORS = "hazard_sources", "receptors"
KINDS = ("regrade", "qra", "exposure", "coverage")
JSON_COLUMNS = ("zones", "by_team_type", "capable_team_types")   # nested values stored as JSON text


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
             "store": store.kind, "dataset": store.dataset(), "format": 1}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return root / f"{kind}-{digest}"


def _receptor_frame(store: Store, columns: list[str]) -> tuple[pd.DataFrame, shapely.STRtree]:
    spec = store.spec(RECEPTORS)
    cols = [c for c in columns if c in spec.attribute_names]
    frame = store.frame(RECEPTORS, cols)
    return frame, shapely.STRtree(np.asarray(frame.geometry.values, dtype=object))


def _work(parts: list[Partition], store: Store, reach_m: float, grid: str | None,
          columns: list[str]) -> list[tuple[str, Callable[[], Any]]]:
    """(key, receptors) per partition: the store's receptors within the halo, or the grid's cut — as functions
    that make the cut when the partition is submitted, so the driver holds only the partitions in flight."""
    if grid is not None:
        return [(p.key, partial(GridReceptors, str(grid), pad(p.bounds, reach_m))) for p in parts]
    frame, tree = _receptor_frame(store, columns)
    return [(p.key, partial(_layer_cut, frame, tree, p.bounds, reach_m)) for p in parts]


def _layer_cut(frame: pd.DataFrame, tree: shapely.STRtree, bounds: tuple[float, float, float, float],
               reach_m: float) -> LayerReceptors:
    return LayerReceptors(frame.iloc[near(tree, bounds, reach_m)])


def _args(sources: pd.DataFrame, receptors: Callable[[], Any], *rest: Any) -> tuple:
    """A partition's arguments, its receptors cut now (called by the runner when it submits the partition)."""
    return (sources, receptors(), *rest)


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
    jobs = [(key, partial(_args, by_key[key].sources, rec)) for key, rec in work]
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
    jobs = [(key, partial(_args, by_key[key].sources, rec, pdict)) for key, rec in work]
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
               "installations_skipped": int(records["skipped"].notna().sum()),
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


class _Stages:
    """Progress over a batch of several passes: each pass's partitions count toward one total."""

    def __init__(self, progress: Progress | None, passes: int, per_pass: int):
        self.progress, self.total = progress, passes * per_pass

    def at(self, offset: int) -> Progress | None:
        if self.progress is None:
            return None
        outer = self.progress

        def report(done: int, _total: int) -> None:
            outer(offset + done, self.total)
        return report


def _client_or_none(scheduler: str, workers: int):
    """One Dask client for all passes of a batch (none for ``inline``)."""
    from contextlib import nullcontext

    return nullcontext(None) if scheduler == "inline" else dask_client(scheduler, workers)


def exposure(store: Store, root: Path, params: ScenarioParams, scheduler: str, workers: int = 2,
             progress: Progress | None = None) -> BatchResult:
    """Every hazard source's consequence zones and the receptors (count, population) inside each zone, as
    ``GET /analysis/exposure/hazard_sources/{id}`` answers for one source.

    Two passes over the same 1° tiles: the first computes each source's zones and the box they can reach (a
    toxic plume may reach ``max_plume_m``, an explosion of a large inventory several km: the halo is measured,
    not guessed); the second gets exactly the receptors meeting its partition's box and assesses the zones."""
    t0 = time.perf_counter()
    pdict = params.model_dump(mode="json")
    run_dir = _run_dir(root, "exposure", store, (SOURCES, RECEPTORS), {"params": pdict})
    spec = store.spec(SOURCES)
    sources = store.frame(SOURCES, [c for c in ("name", "inventory") if c in spec.attribute_names])
    parts = partition_sources(sources)
    stages = _Stages(progress, 2, len(parts))
    with _client_or_none(scheduler, workers) as client:
        reach = run_partitions(exposure_reach_part, [(p.key, (p.sources, pdict)) for p in parts],
                               run_dir / "reach", scheduler, workers, stages.at(0), client=client)
        frame, tree = _receptor_frame(store, ["name", "receptor_class", "population"])
        labels = receptor_class_labels(store)
        jobs = [(p.key, partial(_args, p.sources, partial(_reach_cut, run_dir / "reach", p.key, frame, tree),
                                pdict, labels)) for p in parts]
        counts = run_partitions(exposure_part, jobs, run_dir, scheduler, workers, stages.at(len(parts)),
                                client=client)
    records, _problems, _warnings, widest = _assemble(run_dir, [p.key for p in parts])
    computed = records[records["skipped"].isna()]
    top = computed.sort_values(["total_population", "id"], ascending=[False, True]).head(10)
    summary = {"kind": "exposure", "run": run_dir.name, "count": len(records), "computed": len(computed),
               "sources_skipped": int(records["skipped"].notna().sum()),
               "sources_with_receptors_exposed": int((computed["receptor_count"] > 0).sum()),
               "sum_of_receptors_exposed": int(computed["receptor_count"].sum()),
               "sum_of_population_exposed": int(computed["total_population"].sum()),
               "by_level": {lv: {"sources": int((computed[f"{lv}_receptors"] > 0).sum()),
                                 "sum_of_receptors": int(computed[f"{lv}_receptors"].sum()),
                                 "sum_of_population": int(computed[f"{lv}_population"].sum())}
                            for lv in ("red", "orange", "yellow")},
               "most_population_exposed": [{"id": int(r.id), "name": r.name, "total_population": int(r.total_population)}
                                           for r in top.itertuples()],
               "note": "sums over sources count a receptor once per source whose zones reach it (sources are "
                       "separate scenarios, not one event); " + POPULATION_NOTE,
               "parameters": pdict, "reach_pass": reach, **counts, **widest, "scheduler": scheduler,
               "method": "each hazard source alone, as GET /analysis/exposure/hazard_sources/{id} (same zone models "
                         "and the same assess over the receptors its zones can reach)",
               "seconds": round(time.perf_counter() - t0, 3)}
    _finish(run_dir, summary, records)
    return BatchResult("exposure", run_dir, summary)


def _reach_cut(reach_dir: Path, key: str, frame: pd.DataFrame, tree: shapely.STRtree) -> LayerReceptors:
    """The receptors meeting the box that a partition's zones can reach (from the first pass's checkpoint)."""
    boxes, _ = read_checkpoint(reach_dir, key)
    boxes = boxes.dropna()
    if len(boxes):
        box = shapely.box(boxes["x0"].min(), boxes["y0"].min(), boxes["x1"].max(), boxes["y1"].max())
        sel = np.sort(tree.query(box, predicate="intersects"))
    else:
        sel = np.zeros(0, dtype=np.int64)
    return LayerReceptors(frame.iloc[sel])


def _graph_digest(graph: Any) -> str:
    h = hashlib.sha256()
    for arr in (graph.lon, graph.lat, graph.src, graph.dst, graph.time_s):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


def reach_speed_m_s(graph: Any) -> float:
    """The fastest any ETA can cover straight-line ground: the graph's fastest arc (its length over its time;
    an arc's length is at least the geodesic between its ends) or the access legs' speed, whichever is higher."""
    from ..routing import DEFAULT_ACCESS_SPEED_KMH

    ok = graph.time_s > 0
    fastest = float((graph.length_m[ok] / graph.time_s[ok]).max()) if ok.any() else 0.0
    if (graph.length_m[~ok] > 0).any():
        return float("inf")
    return max(fastest, DEFAULT_ACCESS_SPEED_KMH / 3.6) * 1.01


def _merge_best(frame: pd.DataFrame, value: str, team: str, rank: dict[int, int]) -> pd.DataFrame:
    """Per target row, the smallest ``value`` over the partitions; of equal values the team first in the capable
    teams' order (the single-process sweep keeps the first of equal values)."""
    f = frame[np.isfinite(frame[value].to_numpy(float))].copy()
    f["rank"] = f[team].map(rank)
    return f.sort_values(["row", value, "rank"], kind="stable").drop_duplicates("row")


def coverage(store: Store, root: Path, graph: Any, scheduler: str, workers: int = 2, incident: str | None = None,
             minutes: float | None = None, standards: dict[str, float] | None = None,
             progress: Progress | None = None) -> BatchResult:
    """Rescue coverage gaps per county, as ``GET /analysis/rescue/coverage`` answers (same sweep, same report).

    Partitioned by the 1° tile of the capable teams (the work is one bounded Dijkstra per team): a tile's teams
    meet only the targets within ``reach`` = the fastest speed × 3 × the longest standard of its teams (no ETA up
    to the search horizon can cover more ground), so each team is searched once and no tile sees the whole
    country. The driver keeps, per target, the best over tiles; a target whose nearest team by straight line is
    beyond every halo gets it from a pass over all capable teams."""
    from ..analysis.rescue import engine
    from ..analysis.rescue.inputs import COVERAGE_HORIZON, COVERAGE_LAYERS, TEAMS

    t0 = time.perf_counter()
    inc_of, types_of, all_types, limit_s, teams = engine.coverage_setup(store, incident, minutes,
                                                                         standards=standards)
    ident = {"incident": incident, "minutes": minutes, "standards": standards, "graph": _graph_digest(graph)}
    run_dir = _run_dir(root, "coverage", store, (*COVERAGE_LAYERS, TEAMS, "admin_areas"), ident)
    targets = engine.coverage_targets(store, COVERAGE_LAYERS)
    speed = reach_speed_m_s(graph)
    tree = shapely.STRtree(targets.pts)
    parts = partition_sources(teams)
    jobs = []
    for p in parts:
        reach_m = speed * COVERAGE_HORIZON * max(limit_s[t] for t in set(p.sources["team_type"]))
        rows = np.arange(len(targets.pts)) if not np.isfinite(reach_m) else near(tree, p.bounds, reach_m)
        jobs.append((p.key, (graph, p.sources, rows, targets.xy[rows], all_types, limit_s)))
    counts = run_partitions(coverage_part, jobs, run_dir, scheduler, workers, progress)
    frames = [read_checkpoint(run_dir, p.key)[0] for p in parts]
    merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["row", "team_type", "eta_s", "team_id", "near_m", "near_id"])
    sweep = engine.CoverageSweep.empty(len(targets.pts), all_types)
    rank = {int(fid): k for k, fid in enumerate(teams.index.to_numpy())}
    far_rows = 0
    for t in all_types:
        of_t = merged[merged["team_type"] == t]
        road = _merge_best(of_t, "eta_s", "team_id", rank)
        sweep.best[t][road["row"].to_numpy(int)] = road["eta_s"].to_numpy(float)
        sweep.best_team[t][road["row"].to_numpy(int)] = road["team_id"].to_numpy(np.int64)
        line = _merge_best(of_t, "near_m", "near_id", rank)
        sweep.near_d[t][line["row"].to_numpy(int)] = line["near_m"].to_numpy(float)
        sweep.near_id[t][line["row"].to_numpy(int)] = line["near_id"].to_numpy(np.int64)
        # beyond the halo of every tile (a team of type t is certainly found within speed × 3 × its standard)
        far = np.flatnonzero(~(sweep.near_d[t] <= speed * COVERAGE_HORIZON * limit_s[t]))
        if len(far):
            sweep.near_d[t][far], sweep.near_id[t][far] = np.inf, -1
            engine.sweep_line(teams[teams["team_type"] == t], targets.xy, sweep, rows=far)
            far_rows += len(far)
    report = engine.coverage_report(store, targets, sweep, inc_of, types_of, all_types, limit_s, teams, incident,
                                    minutes, standards, graph)
    covered = engine.covered_mask(targets, sweep, types_of, limit_s)
    county = engine.target_counties(store, targets)
    names = np.concatenate([fr["name"].to_numpy(dtype=object) for _, fr in targets.frames])
    ids = np.concatenate([fr.index.to_numpy() for _, fr in targets.frames])
    props = engine.TargetProperties(targets, sweep, county, names, ids, inc_of, types_of, limit_s,
                                    teams["name"].to_dict() if len(teams) else {})
    rows_out = []
    for i in range(len(targets.pts)):
        pr = props(i)
        rows_out.append({"id": f"{pr['layer']}-{pr['feature_id']}", "lon": float(targets.xy[i, 0]),
                         "lat": float(targets.xy[i, 1]), "covered": bool(covered[i]), **pr,
                         "by_team_type": json.dumps(pr["by_team_type"], ensure_ascii=False),
                         "capable_team_types": json.dumps(pr["capable_team_types"], ensure_ascii=False)})
    records = pd.DataFrame.from_records(rows_out)
    fc = report.to_feature_collection().metadata.model_dump(mode="json")
    summary = {"kind": "coverage", "run": run_dir.name, "count": len(records), "totals": fc["totals"],
               "counties": fc["counties"], "standards": fc["standards"], "incident": fc["incident"],
               "minutes_override": minutes, "network": report.network, "method": fc["method"],
               "limitations": fc["limitations"], "reach_speed_m_s": round(speed, 3),
               "targets_resolved_beyond_halo": far_rows, **counts, "scheduler": scheduler,
               "partitioning": "1° tiles of the capable teams; targets within speed × 3 × the standard",
               "seconds": round(time.perf_counter() - t0, 3)}
    _finish(run_dir, summary, records)
    return BatchResult("coverage", run_dir, summary)


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
        for col in JSON_COLUMNS:
            val = props.get(col)
            if isinstance(val, str):
                props[col] = json.loads(val)
        feats.append({"type": "Feature", "id": props["id"],
                      "geometry": {"type": "Point", "coordinates": [props["lon"], props["lat"]]},
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats, "numberMatched": total, "numberReturned": len(feats)}


def load_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())

