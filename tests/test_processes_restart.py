"""The API killed mid-job (SIGKILL of the server and its Dask workers, as a crashed machine): the next API process
still has the job — its state is in the store, not in memory — takes it over once its owner's heartbeat is stale,
and finishes it, reusing the partitions checkpointed before the crash (nothing acknowledged is lost)."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request

import psutil
from conftest import ServerProcess


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Prefer": "respond-async"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, json.loads(r.read())


class SlowStart(ServerProcess):
    """A server given longer than the shared fixture's 60 s to answer: the restarted one takes the job over and
    starts Dask workers while it starts, on a machine that may be busy."""

    def __enter__(self):
        import subprocess
        import tempfile

        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while True:
            assert self.proc.poll() is None, "the restarted server exited"
            try:
                with urllib.request.urlopen(f"{self.url}/conformance", timeout=5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise
                time.sleep(0.5)


def test_a_job_survives_the_api_being_killed(sample_gpkg, tmp_path):
    gpkg = tmp_path / "sample.gpkg"
    shutil.copyfile(sample_gpkg, gpkg)
    env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(gpkg), "GIS_JOBS_STALE_S": "2", "GIS_DASK_WORKERS": "1",
           "GIS_BATCH_DIR": str(tmp_path / "batches"), "GIS_API_KEYS": "", "GIS_READ_REQUIRES_KEY": "false"}
    first = SlowStart(env).__enter__()
    try:
        status, job = _post(f"{first.url}/processes/batch-qra/execution",
                            {"inputs": {"resolution_m": 25, "max_range_m": 1000}})
        assert status == 201
        jid = job["jobID"]
        deadline = time.monotonic() + 240
        while _get(f"{first.url}/jobs/{jid}")["progress"] == 0:  # at least one partition checkpointed
            assert time.monotonic() < deadline, "the job never progressed"
            time.sleep(0.3)
    finally:
        procs = psutil.Process(first.proc.pid).children(recursive=True)
        first.proc.kill()
        for p in procs:
            p.kill()
        first.proc.wait(timeout=30)
        first.log.close()
    with SlowStart(env) as second:
        st = _get(f"{second.url}/jobs/{jid}")
        assert st["status"] in ("accepted", "running", "successful"), st
        deadline = time.monotonic() + 900  # a busy shared machine: the rest of the batch runs on one worker
        while st["status"] not in ("successful", "failed"):
            assert time.monotonic() < deadline, st
            time.sleep(0.5)
            st = _get(f"{second.url}/jobs/{jid}")
        assert st["status"] == "successful", st
        res = _get(f"{second.url}/jobs/{jid}/results")["result"]
        assert res["summary"]["skipped"] >= 1, res["summary"]  # the partitions finished before the crash
        page = _get(f"{second.url}{res['records']['href']}?limit=10000")
        ids = [f["id"] for f in page["features"]]
        assert len(ids) == len(set(ids)) == page["numberMatched"] == res["summary"]["installations"]
