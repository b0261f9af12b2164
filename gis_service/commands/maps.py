"""CLI: ``gis-service render-map`` — write any map as one standalone HTML file (opens offline)."""

from __future__ import annotations

from pathlib import Path

import typer

KINDS = ("overview", "layer", "exposure", "rescue", "siting")


def render_map(kind: str = typer.Argument(..., help="overview | layer | exposure | rescue | siting"),
               out: Path = typer.Option(Path("map.html"), "--out", "-o", help="output HTML file"),
               layer: str | None = typer.Option(None, help="layer (layer and exposure maps)"),
               fid: int | None = typer.Option(None, "--id", help="feature id (exposure) or park id (siting)"),
               lon: float | None = typer.Option(None, help="incident longitude (rescue)"),
               lat: float | None = typer.Option(None, help="incident latitude (rescue)"),
               incident: str | None = typer.Option(None, help="incident type(s) (rescue)"),
               k: int = typer.Option(5, help="number of teams (rescue)"),
               by: str = typer.Option("distance", help="distance | time (rescue)"),
               proposal: Path | None = typer.Option(None, help="GeoJSON Feature file of a proposal (siting)")):
    """Render a map with every script, style and icon inlined: e.g. ``gis-service render-map overview -o
    overview.html`` or ``gis-service render-map rescue --lon 126.55 --lat 43.85 --incident chemical``."""
    from ..maps import assets
    from ..validation import ValidationFailed
    from . import common as cli

    if kind not in KINDS:
        cli.fail(f"kind: unknown map kind {kind!r}; one of {', '.join(KINDS)}")

    def need(value, name: str):
        if value is None:
            cli.fail(f"--{name} is required for a {kind} map")
        return value

    svc = cli.open_services()
    maps, catalog = svc.maps, svc.layers.catalog
    try:
        if kind == "overview":
            m = maps.overview(live=False)
        elif kind == "layer":
            name = need(layer, "layer")
            if name not in catalog:
                cli.fail(f"--layer: unknown layer {layer!r}; known: {', '.join(catalog.names())}")
            m = maps.layer(name, live=False)
        elif kind == "exposure":
            m = maps.exposure(need(layer, "layer"), need(fid, "id"))
        elif kind == "rescue":
            m = maps.rescue(need(lon, "lon"), need(lat, "lat"), need(incident, "incident"), k=k, by=by)
        elif proposal is not None:
            m = maps.siting_proposal(proposal.read_bytes())
        else:
            m = maps.siting_park(need(fid, "id"))
        html = maps.html(m, standalone=True)
    except ValidationFailed as exc:
        cli.report_invalid(exc)
    except LookupError as exc:
        cli.fail(str(exc))
    except assets.AssetsMissing as exc:
        cli.fail(str(exc))
    out.write_text(html, encoding="utf-8")
    cli.err.print(f"wrote {out} ({len(html.encode()) / 1e6:.2f} MB, opens offline)")


def register(app: typer.Typer) -> None:
    app.command("render-map")(render_map)
