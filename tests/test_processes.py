"""OGC API – Processes Part 1 on both stores: descriptions generated from the analyses' request models,
synchronous and asynchronous execution with the same answer as the analysis endpoint, job status and
results, dismissal, bad input (400 naming the input, 404 for unknown processes and jobs), and a job left by a
process that died taken over by the next one (its state is in the store)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.processes.inputs import ExposureInputs, QraInstallationInputs
from gis_service.services.container import Services

ASYNC = {"Prefer": "respond-async"}


@pytest.fixture
def client(store):
    svc = Services.build(Settings(jobs_stale_s=1.0), store)
    svc.processes.jobs.init()
    with TestClient(create_app(services=svc)) as c:
        yield c


def _wait(client, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/jobs/{job_id}")
        assert r.status_code == 200, r.text
        doc = r.json()
        if doc["status"] in ("successful", "failed"):
            return doc
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {doc}")


def test_processes_are_listed_and_described_from_the_request_models(client):
    r = client.get("/processes")
    assert r.status_code == 200
    ids = {p["id"] for p in r.json()["processes"]}
    assert {"exposure", "rescue-nearest", "siting", "qra-installation", "qra-park"} <= ids
    d = client.get("/processes/exposure").json()
    assert set(d["inputs"]) == set(ExposureInputs.model_fields)
    wind = d["inputs"]["wind_speed_m_s"]
    assert wind["schema"]["minimum"] == 1 and wind["schema"]["maximum"] == 30 and wind["minOccurs"] == 0
    assert d["inputs"]["id"]["minOccurs"] == 1 and d["inputs"]["layer"]["minOccurs"] == 1
    assert "sync-execute" in d["jobControlOptions"] and "async-execute" in d["jobControlOptions"]
    q = client.get("/processes/qra-installation").json()
    assert set(q["inputs"]) == set(QraInstallationInputs.model_fields)
    weather = q["inputs"]["weather"]["schema"]  # the nested Weather model is inlined, not a dangling $ref
    assert "$ref" not in str(weather) and "stability" in str(weather)
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list" in conf


def test_sync_and_async_execution_give_the_endpoint_answer(client):
    want = client.get("/analysis/exposure/hazard_sources/3?weather=typical").json()
    body = {"inputs": {"layer": "hazard_sources", "id": 3, "weather": "typical"}}
    r = client.post("/processes/exposure/execution", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.json()["features"] == want["features"]

    r = client.post("/processes/exposure/execution", json=body, headers=ASYNC)
    assert r.status_code == 201, r.text
    job = r.json()
    assert r.headers["location"].endswith(f"/jobs/{job['jobID']}")
    assert job["status"] in ("accepted", "running", "successful") and job["processID"] == "exposure"
    done = _wait(client, job["jobID"])
    assert done["status"] == "successful" and done["progress"] == 100, done
    assert any(link["rel"].endswith("/results") for link in done["links"])
    res = client.get(f"/jobs/{job['jobID']}/results").json()
    assert res["result"]["features"] == want["features"]
    page = client.get(f"/jobs/{job['jobID']}/results/result?limit=1").json()
    assert page["numberMatched"] == len(want["features"]) and page["numberReturned"] == 1
    listed = client.get("/jobs?processID=exposure").json()
    assert job["jobID"] in {j["jobID"] for j in listed["jobs"]}

    doc = client.post("/processes/exposure/execution", json={**body, "response": "document"}).json()
    assert doc["result"]["features"] == want["features"]


def test_a_failing_job_says_why(client):
    r = client.post("/processes/exposure/execution", headers=ASYNC,
                    json={"inputs": {"layer": "hazard_sources", "id": 999_999}})
    assert r.status_code == 201
    done = _wait(client, r.json()["jobID"])
    assert done["status"] == "failed" and "999999" in done["message"], done
    r = client.get(f"/jobs/{done['jobID']}/results")
    assert r.status_code == 404 and r.json()["code"] == "result-not-ready"


@pytest.mark.parametrize("inputs, field", [
    ({"layer": "hazard_sources", "id": 1, "bogus": 1}, "inputs.bogus"),
    ({"layer": "hazard_sources", "id": 1, "wind_speed_m_s": 99}, "inputs.wind_speed_m_s"),
    ({"layer": "roads", "id": 1}, "inputs.layer"),
    ({"layer": "hazard_sources"}, "inputs.id"),
])
def test_bad_inputs_are_400_naming_the_input(client, inputs, field):
    for headers in ({}, ASYNC):
        r = client.post("/processes/exposure/execution", json={"inputs": inputs}, headers=headers)
        assert r.status_code == 400, r.text
        assert field in [p["field"] for p in r.json()["problems"]], r.json()


def test_unknown_process_and_job_are_404(client):
    assert client.get("/processes/nope").status_code == 404
    r = client.post("/processes/nope/execution", json={"inputs": {}})
    assert r.status_code == 404 and r.json()["code"] == "no-such-process"
    for path in ("/jobs/0123abc", "/jobs/0123abc/results", "/jobs/0123abc/results/result"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["code"] == "no-such-job", path
    assert client.delete("/jobs/0123abc").status_code == 404
    assert client.post("/processes/exposure/execution", json={"inputs": {}, "extra": 1}).status_code == 400
    assert client.post("/processes/siting/execution", json={"inputs": {}}).status_code == 400  # neither id


def test_dismissed_job_is_gone(client):
    r = client.post("/processes/qra-installation/execution", headers=ASYNC,
                    json={"inputs": {"id": 2, "resolution_m": 20}})
    jid = r.json()["jobID"]
    d = client.delete(f"/jobs/{jid}")
    assert d.status_code == 200 and d.json()["status"] == "dismissed"
    assert client.get(f"/jobs/{jid}").status_code == 404
    time.sleep(0.5)  # a runner that had started finds the job gone and writes nothing back
    assert client.get(f"/jobs/{jid}").status_code == 404


def test_a_job_left_by_a_dead_process_is_taken_over(store):
    """The job row is written as a process that died would leave it (accepted, silent owner); the next API
    process to start runs it from its stored inputs."""
    settings = Settings(jobs_stale_s=1.0)
    first = Services.build(settings, store)
    job = first.processes.jobs.create("exposure", {"layer": "hazard_sources", "id": 5}, owner="dead-host:1:x")
    time.sleep(1.2)  # the dead owner's heartbeat goes stale
    with TestClient(create_app(services=Services.build(settings, store))) as c:
        done = _wait(c, job["job_id"])
        assert done["status"] == "successful", done
        want = c.get("/analysis/exposure/hazard_sources/5").json()
        assert c.get(f"/jobs/{job['job_id']}/results").json()["result"]["features"] == want["features"]
