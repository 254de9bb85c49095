"""Token minting and verification: forged, expired, foreign and confused tokens are refused."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.auth import TokenIssuer, TokenVerifier
from hub.config import AuthSettings
from hub.errors import Unauthorized

SETTINGS = AuthSettings()


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(Ed25519PrivateKey.generate(), SETTINGS)


@pytest.fixture
def verifier(issuer: TokenIssuer) -> TokenVerifier:
    return TokenVerifier(SETTINGS, issuer.jwks())


def _claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": SETTINGS.issuer,
        "aud": SETTINGS.audience,
        "sub": "alice",
        "roles": ["operator"],
        "iat": now,
        "exp": now + 60,
    }
    base.update(over)
    return base


def test_minted_token_round_trips(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    principal = verifier.verify(issuer.mint("alice", ["dpo", "operator"], org="org-1"))
    assert principal.sub == "alice"
    assert principal.roles == {"dpo", "operator"}
    assert principal.org == "org-1"


def test_unknown_role_cannot_be_minted(issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError, match="unknown roles: superuser"):
        issuer.mint("alice", ["superuser"])


def test_expired_token_is_refused(issuer: TokenIssuer) -> None:
    short = AuthSettings(leeway_seconds=0)
    expired = jwt.encode(
        _claims(exp=int(time.time()) - 5),
        issuer._key,
        algorithm="EdDSA",
        headers={"kid": issuer.jwk["kid"]},
    )
    with pytest.raises(Unauthorized, match="expired"):
        TokenVerifier(short, issuer.jwks()).verify(expired)


def test_token_signed_by_another_key_with_same_kid_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    forged = jwt.encode(
        _claims(),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": issuer.jwk["kid"]},
    )
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(forged)


def test_token_from_unknown_key_is_refused(verifier: TokenVerifier) -> None:
    other = TokenIssuer(Ed25519PrivateKey.generate(), SETTINGS)
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier.verify(other.mint("mallory", ["operator"]))


@pytest.mark.parametrize(
    ("claim", "value"), [("aud", "another-api"), ("iss", "urn:evil"), ("sub", None)]
)
def test_wrong_audience_issuer_or_missing_subject_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier, claim: str, value: object
) -> None:
    claims = _claims(**{claim: value})
    if value is None:
        del claims[claim]
    token = jwt.encode(claims, issuer._key, algorithm="EdDSA", headers={"kid": issuer.jwk["kid"]})
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_alg_none_and_hmac_confusion_are_refused(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none", headers={"kid": issuer.jwk["kid"]})
    with pytest.raises(Unauthorized):
        verifier.verify(unsigned)
    hmac = jwt.encode(
        _claims(), issuer.jwk["x"], algorithm="HS256", headers={"kid": issuer.jwk["kid"]}
    )
    with pytest.raises(Unauthorized):
        verifier.verify(hmac)


def test_es256_tokens_from_an_oidc_style_jwks_are_accepted() -> None:
    key = generate_private_key(SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid="idp-1", alg="ES256", use="sig")
    claims = _claims(realm_access={"roles": ["researcher", "offline_access"]})
    del claims["roles"]
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "idp-1"})
    principal = TokenVerifier(SETTINGS, {"keys": [jwk]}).verify(token)
    assert principal.roles == {"researcher"}


def test_garbage_is_refused(verifier: TokenVerifier) -> None:
    for junk in ("", "abc", "a.b.c", "e30.e30.e30"):
        with pytest.raises(Unauthorized):
            verifier.verify(junk)
