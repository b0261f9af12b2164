"""CLI: `gis-service nearest`, `gis-service coverage`, `gis-service import-osm`."""

from __future__ import annotations

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


def _fmt(v, digits: int = 1) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def nearest(lon: float = typer.Option(..., help="incident longitude (WGS84)"),
            lat: float = typer.Option(..., help="incident latitude (WGS84)"),
            incident: str = typer.Option(..., help="mine, goaf, tailings_dam, chemical, fire, medical (comma list)"),
            by: str = typer.Option("distance", help="distance | time"),
            k: int = typer.Option(5, help="number of teams (1..50)"),
            min_personnel: int = typer.Option(0, help="only teams with at least this many people"),
            all_teams: bool = typer.Option(False, "--all-teams", help="include teams not on duty"),
            json_out: Path = typer.Option(None, "--json", help="also write the GeoJSON answer here ('-' = stdout)")):
    """Nearest capable rescue teams to an incident, by straight line or by road time."""
    from ..validation import ValidationFailed
    from . import common as cli

    svc = cli.open_services()
    try:
        answer = svc.rescue.nearest(lon, lat, incident, k=k, by=by, min_personnel=min_personnel,
                                    on_duty=not all_teams)
    except ValidationFailed as exc:
        cli.report_invalid(exc)
    table = Table(title=f"{incident} @ {lon:.5f}, {lat:.5f} — by {by}")
    for col in ("#", "team 队伍", "type 类型", "distance_m", "bearing_deg"):
        table.add_column(col)
    if by == "time":
        for col in ("eta_min", "road_distance_m", "standard_min", "meets 达标"):
            table.add_column(col)
    for i, t in enumerate(answer.teams, 1):
        row = [str(i), f"{t.name} (#{t.id})", t.team_type, _fmt(t.distance_m, 0), _fmt(t.bearing_deg, 0)]
        if by == "time":
            row += [_fmt(t.eta_min), _fmt(t.road_distance_m, 0), f"{t.standard_min:g}",
                    {True: "yes 是", False: "no 否", None: "—"}[t.meets_standard]]
        table.add_row(*row)
    if json_out is None or str(json_out) != "-":
        cli.out.print(table)
        for team_type, std in answer.standards.items():
            cli.out.print(f"  standard {team_type}: {std.standard_min:g} min — {std.source}")
        if answer.reason:
            cli.out.print(f"[yellow]no team:[/] {answer.reason}")
    _write_json(answer.to_dict(), json_out)


def coverage(incident: str = typer.Option(None, help="incident type for every layer (default: each layer's own)"),
             minutes: float = typer.Option(None, help="one time limit instead of the team-type standards"),
             json_out: Path = typer.Option(None, "--json", help="write the GeoJSON report here ('-' = stdout)"),
             show: int = typer.Option(20, help="gaps to list on screen")):
    """Hazard sources, tailings dams and goaf areas with no capable team within the standard time."""
    from ..validation import ValidationFailed
    from . import common as cli

    svc = cli.open_services()
    try:
        report = svc.rescue.coverage(incident, minutes)
    except ValidationFailed as exc:
        cli.report_invalid(exc)
    if json_out is None or str(json_out) != "-":
        t = report.totals
        cli.out.print(f"{t.gaps} of {t.features} hazards have no capable team within the standard "
                      f"({t.teams_considered} teams considered)")
        counties = Table(title="per county 按县区")
        for col in ("county 县区", "features", "gaps 缺口"):
            counties.add_column(col)
        for c in report.counties:
            if c.gaps:
                counties.add_row(c.county, str(c.features), str(c.gaps))
        cli.out.print(counties)
        gaps = Table(title=f"gaps (first {show})")
        for col in ("layer", "id", "name 名称", "county", "best_eta_min", "nearest team distance_m"):
            gaps.add_column(col)
        for f in report.gaps[:show]:
            p = f.properties
            if p is not None:
                gaps.add_row(p.layer, str(p.feature_id), p.name or "", p.county, _fmt(p.best_eta_min),
                             _fmt(p.nearest_team_distance_m, 0))
        cli.out.print(gaps)
    _write_json(report.to_feature_collection().model_dump(mode="json"), json_out)


def import_osm(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="OpenStreetMap .pbf/.osm extract"),
               append: bool = typer.Option(False, help="append to the roads layer instead of replacing it"),
               bbox: str = typer.Option(None, help="minlon,minlat,maxlon,maxlat: keep ways touching this box")):
    """Load the drivable roads of an OSM extract into the roads layer (validated, all or nothing)."""
    from ..loading import rows_from_frame
    from ..routing import read_osm_roads
    from ..stores import WriteBatch
    from ..validation import ValidationFailed
    from . import common as cli

    box = None
    if bbox:
        try:
            box = tuple(float(v) for v in bbox.split(","))
            if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
                raise ValueError
        except ValueError:
            cli.fail("bbox: must be minlon,minlat,maxlon,maxlat with min < max")
    try:
        frame = read_osm_roads(file, bbox=box)  # type: ignore[arg-type]  # four floats, checked above
    except Exception as exc:  # noqa: BLE001 - osmium raises RuntimeError for unreadable files
        cli.fail(f"{file}: cannot read as OpenStreetMap data: {exc}")
    if not len(frame):
        cli.fail(f"{file}: no drivable roads found")
    layers = cli.open_services().layers
    spec = layers.spec("roads")
    try:
        rows = rows_from_frame(spec, frame, ignore_extra=True).rows
        ids = layers.write("roads", WriteBatch(creates=rows)) if append else layers.replace_all("roads", rows)
    except ValidationFailed as exc:
        cli.report_invalid(exc, writing=True)
    cli.out.print(f"loaded {len(ids)} road(s) from {file.name} into roads ({'appended' if append else 'replaced'})")


def register(app: typer.Typer) -> None:
    app.command("nearest")(nearest)
    app.command("coverage")(coverage)
    app.command("import-osm")(import_osm)
