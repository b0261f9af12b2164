"""Identities (issue 20): hashed API keys with a jurisdiction, JWT bearer tokens verified against a JWKS
(forged, expired, wrongly signed, alg=none and HMAC-with-the-public-key tokens refused with 401)."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from gis_service.access import Identity, normalise
from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.identities import IdentityError, KeyEntry, Verifier, append_key, key_hash, read_keys_file


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    good, evil = _rsa(), _rsa()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(good.public_key()))
    jwks = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    return good, evil, jwks


def _token(key, claims=None, kid="k1", alg="RS256", **extra) -> str:
    body = {"sub": "zhang.san", "role": "editor", "admin_code": "220102", "iss": "https://idp.example/realms/jl",
            "exp": int(time.time()) + 300, **(claims or {})}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid}, **extra)


def _settings(jwks, **kw) -> Settings:
    return Settings(jwt_jwks=str(jwks), jwt_issuer="https://idp.example/realms/jl", **kw)


def test_normalise_jurisdictions():
    assert normalise("220100") == "2201" and normalise("220000") == "22" and normalise("220102") == "220102"
    assert normalise("") == "" and normalise(None) == ""
    for bad in ("2", "abc", "0102", "2201x", "22010203"):
        with pytest.raises(ValueError):
            normalise(bad)


def test_keys_file_is_hashed_and_carries_the_jurisdiction(tmp_path):
    path = tmp_path / "keys.yaml"
    append_key(path, KeyEntry("nanguan", key_hash("s3cret-key"), "editor", "220102"))
    assert "s3cret-key" not in path.read_text()
    assert read_keys_file(path)[0].jurisdiction == "220102"
    v = Verifier(Settings(keys_file=path, api_keys="dev:viewer:2201"))
    assert v.identify("s3cret-key") == Identity("nanguan", "editor", "220102", "key")
    assert v.identify("dev").jurisdiction == "2201"
    with pytest.raises(IdentityError):
        v.identify("s3cret-key ")
    with pytest.raises(ValueError):
        append_key(path, KeyEntry("nanguan", key_hash("other"), "editor", "22"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("keys:\n  - {id: x, sha256: abc, role: editor}\n")
    with pytest.raises(ValueError, match="sha256"):
        Verifier(Settings(keys_file=bad))


def test_jwt_good_token(keys):
    good, _, jwks = keys
    ident = Verifier(_settings(jwks)).identify(_token(good))
    assert ident == Identity("jwt:zhang.san", "editor", "220102", "jwt")
    keycloak = _token(good, {"role": None, "realm_access": {"roles": ["offline_access", "viewer", "editor"]},
                             "admin_code": "220100"})
    ident = Verifier(_settings(jwks, jwt_role_claim="realm_access.roles")).identify(keycloak)
    assert ident.role == "editor" and ident.jurisdiction == "2201"


@pytest.mark.parametrize("attack", ["expired", "wrong_key", "forged_payload", "alg_none", "hmac_public",
                                    "unknown_kid", "wrong_issuer", "no_exp", "no_jurisdiction", "bad_jurisdiction"])
def test_jwt_attacks_are_refused(keys, attack):
    good, evil, jwks = keys
    v = Verifier(_settings(jwks))
    if attack == "expired":
        token = _token(good, {"exp": int(time.time()) - 3600})
    elif attack == "wrong_key":
        token = _token(evil)
    elif attack == "forged_payload":  # a valid token whose payload is swapped for a province-wide one
        head, _, sig = _token(good).split(".")
        forged = jwt.utils.base64url_encode(json.dumps({"sub": "x", "role": "admin", "admin_code": "22",
                                                        "exp": int(time.time()) + 300}).encode()).decode()
        token = f"{head}.{forged}.{sig}"
    elif attack == "alg_none":
        token = _token(None, alg="none")
    elif attack == "hmac_public":  # HS256 signed with the public key's PEM as the secret
        from cryptography.hazmat.primitives import serialization

        pem = good.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        head = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
        body = jwt.utils.base64url_encode(json.dumps({"sub": "x", "role": "admin", "admin_code": "22",
                                                      "exp": int(time.time()) + 300}).encode())
        import hashlib
        import hmac

        sig = jwt.utils.base64url_encode(hmac.new(pem, head + b"." + body, hashlib.sha256).digest())
        token = (head + b"." + body + b"." + sig).decode()
    elif attack == "unknown_kid":
        token = _token(good, kid="k9")
    elif attack == "wrong_issuer":
        token = _token(good, {"iss": "https://evil.example"})
    elif attack == "no_exp":
        token = jwt.encode({"sub": "x", "role": "editor", "admin_code": "220102",
                            "iss": "https://idp.example/realms/jl"}, good, algorithm="RS256", headers={"kid": "k1"})
    elif attack == "no_jurisdiction":
        token = _token(good, {"admin_code": None})
    else:
        token = _token(good, {"admin_code": "22' OR 1=1"})
    with pytest.raises(IdentityError):
        v.identify(token)


def test_api_answers_401_for_bad_tokens_and_scopes_good_ones(keys, embedded_store):
    good, evil, jwks = keys
    client = TestClient(create_app(_settings(jwks, read_requires_key=True), store=embedded_store))
    r = client.get("/collections/hazard_sources/items", headers={"Authorization": f"Bearer {_token(evil)}"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "features" not in r.text
    expired = _token(good, {"exp": int(time.time()) - 3600})
    assert client.get("/collections/hazard_sources/items",
                      headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    r = client.get("/collections/hazard_sources/items", headers={"Authorization": f"Bearer {_token(good)}"})
    assert r.status_code == 200
    assert all(f["properties"]["admin_code"] == "220102" for f in r.json()["features"])
    with pytest.raises(ValueError):
        Settings(jwt_algorithms="HS256")
