"""`gis-service keys add` — a new API key with a role and a jurisdiction (kept hashed); `gis-service sync` — follow
another instance's change feed into this store (a county platform feeding the province, or the reverse);
`gis-service restamp` — give rows stored before jurisdictions (admin_code NULL) their county."""

from __future__ import annotations

import time
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="API keys with a role and a jurisdiction (stored as SHA-256 in GIS_KEYS_FILE)")
    app.add_typer(keys, name="keys")

    @keys.command("add")
    def add(id: str = typer.Option(..., "--id", help="the key's name in the audit trail, e.g. nanguan-editor"),
            role: str = typer.Option(..., help="sensor, viewer, editor or admin"),
            jurisdiction: str = typer.Option(..., help="GB/T 2260 code: 22 (province), 2201 (city), 220102 (county)"),
            file: Path = typer.Option(None, help="keys file (default GIS_KEYS_FILE)")):
        """Make a key, print it ONCE, and append only its hash to the keys file."""
        from ..access import normalise
        from ..config import ROLES, get_settings
        from ..identities import KeyEntry, append_key, key_hash, new_key
        from .common import fail, out

        path = file or get_settings().keys_file
        if path is None:
            fail("no keys file: pass --file or set GIS_KEYS_FILE", 2)
        if role not in ROLES:
            fail(f"unknown role {role!r}; roles: {', '.join(ROLES)}", 2)
        try:
            code = normalise(jurisdiction)
            key = new_key()
            append_key(path, KeyEntry(id, key_hash(key), role, code))
        except ValueError as exc:
            fail(str(exc), 2)
        out.print(key)

    app.command()(restamp)

    @app.command()
    def sync(url: str = typer.Argument(..., help="base URL of the other instance, e.g. http://county:8000"),
             layer: str = typer.Argument(..., help="layer to follow, e.g. hazard_sources"),
             since: int = typer.Option(0, help="seq already applied (printed by the previous run)"),
             key: str = typer.Option(None, envvar="GIS_SYNC_KEY", help="API key for the other instance"),
             follow: float = typer.Option(None, help="keep following, polling every N seconds"),
             page: int = typer.Option(500, min=1, max=5000, help="changes per request")):
        """Apply the other instance's change feed (GET /collections/{layer}/changes) to this store: each feature
        ends as the feed's last word on it, applying twice changes nothing. Prints the cursor to resume from."""
        import json
        import urllib.error
        import urllib.parse
        import urllib.request

        from .common import err, fail, open_services, out

        services = open_services()
        headers = {"X-API-Key": key} if key else {}
        base = url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            fail("the URL must start with http:// or https://", 2)

        def fetch(name: str, after: int, limit: int) -> dict:
            query = urllib.parse.urlencode({"since": after, "limit": limit})
            req = urllib.request.Request(f"{base}/collections/{urllib.parse.quote(name)}/changes?{query}",
                                         headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - http(s) only, checked above
                    return json.loads(r.read())
            except urllib.error.HTTPError as exc:
                fail(f"{base}: {exc.code} {exc.read()[:300]!r}", 3)

        cursor = since
        while True:
            try:
                cursor = services.layers.apply_changes(layer, fetch, cursor, page)
            except OSError as exc:
                err.print(f"[red]cannot reach {base}: {exc}[/]")
                if follow is None:
                    raise typer.Exit(3) from None
            out.print(f"{layer}: applied up to seq {cursor}")
            if follow is None:
                return
            time.sleep(follow)


def restamp(layers: list[str] = typer.Argument(None, help="layers to restamp (default: every layer)"),
            quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar")):
    """Backfill admin_code where it is NULL from the admin areas layer (the finest area holding each feature's
    representative point; an admin area's own code): on PostGIS one set-based UPDATE with a spatial join
    per window of ids, in the GeoPackage one pass. Rows already stamped are left alone; rerunning is safe."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..catalog import UnknownLayer
    from .common import err, fail, open_services, out

    services = open_services()
    with Progress(TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, disable=quiet) as bar:
        tasks: dict[str, object] = {}

        def progress(layer: str, done: int, total: int) -> None:
            if layer not in tasks:
                tasks[layer] = bar.add_task(layer, total=total)
            bar.update(tasks[layer], completed=done, total=total)  # type: ignore[arg-type]

        try:
            result = services.layers.restamp(layers or None, progress)
        except UnknownLayer as exc:
            fail(str(exc), 2)
    for name, (stamped, left) in result.items():
        note = f"; {left} outside every admin area (left NULL)" if left else ""
        out.print(f"{name}: {stamped} stamped{note}")
