"""Schemathesis over every operation of the OpenAPI document, on both stores: no 5xx, and every
status returned is one the document declares (so the documented 400 is the one returned).

Bounded for CI: ``GIS_FUZZ_EXAMPLES`` examples per operation and generation mode (default 10;
the heavy analysis and map operations get a third of that). The stores are private; the requests
carry an editor key so writes are fuzzed too. ``GIS_FUZZ_AUTH`` (comma separated: ``none``,
``viewer``, ``editor``; default ``editor``) runs the whole fuzz once per credential, with reads
requiring a key (``GIS_READ_REQUIRES_KEY``) so the no-key and viewer runs exercise the refusals.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from conftest import database_url, fill
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance

from gis_service.api.app import create_app
from gis_service.config import Settings

EXAMPLES = int(os.environ.get("GIS_FUZZ_EXAMPLES", "10"))
KEYS = "fuzz-edit:editor,fuzz-view:viewer"
EDITOR = {"X-API-Key": "fuzz-edit"}
CREDENTIALS = {"none": {}, "viewer": {"X-API-Key": "fuzz-view"}, "editor": EDITOR}
AUTH = [a.strip() for a in os.environ.get("GIS_FUZZ_AUTH", "editor").split(",") if a.strip()]
HEAVY = re.compile(r"^/(maps/|analysis/siting|analysis/rescue/(isochrone|coverage)|analysis/grading/recompute)")


# Never end by themselves (each valid example would hold a connection until its keep-alive timeout or its
# timeout_s, up to an hour): their bad input, replay, live delivery and end are tested, bounded, in
# test_monitoring_api.py and test_incidents.py.
UNBOUNDED = {("/monitoring/alarms/stream", "GET"), ("/incidents/stream", "GET")}


def _operations() -> list[tuple[str, str]]:
    doc = create_app(Settings(api_keys=KEYS)).openapi()
    return [(path, method.upper()) for path, item in doc["paths"].items() for method in item
            if (path, method.upper()) not in UNBOUNDED]


OPERATIONS = _operations()


@pytest.fixture(scope="module", params=[(s, a) for s in ("embedded", "postgis") for a in AUTH],
                ids=[f"{s}-{a}" for s in ("embedded", "postgis") for a in AUTH])
def fuzz_schema(request, tmp_path_factory, catalog, dataset):
    kind, auth = request.param
    if kind == "postgis":
        from gis_service.stores.postgis import PostGISStore

        store = PostGISStore(catalog, database_url(request.getfixturevalue("postgis_url"), "gis_test_fuzz"),
                             statement_timeout_s=20)
        store.drop_all()
    else:
        from gis_service.stores.embedded import EmbeddedStore

        store = EmbeddedStore(catalog, tmp_path_factory.mktemp("fuzz") / "fuzz.gpkg")
    store.init()
    fill(store, catalog, dataset)
    # editor-only runs keep the default (reads open); runs with other credentials need a key to read
    app = create_app(Settings(api_keys=KEYS, read_requires_key=AUTH != ["editor"]), store=store)
    yield schemathesis.openapi.from_asgi("/openapi.json", app), CREDENTIALS[auth]
    store.close()


def test_every_operation_is_fuzzed():
    assert len(OPERATIONS) >= 25  # the whole document, not a sample of it


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_operation_never_answers_5xx(fuzz_schema, path, method, mode):
    schema, headers = fuzz_schema
    operation = schema[path][method]
    n = max(2, EXAMPLES // 3) if HEAVY.match(path) else EXAMPLES

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate], derandomize=True, database=None)
    def run(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance])

    try:
        run()
    except Unsatisfiable:
        # no parameter can be made invalid (none, or only free text like a layer name, which the
        # valid mode already varies): nothing to send in this mode
        assert mode == GenerationMode.NEGATIVE
