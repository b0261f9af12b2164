"""National batches on Dask distributed, on the Jilin sample: the partitioned Dask run gives the same records as
the single-process path row by row (regrade: as ``regrade_all``; QRA: as the in-process run and as the API's
answer for single installations); a killed worker's partition is redone with the same result; a rerun skips
finished partitions; an unreachable scheduler fails clearly with nothing written; the QRA batch as an OGC API –
Processes job whose records are read as a collection."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pandas as pd
import psutil
import pytest
from fastapi.testclient import TestClient

from gis_service.analysis.grading import regrade_all
from gis_service.analysis.qra.data import qra_params
from gis_service.api.app import create_app
from gis_service.batch import batches
from gis_service.batch.runner import SchedulerUnavailable, checkpoint_path
from gis_service.config import Settings
from gis_service.services.container import Services
from gis_service.stores.embedded import EmbeddedStore

QRA = qra_params(resolution_m=25, max_range_m=1000)   # coarser than the default: the test's time


@pytest.fixture(scope="module")
def sample_store(sample_gpkg, catalog, tmp_path_factory):
    path = tmp_path_factory.mktemp("batch") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    return store


@pytest.fixture(scope="module")
def qra_inline(sample_store, tmp_path_factory):
    return batches.qra(sample_store, tmp_path_factory.mktemp("qra_inline"), QRA, "inline")


def _records(res) -> pd.DataFrame:
    return pd.read_parquet(res.run_dir / "records.parquet").drop(columns="geometry")


def _plain(frame: pd.DataFrame) -> list[list]:
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def test_regrade_on_dask_equals_the_single_process_regrade_row_by_row(sample_store, tmp_path):
    want = pd.DataFrame(regrade_all(sample_store).records)
    res = batches.regrade(sample_store, tmp_path, "local", 2)
    got = _records(res)
    assert res.summary["partitions"] > 5 and res.summary["ran"] == res.summary["partitions"]
    assert len(got) == len(want) == len(sample_store.frame("hazard_sources", []))
    assert _plain(got[list(want.columns)]) == _plain(want)
    assert res.summary["widest_partition_receptors"] < len(sample_store.frame("receptors", []))  # halo, not all


def test_regrade_inline_on_postgis_equals_regrade_all(postgis_store, tmp_path):
    want = pd.DataFrame(regrade_all(postgis_store).records)
    got = _records(batches.regrade(postgis_store, tmp_path, "inline"))
    assert _plain(got[list(want.columns)]) == _plain(want)


def test_the_summary_counts_skipped_installations_apart_from_reused_partitions(sample_store, qra_inline):
    """A rerun reuses every partition (``skipped`` = partitions) while the installations the QRA could not assess
    keep their own count. Failed before: the runner's ``skipped`` overwrote the installations' in the summary, and
    the viewer showed the partitions reused as installations skipped."""
    again = batches.qra(sample_store, qra_inline.run_dir.parent, QRA, "inline")
    records = _records(again)
    assert again.summary["skipped"] == again.summary["partitions"] > 0 and again.summary["ran"] == 0
    assert again.summary["installations_skipped"] == int(records["skipped"].notna().sum())
    assert again.summary["computed"] + again.summary["installations_skipped"] == again.summary["installations"]


def test_qra_rows_are_the_apis_answer_for_each_installation(sample_store, qra_inline):
    got = _records(qra_inline).set_index("id")
    svc = Services.build(Settings(), sample_store)
    computed = got[got["skipped"].isna()]
    assert len(computed) > 100
    for fid in computed.index[:: max(1, len(computed) // 6)][:6]:
        doc = svc.risk.individual(QRA, layer="hazard_sources", fid=int(fid), societal=True).document()   # the API's JSON
        row = computed.loc[fid]
        assert row["max_ir_per_year"] == pytest.approx(doc["metadata"]["max_ir"]["ir_per_year"], rel=1e-12)
        checks = doc["metadata"]["receptors"]
        assert row["targets_in_reach"] == len(checks)
        assert row["targets_failing"] == sum(c["verdict"] == "fail" for c in checks)
        soc = doc["metadata"]["societal"]
        assert row["expected_deaths_per_year"] == pytest.approx(soc["expected_deaths_per_year"], rel=1e-9, abs=1e-18)
        assert row["fn_region"] == soc["assessment"]["region"]


def _kill_one_worker() -> int:
    me = psutil.Process()
    workers = [p for p in me.children(recursive=True)
               if any("spawn" in part or "forkserver" in part for part in p.cmdline())]
    assert workers, "no Dask worker process found"
    victim = workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    return victim.pid


def test_killing_a_worker_mid_batch_ends_with_the_undisturbed_results(sample_store, qra_inline, tmp_path):
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 1 and not killed:
            killed.append(_kill_one_worker())

    res = batches.qra(sample_store, tmp_path, QRA, "local", 2, progress=progress)
    assert killed, "the batch ended before a worker could be killed"
    assert _plain(_records(res)) == _plain(_records(qra_inline))
    assert res.summary["province_fn_curve"] == qra_inline.summary["province_fn_curve"]
    assert res.summary["province_expected_deaths_per_year"] == qra_inline.summary["province_expected_deaths_per_year"]


def test_partitions_are_cut_only_when_submitted_and_few_are_in_flight(sample_store, tmp_path, monkeypatch):
    """The driver holds the inputs of the partitions in flight, not the country's: a partition's receptors are cut
    when it is submitted, and at most two per worker thread (at least 4) are submitted at a time. Failed before:
    every cut was made, and every partition submitted, before the first ran (the national QRA's driver grew to
    15 GB)."""
    from gis_service.batch.runner import in_flight_limit

    cut, finished_at_cut = batches._layer_cut, []

    def counting_cut(*args):
        finished_at_cut.append(sum(1 for _ in tmp_path.glob("regrade-*/c*.parquet")))
        return cut(*args)

    monkeypatch.setattr(batches, "_layer_cut", counting_cut)
    res = batches.regrade(sample_store, tmp_path, "local", 1)
    limit = max(4, 2 * 1)
    assert in_flight_limit(None) == 4          # a client that cannot say: the floor
    n = res.summary["partitions"]
    assert len(finished_at_cut) == n > limit + 2
    assert all(done >= k - (limit - 1) for k, done in enumerate(finished_at_cut)), finished_at_cut
    assert finished_at_cut[-1] >= n - limit    # the last cut waited for the first ones to finish


def test_a_rerun_skips_finished_partitions_and_redoes_a_missing_one(sample_store, tmp_path):
    first = batches.regrade(sample_store, tmp_path, "inline")
    again = batches.regrade(sample_store, tmp_path, "inline")
    assert again.summary["ran"] == 0 and again.summary["skipped"] == first.summary["partitions"]
    victim = sorted(first.run_dir.glob("c*.parquet"))[0]
    victim.unlink()
    third = batches.regrade(sample_store, tmp_path, "inline")
    assert third.summary["ran"] == 1
    assert _plain(_records(third)) == _plain(_records(first))


def test_another_dataset_with_the_same_revisions_never_reuses_a_run(sample_store, catalog, tmp_path):
    """Two GeoPackages whose layers show the same revisions (copies, or two generated files never edited through
    the store) under one batch folder: the second is computed for itself, not read back from the first's
    checkpoints (the run key names the dataset)."""
    other_path = tmp_path / "other" / "sample.gpkg"
    other_path.parent.mkdir()
    shutil.copyfile(sample_store.path, other_path)
    other = EmbeddedStore(catalog, other_path)
    other.init()
    assert other.revisions(["hazard_sources", "receptors"]) == sample_store.revisions(["hazard_sources", "receptors"])
    first = batches.regrade(sample_store, tmp_path / "runs", "inline")
    second = batches.regrade(other, tmp_path / "runs", "inline")
    assert second.run_dir != first.run_dir and second.summary["skipped"] == 0


def test_a_regenerated_sample_never_shows_the_revisions_of_the_file_it_replaces(tmp_path, catalog):
    from gis_service.cli import build_sample

    path = tmp_path / "s.gpkg"
    build_sample(path)
    before = EmbeddedStore(catalog, path).revisions(["hazard_sources", "receptors"])
    build_sample(path)
    after = EmbeddedStore(catalog, path).revisions(["hazard_sources", "receptors"])
    assert min(before) > 0 and all(a > b for a, b in zip(after, before, strict=True))


def test_an_unreachable_scheduler_fails_clearly_and_writes_nothing(sample_store, tmp_path):
    t = time.monotonic()
    with pytest.raises(SchedulerUnavailable, match="tcp://127.0.0.1:9"):
        batches.regrade(sample_store, tmp_path, "tcp://127.0.0.1:9")
    assert time.monotonic() - t < 60
    runs = list(tmp_path.glob("regrade-*"))
    assert all(not list(r.glob("*.parquet")) and not (r / "summary.json").exists() for r in runs)


def test_the_province_qra_as_a_job_read_as_a_collection(sample_store, tmp_path):
    svc = Services.build(Settings(batch_dir=tmp_path, dask_workers=1), sample_store)
    with TestClient(create_app(services=svc)) as c:
        d = c.get("/processes/batch-qra").json()
        assert d["jobControlOptions"] == ["async-execute", "dismiss"] and "resolution_m" in d["inputs"]
        r = c.post("/processes/batch-qra/execution", json={"inputs": {"resolution_m": 25, "max_range_m": 1000}})
        assert r.status_code == 201, r.text
        jid = r.json()["jobID"]
        seen, deadline = set(), time.monotonic() + 300
        while time.monotonic() < deadline:
            st = c.get(f"/jobs/{jid}").json()
            seen.add(st["progress"])
            if st["status"] in ("successful", "failed"):
                break
            time.sleep(0.2)
        assert st["status"] == "successful", st
        assert len(seen) > 2  # progress was followed, not just 0 then 100
        res = c.get(f"/jobs/{jid}/results").json()["result"]
        assert res["summary"]["installations"] == len(sample_store.frame("hazard_sources", []))
        href = res["records"]["href"]
        page = c.get(href, params={"limit": 50}).json()
        assert page["type"] == "FeatureCollection" and page["numberReturned"] == 50
        assert page["numberMatched"] == res["summary"]["installations"]
        assert any(link["rel"] == "next" for link in page["links"])
        f = page["features"][0]
        assert f["geometry"]["type"] == "Point" and "max_ir_per_year" in f["properties"]
        assert c.get(f"/batches/{res['records']['run']}").json()["kind"] == "qra"
        assert c.get("/batches/qra-0000000000000000/items").status_code == 404
        assert c.get("/batches/nope/items").status_code in (400, 404)
        assert c.post("/processes/batch-qra/execution", json={"inputs": {"resolution_m": 0}}).status_code == 400


def test_local_workers_keep_malloc_defaults_and_one_thread():
    """Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``: every large numpy temporary of the QRA then
    became a fresh mmap (the province QRA on one worker: 264 s against 140 s in one process). Our LocalCluster's
    workers start without it, and keep one OpenMP/BLAS thread each."""
    from functools import partial

    from gis_service.batch.runner import dask_client

    with dask_client("local", 1) as client:
        trim = client.run(partial(os.getenv, "MALLOC_TRIM_THRESHOLD_"))
        omp = client.run(partial(os.getenv, "OMP_NUM_THREADS"))
    assert list(trim.values()) == [None]
    assert list(omp.values()) == ["1"]


def test_checkpoint_is_whole_or_absent(tmp_path):
    from gis_service.batch.runner import write_checkpoint

    write_checkpoint(tmp_path, "c0001r0001", {"records": pd.DataFrame({"id": [1, 2]})})
    assert checkpoint_path(tmp_path, "c0001r0001").exists()
    assert not list(tmp_path.glob(".*tmp"))


def test_a_stopped_batch_cancels_its_running_partitions_at_once(tmp_path):
    """A batch whose caller stops it (a dismissed job) ends within a poll, not when a running partition ends:
    the runner asks its progress callback again while partitions run, and the callback may raise."""
    from gis_service.batch.runner import run_partitions

    started, calls = time.monotonic(), []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if time.monotonic() - started > 8:   # the cluster is up and both partitions are sleeping by now
            raise KeyboardInterrupt("stopped")

    with pytest.raises(KeyboardInterrupt):
        run_partitions(time.sleep, [("a", (120,)), ("b", (120,))], tmp_path / "run", "local", 1, progress=progress)
    assert time.monotonic() - started < 40, "the runner waited for a running partition"
    assert len(calls) > 2 and set(calls) == {0}
    assert not list((tmp_path / "run").glob("*.parquet"))


def test_dismissing_a_running_batch_job_stops_its_dask_workers(sample_store, tmp_path):
    """DELETE /jobs/{id} on a batch whose partitions take minutes: the job's runner ends and its LocalCluster's
    worker processes are gone within seconds (before, they ran until a partition finished)."""
    from gis_service.batch.runner import run_partitions
    from gis_service.processes.inputs import BatchRegradeInputs
    from gis_service.services.processes import Process

    def run(_inputs, progress):
        run_partitions(time.sleep, [("a", (120,)), ("b", (120,))], tmp_path / "slow", "local", 1,
                       progress=lambda done, total: progress(100.0 * done / total, f"{done}/{total}"))
        return {}

    svc = Services.build(Settings(batch_dir=tmp_path, jobs_stale_s=3.0), sample_store)
    svc.processes.registry["slow-batch"] = Process("slow-batch", "slow", "partitions that sleep", BatchRegradeInputs,
                                                   run, sync=False)
    me = psutil.Process()

    def workers() -> list[psutil.Process]:   # the cluster's processes (not multiprocessing's resource tracker)
        return [p for p in me.children(recursive=True) if "resource_tracker" not in " ".join(p.cmdline())]

    with TestClient(create_app(services=svc)) as c:
        r = c.post("/processes/slow-batch/execution", json={"inputs": {}})
        assert r.status_code == 201, r.text
        jid = r.json()["jobID"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not workers():
            time.sleep(0.2)   # the LocalCluster's worker process (its nanny runs in this process)
        assert c.get(f"/jobs/{jid}").json()["status"] == "running"
        time.sleep(2)
        t = time.monotonic()
        assert c.delete(f"/jobs/{jid}").status_code == 200
        while time.monotonic() - t < 60 and (svc.processes._running or workers()):
            time.sleep(0.2)
        took = time.monotonic() - t
        assert not svc.processes._running, "the dismissed job is still running"
        assert not workers(), "its Dask workers still run"
        print(f"dismissed batch: runner and workers gone {took:.1f} s after the DELETE")
        assert took < 30, took
        assert c.get(f"/jobs/{jid}").status_code == 404


def test_ctrl_c_keeps_finished_partitions_and_a_rerun_resumes(sample_gpkg, tmp_path):
    """Ctrl-C on `gis-service batch qra`: exit 130 with a one-line message (no traceback), the finished partitions
    stay checkpointed, and the same command run again skips them and ends with every partition."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "GIS_BATCH_DIR": str(tmp_path / "out"), "GIS_GPKG_PATH": str(sample_gpkg),
           "GIS_STORE": "embedded"}
    # the default 10 m grid to 2 km: ≈ 20 s of partitions on one worker on a quiet machine, so the Ctrl-C comes
    # while most are still to run (at 25 m to 1 km a quiet CI machine finished them all before the signal landed)
    cmd = [sys.executable, "-m", "gis_service.cli", "batch", "qra", "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list((tmp_path / "out").glob("qra-*/c*[0-9].parquet")):
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "rerun the same command to resume" in err and "Traceback" not in err
    kept = {p.name for p in (tmp_path / "out").glob("qra-*/c*[0-9].parquet")}
    assert kept
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert summary["skipped"] >= len(kept) and summary["skipped"] + summary["ran"] == summary["partitions"]
    assert summary["ran"] > 0, "the first run had finished every partition before Ctrl-C: nothing was interrupted"
