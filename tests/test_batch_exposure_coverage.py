"""The exposure and coverage batches on the Jilin sample, on both stores: the Dask run (embedded store, 2 workers)
and the single-process run (PostGIS store) give the same records row by row; the batch's row for a source is the
single-request API's answer for it (GET /analysis/exposure/hazard_sources/{id}, GET /analysis/rescue/coverage);
both run as OGC API – Processes jobs whose records are read as a collection; a Dask worker killed mid-batch has
its partition redone with the same records; bad input → 400 naming the input; the CLI runs them with a progress
bar."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_batch import _kill_one_worker
from typer.testing import CliRunner

from gis_service.analysis.consequence.params import ScenarioParams
from gis_service.api.app import create_app
from gis_service.batch import batches
from gis_service.config import Settings
from gis_service.services.container import Services

ENGINES = ("embedded", "postgis")
SCHEDULER = {"embedded": ("local", 2), "postgis": ("inline", 1)}   # Dask on one store, single process on the other


@pytest.fixture(scope="module")
def runs(sample_stores, tmp_path_factory):
    """{engine: (exposure result, coverage result, services)} — each batch once per store."""
    out = {}
    for engine in ENGINES:
        store = sample_stores[engine]
        svc = Services.build(Settings(batch_dir=tmp_path_factory.mktemp(f"batches_{engine}")), store)
        sched, workers = SCHEDULER[engine]
        exp = batches.exposure(store, svc.batch.root, ScenarioParams(), sched, workers)
        cov = svc.batch.coverage(scheduler=sched, workers=workers)
        out[engine] = (exp, cov, svc)
    return out


def _records(res) -> pd.DataFrame:
    return pd.read_parquet(res.run_dir / "records.parquet").drop(columns="geometry")


def _plain(frame: pd.DataFrame) -> list[list]:
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def test_exposure_on_dask_equals_the_single_process_run_row_by_row(runs, sample_stores):
    dask, single = _records(runs["embedded"][0]), _records(runs["postgis"][0])
    n = len(sample_stores["embedded"].frame("hazard_sources", []))
    assert len(dask) == len(single) == n
    assert runs["embedded"][0].summary["partitions"] > 5 and runs["embedded"][0].summary["scheduler"] == "local"
    assert _plain(dask) == _plain(single)
    assert runs["embedded"][0].summary["sources_with_receptors_exposed"] > 50   # the sample is not all empty
    summary = runs["embedded"][0].summary   # sources the models could not assess: their own count, not the runner's
    assert summary["sources_skipped"] == int(dask["skipped"].notna().sum())
    assert summary["computed"] + summary["sources_skipped"] == summary["count"] == n


@pytest.mark.parametrize("kind", ["exposure", "coverage"])
def test_killing_a_worker_mid_batch_ends_with_the_undisturbed_results(runs, sample_stores, tmp_path, kind):
    store = sample_stores["embedded"]
    svc = Services.build(Settings(batch_dir=tmp_path), store)
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 1 and not killed:
            killed.append(_kill_one_worker())

    if kind == "exposure":
        res, want = batches.exposure(store, tmp_path, ScenarioParams(), "local", 2, progress=progress), runs["embedded"][0]
    else:
        res, want = svc.batch.coverage(scheduler="local", workers=2, progress=progress), runs["embedded"][1]
    assert killed, "the batch ended before a worker could be killed"
    assert res.run_dir != want.run_dir                                 # computed again, not read back
    assert _plain(_records(res)) == _plain(_records(want))
    assert res.summary["ran"] == res.summary["partitions"]


@pytest.mark.parametrize("engine", ENGINES)
def test_exposure_rows_are_the_apis_answer_for_those_sources(runs, engine):
    exp, _cov, svc = runs[engine]
    got = _records(exp).set_index("id")
    exposed = got[got["receptor_count"] > 0].index.tolist()
    some = exposed[:: max(1, len(exposed) // 5)][:5] + got[got["receptor_count"] == 0].index.tolist()[:1]
    assert len(some) == 6
    with TestClient(create_app(services=svc)) as c:
        for fid in some:
            r = c.get(f"/analysis/exposure/hazard_sources/{fid}")
            assert r.status_code == 200, r.text
            doc = r.json()
            row = got.loc[fid]
            assert row["receptor_count"] == doc["metadata"]["exposure"]["receptor_count"]
            assert row["total_population"] == doc["metadata"]["exposure"]["total_population"]
            zones = json.loads(row["zones"])
            api = [f["properties"] for f in doc["features"] if f["properties"].get("feature_type") == "zone"]
            assert len(zones) == len(api) == row["zone_count"]
            for z, a in zip(zones, api, strict=True):
                assert (z["level"], z["kind"], z["model"]) == (a["level"], a["kind"], a["model"])
                e = a["exposure"]
                assert z["receptor_count"] == e["receptor_count"] and z["total_population"] == e["total_population"]
                assert z["counts_by_class"] == e["counts_by_class"]
                assert z["population_by_class"] == e["population_by_class"]
            for lv in ("red", "orange", "yellow"):   # a level's union of its zones' receptors
                ids = {r["id"] for a in api if a["level"] == lv for r in a["exposure"]["receptors"]}
                assert row[f"{lv}_receptors"] == len(ids)


def test_coverage_on_dask_equals_the_single_process_run_row_by_row(runs):
    dask, single = _records(runs["embedded"][1]), _records(runs["postgis"][1])
    assert len(dask) == len(single) == runs["embedded"][1].summary["totals"]["features"]
    assert runs["embedded"][1].summary["partitions"] > 5
    assert _plain(dask) == _plain(single)
    assert runs["embedded"][1].summary["counties"] == runs["postgis"][1].summary["counties"]


@pytest.mark.parametrize("engine", ENGINES)
def test_coverage_rows_and_counties_are_the_apis_answer(runs, engine):
    _exp, cov, svc = runs[engine]
    got = _records(cov).set_index("id")
    with TestClient(create_app(services=svc)) as c:
        r = c.get("/analysis/rescue/coverage")
        assert r.status_code == 200, r.text
        doc = r.json()
    gaps = doc["features"]
    assert 10 < len(gaps) < len(got)            # some covered, some not: the comparison means something
    assert set(got.index[~got["covered"]]) == {f["id"] for f in gaps}
    for f in gaps:
        row = got.loc[f["id"]]
        want = f["properties"]
        mine = {k: (None if isinstance(row[k], float) and pd.isna(row[k]) else row[k]) for k in want
                if k not in ("by_team_type", "capable_team_types")}
        assert mine == {k: v for k, v in want.items() if k in mine}, f["id"]
        assert json.loads(row["by_team_type"]) == want["by_team_type"]
        assert json.loads(row["capable_team_types"]) == want["capable_team_types"]
    assert cov.summary["counties"] == doc["metadata"]["counties"]
    assert cov.summary["totals"] == doc["metadata"]["totals"]
    covered = got[got["covered"]]
    assert (covered["best_eta_min"].notna()).all()   # a covered target has a team within its standard


def _job(c, process: str, inputs: dict) -> dict:
    r = c.post(f"/processes/{process}/execution", json={"inputs": inputs}, headers={"Prefer": "respond-async"})
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
    assert len(seen) >= 2
    return c.get(f"/jobs/{jid}/results").json()["result"]


def test_coverage_and_exposure_as_jobs_read_as_collections(runs, sample_stores, tmp_path):
    svc = Services.build(Settings(batch_dir=tmp_path, dask_workers=1), sample_stores["embedded"])
    with TestClient(create_app(services=svc)) as c:
        ids = {p["id"] for p in c.get("/processes").json()["processes"]}
        assert {"batch-exposure", "batch-coverage"} <= ids
        d = c.get("/processes/batch-exposure").json()
        assert d["jobControlOptions"] == ["async-execute", "dismiss"] and "wind_speed_m_s" in d["inputs"]
        assert set(c.get("/processes/batch-coverage").json()["inputs"]) == {"incident", "minutes"}
        res = _job(c, "batch-coverage", {"incident": "chemical", "minutes": 20})
        assert res["summary"]["kind"] == "coverage" and res["summary"]["minutes_override"] == 20
        page = c.get(res["records"]["href"], params={"limit": 40}).json()
        assert page["numberMatched"] == res["summary"]["totals"]["features"] and page["numberReturned"] == 40
        f = page["features"][0]
        assert f["geometry"]["type"] == "Point" and isinstance(f["properties"]["by_team_type"], dict)
        assert f["properties"]["incident"] == "chemical"
        assert any(link["rel"] == "next" for link in page["links"])
        assert c.get(f"/batches/{res['records']['run']}").json()["kind"] == "coverage"
        for bad, name in (({"incident": "nope"}, "inputs.incident"), ({"minutes": 0}, "inputs.minutes"),
                          ({"radius": 3}, "inputs.radius")):
            r = c.post("/processes/batch-coverage/execution", json={"inputs": bad}, headers={"Prefer": "respond-async"})
            assert r.status_code == 400 and name in r.text, (bad, r.text)
        r = c.post("/processes/batch-exposure/execution", json={"inputs": {"wind_speed_m_s": 0}},
                   headers={"Prefer": "respond-async"})
        assert r.status_code == 400 and "inputs.wind_speed_m_s" in r.text


def test_exposure_job_reuses_the_batch_and_serves_its_records(runs, sample_stores):
    exp, _cov, svc = runs["embedded"]
    with TestClient(create_app(services=svc)) as c:
        res = _job(c, "batch-exposure", {})
        assert res["records"]["run"] == exp.run
        assert res["summary"]["ran"] == 0 and res["summary"]["skipped"] == res["summary"]["partitions"]
        page = c.get(res["records"]["href"], params={"limit": 10, "offset": 0}).json()
        assert page["numberMatched"] == len(sample_stores["embedded"].frame("hazard_sources", []))
        props = page["features"][0]["properties"]
        assert isinstance(props["zones"], list) and {"red_receptors", "total_population"} <= set(props)


def test_cli_batch_coverage_and_exposure(runs, sample_gpkg, tmp_path, monkeypatch):
    import shutil

    from gis_service.cli import app
    from gis_service.config import get_settings

    monkeypatch.setenv("GIS_BATCH_DIR", str(tmp_path))
    get_settings.cache_clear()
    gpkg = tmp_path / "sample.gpkg"
    shutil.copyfile(sample_gpkg, gpkg)
    sample_gpkg = gpkg
    runner = CliRunner()
    r = runner.invoke(app, ["batch", "coverage", "--gpkg", str(sample_gpkg), "--scheduler", "inline"])
    assert r.exit_code == 0, r.output
    assert "counties_with_most_gaps" in r.output and "/batches/coverage-" in r.output
    r = runner.invoke(app, ["batch", "coverage", "--gpkg", str(sample_gpkg), "--incident", "nope"])
    assert r.exit_code == 1 and "incident" in r.output
    r = runner.invoke(app, ["batch", "exposure", "--gpkg", str(sample_gpkg), "--wind-speed-m-s", "0"])
    assert r.exit_code == 1 and "wind_speed_m_s" in r.output
    get_settings.cache_clear()
