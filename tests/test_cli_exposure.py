"""``gis-service exposure LAYER ID``: the zones table, the union totals and the GeoJSON file, read from the typed
exposure answer (ExposureZones) — the file is the document the API writes."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from gis_service.analysis.consequence.params import scenario_params
from gis_service.commands import exposure as exposure_commands
from gis_service.config import Settings, get_settings
from gis_service.services.container import Services


def test_exposure_command_prints_the_typed_answer_and_writes_the_api_document(sample_gpkg, tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_STORE", "embedded")
    monkeypatch.setenv("GIS_GPKG_PATH", str(sample_gpkg))
    monkeypatch.setenv("COLUMNS", "400")
    get_settings.cache_clear()
    app = typer.Typer()
    exposure_commands.register(app)
    out = tmp_path / "zones.geojson"
    try:
        svc = Services.build(Settings(store="embedded", gpkg_path=str(sample_gpkg)))
        for receptors in (False, True):
            args = ["exposure", "hazard_sources", "1", "--wind-dir", "270", "--geojson", str(out)]
            r = CliRunner().invoke(app, args + (["--receptors"] if receptors else []))
            assert r.exit_code == 0, r.output
            want = svc.exposure.feature("hazard_sources", 1, scenario_params(wind_dir_deg=270)) \
                .to_feature_collection(receptor_features=receptors)
            assert json.loads(out.read_bytes()) == json.loads(json.dumps(want))
            total = want["metadata"]["exposure"]
            assert f"union of all zones: {total['receptor_count']} receptors, {total['total_population']:,} people" \
                in r.output
            zones = [f["properties"] for f in want["features"] if f["properties"]["feature_type"] == "zone"]
            assert zones and all(z["label_zh"] in r.output for z in zones)
            if receptors:
                rows = [f["properties"] for f in want["features"] if f["properties"]["feature_type"] == "receptor"]
                assert rows and all(f"{p['population']:,}" in r.output for p in rows)
        r = CliRunner().invoke(app, ["exposure", "roads", "1"])
        assert r.exit_code == 1
    finally:
        get_settings.cache_clear()
