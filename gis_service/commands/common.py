"""What every command shares: the consoles, the exit codes and the services of the process.

Exit codes: 0 success, 1 bad input (the message names the row, field and problem; nothing is
written), 2 usage error, 3 store unavailable.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from ..config import Settings, get_settings
from ..services.container import Services
from ..stores import StoreError
from ..validation import ValidationFailed

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def report_invalid(exc: ValidationFailed, writing: bool = False) -> NoReturn:
    """Print every problem (row, field, message) and exit 1; ``writing`` adds that nothing was written."""
    tail = "; nothing was written" if writing else ""
    err.print(f"[bold red]error:[/] {len(exc.problems)} problem(s){tail}")
    for p in exc.problems[:50]:
        where = f"row {p.row}" if p.row is not None else "input"
        err.print(f"  {where}, field [bold]{p.field}[/]: {p.message}")
    raise typer.Exit(1)


def open_services(settings: Settings | None = None) -> Services:
    """The services every command shares with the API (store opened, settings checked, caches)."""
    try:
        services = Services.build(settings or get_settings())
        services.store.init()
    except StoreError as exc:
        fail(str(exc), 3)
    except ValueError as exc:  # a malformed setting (ValidationFailed is one too)
        fail(str(exc), 2)
    return services
