"""The caller of each request: credentials → :class:`gis_service.access.Identity` → the scope in force.

:class:`ScopeMiddleware` (innermost middleware) reads ``X-API-Key`` or ``Authorization: Bearer`` once per
request, proves it (:class:`gis_service.identities.Verifier`: hashed API keys, JWTs against a JWKS) and sets
:data:`gis_service.access.current` for everything the request runs — routes, facades and both stores — so a
route that forgets to ask still reads only what the caller may see. Credentials that prove nothing are
remembered as the error; the dependencies in :mod:`.deps` turn it into 401 (a route without a key
requirement runs with the anonymous scope). Anonymous callers get ``GIS_PUBLIC_JURISDICTION``.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import access
from ..access import Identity
from ..identities import IdentityError

NOTHING = "00"  # a jurisdiction no admin code starts with: anonymous callers see no regulated feature
STATE_KEY = "riskmap_identity"


def credential(conn: HTTPConnection) -> str | None:
    key = conn.headers.get("x-api-key")
    auth = conn.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    return key or None


def anonymous_scope(public_jurisdiction: str) -> access.Scope:
    jurisdiction = NOTHING if public_jurisdiction == "none" else public_jurisdiction
    return access.Scope(jurisdiction, Identity("anonymous", None, jurisdiction, "anonymous"))


def resolve(conn: HTTPConnection) -> Identity | IdentityError | None:
    """The caller's identity, the reason its credentials were refused, or None without credentials."""
    state = conn.scope.setdefault("state", {})
    if STATE_KEY in state:
        return state[STATE_KEY]
    cred = credential(conn)
    found: Identity | IdentityError | None = None
    if cred is not None:
        try:
            found = conn.app.state.services.identities.identify(cred)
        except IdentityError as exc:
            found = exc
    state[STATE_KEY] = found
    return found


class ScopeMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        conn = HTTPConnection(scope)
        found = resolve(conn)
        if isinstance(found, Identity):
            value = access.Scope(found.jurisdiction, found)
        else:
            value = anonymous_scope(conn.app.state.settings.public_jurisdiction)
        token = access.current.set(value)
        try:
            await self.app(scope, receive, send)
        finally:
            access.current.reset(token)
