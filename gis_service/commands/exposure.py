"""CLI: ``gis-service exposure LAYER ID [options] [--geojson OUT]`` and ``gis-service grade (ID | --all) [--write]``.

Exit codes as in :mod:`gis_service.cli`: 1 bad input (message names the field and what is accepted),
2 usage, 3 store unavailable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import typer
from rich.table import Table

if TYPE_CHECKING:
    from ..analysis.consequence.results import ZoneProperties


def register(app: typer.Typer) -> None:
    app.command("exposure")(exposure_command)
    app.command("grade")(grade_command)


def _floats(name: str, text: str | None):
    from ..validation import Problem, ValidationFailed

    if text is None:
        return None
    try:
        return tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValidationFailed([Problem(None, name, f"must be comma-separated numbers (got {text!r})")]) from None


def _distance_text(p: ZoneProperties) -> str:
    """A zone's distance for the table: cut zones say why (beyond the model's range: no distance)."""
    dist = f"{p.distance_m:,.0f}"
    extra = p.model_extra or {}   # members the model family adds: the true reach of a cut zone
    if extra.get("beyond_model_range"):
        return dist + " (cut; beyond the model's range)"
    true = extra.get("true_distance_m")
    if p.truncated and true is not None:
        return dist + f" (cut; true {'≥ ' if extra.get('true_distance_is_lower_bound') else ''}{true:,.0f})"
    return dist


def exposure_command(
    layer: str = typer.Argument(..., help="hazard_sources | tailings_dams | goaf_areas"),
    fid: int = typer.Argument(..., metavar="ID", help="feature id"),
    wind_dir: float = typer.Option(None, "--wind-dir", help="direction the wind blows FROM, ° (0–360)"),
    weather: str = typer.Option(None, help="worst (F, 1.5 m/s; default) | typical (D, 3 m/s)"),
    wind_speed: float = typer.Option(None, "--wind-speed", help="m/s (1–30); default from --weather"),
    stability: str = typer.Option(None, help="A–F; default from --weather"),
    terrain: str = typer.Option(None, help="rural | urban"),
    release_rate: float = typer.Option(None, "--release-rate", help="toxic release rate g/s"),
    overpressure: str = typer.Option(None, help="comma-separated kPa levels, e.g. 34.5,13.8,2.07"),
    heat_flux: str = typer.Option(None, "--heat-flux", help="comma-separated kW/m² levels, e.g. 10,5,2"),
    kinds: str = typer.Option(None, help="comma-separated: explosion,fire,toxic,fireball,jet_fire"),
    tan_beta: float = typer.Option(None, "--tan-beta", help="goaf tan β override"),
    geojson: Path = typer.Option(None, "--geojson", help="write the FeatureCollection to this file"),
    receptors: bool = typer.Option(False, help="list every exposed receptor"),
):
    """Consequence zones of a feature and the receptors inside each zone."""
    from ..analysis.consequence.params import scenario_params
    from ..stores.base import FeatureNotFound
    from ..validation import ValidationFailed
    from . import common as cli

    svc = cli.open_services()
    try:
        params = scenario_params(
            weather=weather, wind_dir_deg=wind_dir, wind_speed_m_s=wind_speed, stability=stability, terrain=terrain,
            release_rate_g_s=release_rate, overpressure_kpa=_floats("overpressure", overpressure),
            heat_flux_kw_m2=_floats("heat-flux", heat_flux), kinds=kinds, tan_beta=tan_beta)
        result = svc.exposure.feature(layer, fid, params)
    except ValidationFailed as exc:
        cli.report_invalid(exc)
    except FeatureNotFound as exc:
        cli.fail(str(exc))
    fc = result.to_model(receptor_features=True)
    table = Table(title=f"{layer} #{fid} {fc.metadata.source.name or ''} — 影响区与暴露 exposure")
    for col in ("级别 level", "类型 kind", "阈值 threshold", "距离 distance (m)", "驱动物质 substance",
                "目标数 receptors", "人口 population", "按类别 by class"):
        table.add_column(col)
    for p in fc.zones:
        e = p.exposure
        thr = "" if p.threshold is None else f"{p.threshold:g} {p.threshold_unit}"
        table.add_row(p.label_zh, p.kind, thr, _distance_text(p), p.substance or "",
                      str(e.receptor_count), f"{e.total_population:,}",
                      ", ".join(f"{k}:{v}" for k, v in e.counts_by_class.items()))
    cli.out.print(table)
    summ = fc.metadata.exposure
    cli.out.print(f"union of all zones: {summ.receptor_count} receptors, {summ.total_population:,} people")
    for w in fc.metadata.warnings:
        cli.err.print(f"[yellow]warning:[/] {w}")
    if receptors:
        rt = Table(title="exposed receptors 暴露目标")
        for col in ("id", "name", "class", "population", "distance (m)", "innermost zone"):
            rt.add_column(col)
        for r in fc.receptors:
            rt.add_row(str(r.id), r.name or "", r.class_zh or "", f"{r.population:,}", f"{r.distance_m:,.0f}",
                       r.innermost_level or "")
        cli.out.print(rt)
    if geojson:   # the document the API writes (GET /analysis/exposure/{layer}/{id}?receptors=…)
        geojson.write_bytes(orjson.dumps(result.to_feature_collection(receptor_features=receptors)))
        cli.out.print(f"wrote {geojson}")


def grade_command(
    fid: int = typer.Argument(None, metavar="[ID]", help="one hazard source id"),
    all_: bool = typer.Option(False, "--all", help="regrade every hazard source"),
    write: bool = typer.Option(False, help="with --all: store the new grades (all or nothing)"),
    json_out: Path = typer.Option(None, "--json", help="write the record(s) as JSON to this file"),
):
    """GB 18218-2018 grading: one unit's full record, or the whole layer with --all."""
    from ..stores.base import FeatureNotFound
    from ..validation import ValidationFailed
    from . import common as cli

    if (fid is None) == (not all_):
        cli.fail("give either an ID or --all", 2)
    svc = cli.open_services()
    try:
        if all_:
            summary = svc.exposure.regrade(write=write)
            doc = summary.to_dict(with_records=True)
        else:
            doc = svc.exposure.grading_record(fid)
    except ValidationFailed as exc:
        cli.report_invalid(exc, writing=write)
    except FeatureNotFound as exc:
        cli.fail(str(exc))
    if all_:
        t = Table(title="GB 18218-2018 重大危险源分级 grading")
        t.add_column("等级 grade")
        t.add_column("数量 units", justify="right")
        for k, v in doc["by_grade"].items():
            t.add_row(k, str(v))
        cli.out.print(t)
        cli.out.print(f"{doc['count']} units, {doc['major_hazard_sources']} major hazard sources (S ≥ 1); "
                      f"{doc['changed_count']} grade(s) differ from the stored value; "
                      f"{'written' if doc['written'] else 'not written (use --write)' if doc['changed_count'] else 'nothing to write'}")
    else:
        t = Table(title=f"#{doc['id']} {doc['name']} — GB 18218-2018")
        for col in ("物质 substance", "q (t)", "Q (t)", "β", "q/Q", "β·q/Q"):
            t.add_column(col)
        for term in doc["terms"]:
            t.add_row(term["substance"], f"{term['q_t']:g}", f"{term['critical_quantity_t']:g}", f"{term['beta']:g}",
                      f"{term['q_over_Q']:.3f}", f"{term['beta_q_over_Q']:.3f}")
        cli.out.print(t)
        cli.out.print(f"S = {doc['S']:.3f} ({'major hazard source' if doc['is_major'] else 'not a major hazard source'}); "
                      f"people within 500 m = {doc['people_within_500m']} "
                      f"({len(doc['people_counted']['receptors'])} receptors) → α = {doc['alpha']:g}; "
                      f"R = {doc['R']:.2f}; grade = {doc['grade_label'] or '—'} (stored: {doc['stored_grade']})")
        for w in doc["warnings"]:
            cli.err.print(f"[yellow]warning:[/] {w}")
    if json_out:
        json_out.write_bytes(orjson.dumps(doc))
        cli.out.print(f"wrote {json_out}")
