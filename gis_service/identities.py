"""Proving who calls: API keys (hashed at rest) and JWT bearer tokens verified against a JWKS.

**API keys.** ``GIS_KEYS_FILE`` names a YAML file of keys, each stored only as its SHA-256 (an API key is a
long random string, so a fast hash is enough — it is not a password)::

    keys:
      - {id: changchun-editor, sha256: 5e88…, role: editor, jurisdiction: "2201"}

``gis-service keys add --role editor --jurisdiction 2201 --id changchun-editor`` makes a key, prints it once
and appends its hash. The older ``GIS_API_KEYS="secret:role[:jurisdiction],…"`` still works (plain text in
the environment, for development); a key without a jurisdiction has the whole service's.

**Bearer tokens.** With ``GIS_JWT_JWKS`` set (a JWKS file, or an http(s) URL such as Keycloak's
``…/realms/<realm>/protocol/openid-connect/certs``) an ``Authorization: Bearer`` value shaped like a JWT is
verified with PyJWT: signature by the key the token's ``kid`` names, algorithm from GIS_JWT_ALGORITHMS (never
``none`` or a shared-secret HMAC), ``exp`` required, ``iss``/``aud`` checked when configured. The subject is
``sub``; the role comes from GIS_JWT_ROLE_CLAIM (a string, or a list such as Keycloak's
``realm_access.roles`` — the strongest known role wins) and the jurisdiction from GIS_JWT_JURISDICTION_CLAIM.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .access import Identity, normalise
from .config import ROLES, Settings


class IdentityError(Exception):
    """Credentials that prove nothing (unknown key, bad or expired token): → 401."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "rk_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KeyEntry:
    id: str
    sha256: str
    role: str
    jurisdiction: str = ""

    def identity(self) -> Identity:
        return Identity(self.id, self.role, self.jurisdiction, "key")


def _entry(raw: Any, source: str) -> KeyEntry:
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: each key must be a mapping with id, sha256, role and jurisdiction")
    digest = str(raw.get("sha256", "")).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{source}: key {raw.get('id')!r}: sha256 must be 64 hex digits")
    role = str(raw.get("role", ""))
    if role not in ROLES:
        raise ValueError(f"{source}: key {raw.get('id')!r}: unknown role {role!r}; roles: {', '.join(ROLES)}")
    try:
        jurisdiction = normalise(raw.get("jurisdiction"))
    except ValueError as exc:
        raise ValueError(f"{source}: key {raw.get('id')!r}: {exc}") from None
    return KeyEntry(str(raw.get("id") or digest[:8]), digest, role, jurisdiction)


def read_keys_file(path: Path) -> list[KeyEntry]:
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(keys, list):
        raise ValueError(f"{path}: expected a mapping with a list 'keys'")
    return [_entry(k, str(path)) for k in keys]


def append_key(path: Path, entry: KeyEntry) -> None:
    entries = read_keys_file(path)
    if any(e.id == entry.id for e in entries):
        raise ValueError(f"{path}: a key with id {entry.id!r} exists already")
    entries.append(entry)
    doc = {"keys": [{"id": e.id, "sha256": e.sha256, "role": e.role, "jurisdiction": e.jurisdiction}
                    for e in entries]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(path)


class Verifier:
    """Turns presented credentials into an :class:`Identity` (built once per process from the settings)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        entries = [KeyEntry(f"env:{key_hash(k)[:8]}", key_hash(k), role, jur)
                   for k, (role, jur) in settings.key_grants().items()]
        if settings.keys_file is not None:
            entries += read_keys_file(settings.keys_file)
        self._keys = {e.sha256: e for e in entries}
        self._jwks: Any = None
        self._lock = threading.Lock()

    @property
    def has_credentials(self) -> bool:
        return bool(self._keys) or bool(self.settings.jwt_jwks)

    def identify(self, credential: str) -> Identity:
        if self.settings.jwt_jwks and _looks_like_jwt(credential):
            return self._token(credential)
        entry = self._keys.get(key_hash(credential))
        if entry is None:
            raise IdentityError("unknown API key")
        return entry.identity()

    # -- JWT ------------------------------------------------------------------------------------------
    def _signing_key(self, token: str) -> Any:
        import jwt

        source = self.settings.jwt_jwks
        if source.startswith(("http://", "https://")):
            with self._lock:
                if self._jwks is None:
                    self._jwks = jwt.PyJWKClient(source, cache_keys=True, lifespan=300, timeout=5)
            try:
                return self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise IdentityError(f"bearer token: no signing key ({exc})") from None
        with self._lock:
            if self._jwks is None:
                self._jwks = jwt.PyJWKSet.from_json(Path(source).read_text(encoding="utf-8"))
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [k for k in self._jwks.keys if kid is None or k.key_id == kid]
        if len(keys) != 1:
            raise IdentityError("bearer token: its key id names no key of the configured JWKS")
        return keys[0].key

    def _token(self, token: str) -> Identity:
        import jwt

        s = self.settings
        try:
            key = self._signing_key(token)
            claims = jwt.decode(token, key, algorithms=s.jwt_algorithm_list(), audience=s.jwt_audience or None,
                                issuer=s.jwt_issuer or None, leeway=s.jwt_leeway_s,
                                options={"require": ["exp", "sub"], "verify_aud": bool(s.jwt_audience)})
        except IdentityError:
            raise
        except jwt.ExpiredSignatureError:
            raise IdentityError("bearer token expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
            raise IdentityError(f"bearer token refused: {exc}") from None
        role = _strongest(_claim(claims, s.jwt_role_claim))
        try:
            jurisdiction = normalise(_claim(claims, s.jwt_jurisdiction_claim))
        except (ValueError, TypeError):
            raise IdentityError(f"bearer token: claim {s.jwt_jurisdiction_claim!r} is not an admin code") from None
        if not jurisdiction and not s.jwt_allow_whole:
            raise IdentityError(f"bearer token: no jurisdiction (claim {s.jwt_jurisdiction_claim!r})")
        return Identity(f"jwt:{claims['sub']}", role, jurisdiction, "jwt")


def _looks_like_jwt(text: str) -> bool:
    return text.count(".") == 2 and text.startswith("eyJ")


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _strongest(value: Any) -> str | None:
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    known = [n for n in names if isinstance(n, str) and n in ROLES]
    return max(known, key=ROLES.index) if known else None
