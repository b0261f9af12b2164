"""CLI: `gis-service check-siting proposal.geojson` and `gis-service check-siting --all`.

Exit codes: 0 the check ran (whatever the verdict; with ``--strict``, 4 when a verdict is fail so
scripts can gate on it); 1 bad input (the message names the field and problem); 2 usage error;
3 store unavailable.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

EXIT_FAILED_CHECK = 4
OUTCOME_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "not_evaluated": "dim"}
VERDICT_STYLE = {"pass": "green", "conditional": "yellow", "fail": "bold red"}


def _fmt(value, unit) -> str:
    if value is None:
        return "—"
    digits = 0 if unit in ("m", "m²", "count") else 2
    return f"{value:,.{digits}f} {unit or ''}".strip()


def report_table(report) -> Table:
    """One row per rule: outcome, measured value, threshold, offending features."""
    d = report.to_dict()
    p = d["proposal"]
    title = (f"{p['name'] or 'proposal'} ({p['kind']}) — verdict [{VERDICT_STYLE[d['verdict']]}]"
             f"{d['verdict']} {d['verdict_label']['zh']}[/]")
    table = Table(title=title, show_lines=False)
    table.add_column("rule", no_wrap=True)
    table.add_column("outcome 结果", no_wrap=True)
    for col in ("measured 实测", "threshold 阈值", "规则 / offending 冲突要素"):
        table.add_column(col, overflow="fold")
    for r in d["rules"]:
        m, t = r["measured"], r["threshold"]
        offenders = r["offending"]
        shown = ", ".join(f"{o.get('layer')}#{o.get('id')} {o.get('name') or ''}".strip() for o in offenders[:3])
        if len(offenders) > 3:
            shown += f" … (+{len(offenders) - 3})"
        if not shown and r["notes"]:
            shown = r["notes"][0]
        table.add_row(r["id"],
                      f"[{OUTCOME_STYLE[r['outcome']]}]{r['outcome']}[/]",
                      _fmt(m["value"], m["unit"]), _fmt(t["value"], t["unit"]),
                      f"{r['description']['zh']}" + (f"\n{shown}" if shown else ""))
    return table


def _write_json(doc, path: Path | None) -> None:
    from . import common as cli

    if path is None:
        return
    data = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if str(path) == "-":
        cli.out.file.write(data.decode() + "\n")
    else:
        path.write_bytes(data)
        cli.err.print(f"wrote {path}")


def check_siting(
    proposal: Path = typer.Argument(None, help="GeoJSON Feature (Polygon, MultiPolygon or Point) to check"),
    all_parks: bool = typer.Option(False, "--all", help="check every existing chemical park instead"),
    inventory: Path = typer.Option(None, help="JSON file with the inventory: [{substance, cas, quantity_t}, …]"),
    kind: str = typer.Option(None, help="park | installation (default: from the file)"),
    rule_set: str = typer.Option(None, "--rule-set", help="rule set name in rules/ (default: by kind)"),
    rules_dir: Path = typer.Option(None, "--rules", help="directory of rule files (default: rules/)"),
    repair: bool = typer.Option(False, help="repair an invalid polygon with make_valid instead of refusing it"),
    json_out: Path = typer.Option(None, "--json", help="write the JSON report here ('-' = stdout)"),
    geojson_out: Path = typer.Option(None, "--geojson", help="write the map FeatureCollection here"),
    quiet: bool = typer.Option(False, help="no progress bar"),
    strict: bool = typer.Option(False, help="exit with code 4 when a verdict is fail"),
):
    """Check a proposed chemical park or hazardous installation (or every existing park) against the siting rules."""
    from ..analysis.siting.rules import RuleFileError
    from ..services.siting import SitingService
    from ..stores.base import FeatureNotFound
    from ..validation import ValidationFailed
    from . import common as cli

    if all_parks == (proposal is not None):
        cli.fail("give either a proposal file or --all", 2)
    svc = cli.open_services()
    siting = svc.siting if rules_dir is None else SitingService(svc.store, svc.rescue, rules_dir)
    try:
        siting.rule_sets()
    except RuleFileError as exc:
        cli.fail(str(exc), 1)
    try:
        if all_parks:
            failed = _check_all_parks(siting, siting.rule_set("park", rule_set), json_out, geojson_out, quiet)
        else:
            doc = _read_proposal(proposal, inventory)
            p = siting.proposal(doc, kind, repair)
            report = siting.check(p, rule_set)
            if str(json_out) != "-":
                cli.out.print(report_table(report))
                for note in p.notes:
                    cli.out.print(f"[yellow]note:[/] {note}")
            _write_json(report.to_dict(), json_out)
            _write_json(report.to_feature_collection().model_dump(mode="json"), geojson_out)
            failed = report.verdict == "fail"
    except ValidationFailed as exc:
        cli.report_invalid(exc)
    except orjson.JSONDecodeError as exc:
        cli.fail(f"not valid JSON: {exc}", 1)
    except (KeyError, ValueError) as exc:
        cli.fail(str(exc).strip("'\""), 1)
    except FeatureNotFound as exc:
        cli.fail(str(exc), 1)
    if failed and strict:
        raise typer.Exit(EXIT_FAILED_CHECK)


def _check_all_parks(siting, rs, json_out, geojson_out, quiet: bool) -> bool:
    """Check every existing park with one rule set; True if any fails."""
    from ..stores.base import Query
    from . import common as cli

    ids = [f.id for f in siting.store.items("chemical_parks", Query(limit=10**9, properties=("name",))).features]
    reports = []
    with Progress(TextColumn("[bold]checking parks[/]"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=cli.err, disable=quiet) as bar:
        task = bar.add_task("parks", total=len(ids))
        for pid in ids:
            reports.append(siting.check_park(pid, rs))
            bar.advance(task)
    if str(json_out) != "-":
        cli.out.print(summary_table(reports))
    _write_json({"analysis": "siting_check_all", "rule_set": rs.name,
                 "verdicts": {str(r.proposal.source["id"]): r.verdict for r in reports},
                 "reports": [r.to_dict() for r in reports]}, json_out)
    if geojson_out is not None:
        feats = [f for r in reports for f in r.to_feature_collection().model_dump(mode="json")["features"]]
        _write_json({"type": "FeatureCollection", "features": feats}, geojson_out)
    return any(r.verdict == "fail" for r in reports)


def _read_proposal(proposal: Path, inventory: Path | None) -> dict:
    """The proposal file as a GeoJSON document, with the inventory file merged into its properties."""
    from . import common as cli

    if not proposal.exists():
        cli.fail(f"proposal: no such file {proposal}", 1)
    doc = orjson.loads(proposal.read_bytes()) if proposal.suffix.lower() in (".json", ".geojson") else None
    if doc is None:
        cli.fail(f"proposal: expected a .geojson or .json file, got {proposal.name}", 1)
    if inventory is not None:
        inv = orjson.loads(inventory.read_bytes())
        target = doc["features"][0] if doc.get("type") == "FeatureCollection" and doc.get("features") else doc
        if target.get("properties") is None:
            target["properties"] = {}
        target["properties"]["inventory"] = inv
    return doc


def summary_table(reports) -> Table:
    table = Table(title=f"siting check of {len(reports)} chemical park(s) 化工园区选址核查")
    for col in ("id", "park 园区", "verdict 结论", "fail 不通过", "warn 警告", "ms"):
        table.add_column(col, overflow="fold")
    for r in reports:
        s = r.by_outcome()
        table.add_row(str(r.proposal.source["id"]), r.proposal.name or "",
                      f"[{VERDICT_STYLE[r.verdict]}]{r.verdict}[/]", ", ".join(s["fail"]) or "—",
                      ", ".join(s["warn"]) or "—", f"{r.elapsed_ms:.0f}")
    return table


def register(app: typer.Typer) -> None:
    app.command("check-siting")(check_siting)
