"""Who is asking and what they may touch: identities with a role and a jurisdiction, and the scope in force.

A jurisdiction is a GB/T 2260 admin-area code written as its significant prefix: the province of Jilin is
``22``, the city of Changchun ``2201``, the county-level district Nanguan ``220102``. A six-digit code with
trailing ``00`` pairs (``220100``) means the same as its prefix (``2201``). A feature belongs to the finest
admin area holding its representative point (its ``admin_code``, a six-digit code kept by the service); a
caller may touch it when the feature's code starts with the caller's jurisdiction — so the province sees
its cities and counties, a city sees its counties, a county only itself. The empty jurisdiction ``""`` is
the whole service (operators, the command line).

The scope of the current request travels in a :mod:`contextvars` variable (:data:`current`): the API sets
it once per request from the caller's identity, and both stores read it on every read and write, so no
query path can forget it. Threads started by Starlette for sync endpoints copy the context, so the scope
follows the request into them. Outside a request (CLI, tests) the scope is the whole service unless a
block says otherwise (:func:`scoped`).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_CODE = re.compile(r"^[1-9][0-9]{1,5}$")


class ScopeDenied(PermissionError):
    """A write that would put or move a feature outside the caller's jurisdiction (→ 403)."""

    def __init__(self, layer: str, jurisdiction: str, admin_code: str | None, message: str | None = None):
        where = f"admin area {admin_code}" if admin_code else "no admin area of the service"
        super().__init__(message or f"layer {layer!r}: the feature lies in {where}, outside jurisdiction "
                         f"{jurisdiction!r}")
        self.layer = layer
        self.jurisdiction = jurisdiction
        self.admin_code = admin_code


def normalise(code: str | None) -> str:
    """A jurisdiction as its significant prefix ('220100' → '2201', '220000' → '22'); '' for the whole service.

    Raises ValueError for anything that is not a GB/T 2260 code or prefix (digits only, 2 to 6 of them)."""
    if code is None:
        return ""
    text = str(code).strip()
    if text in ("", "*"):
        return ""
    if not _CODE.match(text) or len(text) % 2:
        raise ValueError(f"jurisdiction {text!r} is not a GB/T 2260 admin code (2, 4 or 6 digits, e.g. 22, 2201, "
                         "220102)")
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


def covers(jurisdiction: str, admin_code: str | None) -> bool:
    """Whether ``jurisdiction`` (a normalised prefix) includes a feature with ``admin_code``."""
    if not jurisdiction:
        return True
    return admin_code is not None and str(admin_code).startswith(jurisdiction)


@dataclass(frozen=True)
class Identity:
    """The caller: ``subject`` (key id or token subject), role, jurisdiction (normalised), how it was proved."""

    subject: str
    role: str | None
    jurisdiction: str = ""
    via: str = "anonymous"  # anonymous | key | jwt | local


LOCAL = Identity("local", "admin", "", "local")  # the command line and the service's own jobs


@dataclass(frozen=True)
class Scope:
    """What the current code may see and write: a jurisdiction ('' = everything) and who acts."""

    jurisdiction: str
    identity: Identity

    @property
    def unrestricted(self) -> bool:
        return not self.jurisdiction


WHOLE = Scope("", LOCAL)
current: contextvars.ContextVar[Scope] = contextvars.ContextVar("riskmap_scope", default=WHOLE)


def scope() -> Scope:
    return current.get()


def jurisdiction() -> str:
    return current.get().jurisdiction


@contextmanager
def scoped(value: Scope | Identity | str) -> Iterator[Scope]:
    """Run a block under a scope (an Identity's, or a bare jurisdiction acting as LOCAL)."""
    if isinstance(value, Identity):
        value = Scope(value.jurisdiction, value)
    elif isinstance(value, str):
        value = Scope(normalise(value), LOCAL)
    token = current.set(value)
    try:
        yield value
    finally:
        current.reset(token)


@contextmanager
def unrestricted() -> Iterator[Scope]:
    """Run a block over the whole service (shared look-ups the rules allow across borders)."""
    with scoped(Scope("", current.get().identity)) as s:
        yield s
