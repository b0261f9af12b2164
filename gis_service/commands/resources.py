"""CLI: `gis-service assemble` (what an incident needs, from where, by road time) and `gis-service plan-coverage`
(major hazard sources without a filed, current emergency plan, by county) — the same facade calls as the API."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import orjson
import typer
from rich.table import Table


def _write_json(doc, path: Path | None) -> None:
    from . import common as cli

    data = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if str(path) == "-":
        cli.out.file.write(data.decode() + "\n")
    elif path is not None:
        path.write_bytes(data)
        cli.err.print(f"wrote {path}")


def assemble(lon: float = typer.Option(..., help="incident longitude (WGS84)"),
             lat: float = typer.Option(..., help="incident latitude (WGS84)"),
             needs: str = typer.Option(..., help='JSON object {type: quantity}, e.g. \'{"drilling_rig": 1}\''),
             json_out: Path = typer.Option(None, "--json", help="also write the GeoJSON plan here ('-' = stdout)")):
    """Which depots and teams send what so that every need is on scene soonest by road (then fewest sources)."""
    from ..validation import Problem, ValidationFailed
    from . import common as cli

    svc = cli.open_services()
    try:
        try:
            parsed = json.loads(needs)
        except json.JSONDecodeError as exc:
            raise ValidationFailed([Problem(None, "needs", f"not JSON: {exc.msg}")]) from None
        doc = svc.resources.assemble(lon, lat, parsed).to_feature_collection()
    except ValidationFailed as exc:
        cli.report_invalid(exc)
    meta = doc["metadata"]
    if json_out is None or str(json_out) != "-":
        table = Table(title=f"assembly @ {lon:.5f}, {lat:.5f}: all there in {meta['time_until_all_met_min']} min, "
                            f"{meta['sources']} sources")
        for col in ("source 来源", "what 调集", "eta_min"):
            table.add_column(col)
        for f in doc["features"]:
            p = f["properties"]
            if p["role"] == "source":
                table.add_row(f"{p['name']} ({p['layer']} #{p['id']})",
                              ", ".join(f"{i['zh']} × {i['quantity']}{i['unit_zh']}" for i in p["items"]),
                              f"{p['eta_min']:.1f}")
        cli.out.print(table)
        for u in meta["unmet"]:
            near = u["nearest"]
            cli.out.print(f"  [red]missing[/] {u['type']} × {u['missing']}"
                          + (f" — nearest holder {near['name']} ({near['why_not_sent']})" if near
                             else " — every holder is in the plan" if u["held_in_total"] else " — no depot or team holds it"))
        g = meta["greedy_nearest_first"]
        cli.out.print(f"  greedy nearest-first: {g['time_until_all_met_min']} min, {g['sources']} sources")
    _write_json(doc, json_out)


def plan_coverage(as_of: str = typer.Option(None, help="judge review dates on this day, YYYY-MM-DD (default today)"),
                  json_out: Path = typer.Option(None, "--json", help="also write the GeoJSON here ('-' = stdout)")):
    """Major hazard sources with no filed, current emergency plan (预案), by county."""
    from . import common as cli

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        cli.fail(f"--as-of must be a date YYYY-MM-DD (got {as_of!r})")
    svc = cli.open_services()
    doc = svc.resources.plan_coverage(day)
    meta = doc["metadata"]
    if json_out is None or str(json_out) != "-":
        table = Table(title=f"emergency-plan coverage on {meta['as_of']}: {meta['without_current_plan']} of "
                            f"{meta['hazard_sources']} hazard sources without a filed, current plan")
        for col in ("county 县区", "sources", "covered", "no plan", "not filed", "expired", "without (ids)"):
            table.add_column(col)
        for c in meta["by_county"]:
            if c["hazard_sources"] > c["covered"]:
                ids = ", ".join(map(str, c["without"][:12])) + (" …" if len(c["without"]) > 12 else "")
                table.add_row(c["county"], str(c["hazard_sources"]), str(c["covered"]), str(c["no_plan"]),
                              str(c["not_filed"]), str(c["expired"]), ids)
        cli.out.print(table)
    _write_json(doc, json_out)


def register(app: typer.Typer) -> None:
    app.command("assemble")(assemble)
    app.command("plan-coverage")(plan_coverage)
