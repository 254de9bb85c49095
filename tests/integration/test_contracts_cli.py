"""``edh contracts sign|verify|keygen`` on real exported contracts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.canonical import b64url_encode
from contracts.model import document_bytes
from contracts.signing import read_header, sign_detached
from hub.cli import main
from hub.keys import public_jwk
from tests.support.contracts_fixtures import World, public_pem
from tests.support.factories import new_siren


def _export(world: World, tmp_path: Path) -> Path:
    cid = world.finalized()["id"]
    exported = world.client.get(f"/api/v1/contracts/{cid}/export", headers=world.as_lab())
    path = tmp_path / "contract.json"
    path.write_bytes(exported.content)
    return path


def test_verify_accepts_the_signed_file_and_fails_on_a_changed_byte(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _export(world, tmp_path)
    assert main(["contracts", "verify", str(path)]) == 0
    assert "contract OK" in capsys.readouterr().out
    raw = path.read_bytes()
    changed = raw.replace(b'"retention_days":180', b'"retention_days":181')
    assert changed != raw
    path.write_bytes(changed)
    assert main(["contracts", "verify", "--json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["signed_by"] == {}


def test_verify_reports_a_missing_party(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _export(world, tmp_path)
    data = json.loads(path.read_bytes())
    data["signatures"] = [s for s in data["signatures"] if s["party"] != "hub"]
    path.write_text(json.dumps(data))
    assert main(["contracts", "verify", str(path)]) == 1
    assert "missing valid signature of: hub" in capsys.readouterr().out


def test_verify_refuses_garbage_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    assert main(["contracts", "verify", str(path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    path.write_text("[1, 2]")
    assert main(["contracts", "verify", str(path)]) == 1


def test_keygen_and_sign_produce_a_signature_the_api_accepts(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "lab.pem"
    assert main(["contracts", "keygen", str(key_path)]) == 0
    public = json.loads(capsys.readouterr().out)
    world.post(
        "/organisation-keys",
        world.as_lab(),
        {"organisation_id": world.lab_id, "public_key": public["public_key"]},
    )
    assert main(["contracts", "keygen", str(key_path)]) == 2  # never overwrites a key
    capsys.readouterr()
    cid = world.agreed()["id"]
    doc_path = tmp_path / "doc.json"
    doc_path.write_bytes(
        world.client.get(f"/api/v1/contracts/{cid}/document", headers=world.as_lab()).content
    )
    assert main(["contracts", "sign", str(doc_path), "--key", str(key_path), "--party", "lab"]) == 0
    jws = capsys.readouterr().out.strip()
    resp = world.client.post(
        f"/api/v1/contracts/{cid}/signatures", json={"jws": jws}, headers=world.as_lab()
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["signatures"][0]["kid"] == public["kid"]
    assert key_path.stat().st_mode & 0o077 == 0  # private key readable by its owner only


def _trusted_set(world: World, tmp_path: Path, extra_orgs: tuple[str, ...] = ()) -> Path:
    keys = []
    for org_id in (world.provider_id, world.lab_id, *extra_orgs):
        resp = world.client.get(
            "/api/v1/organisation-keys", params={"organisation_id": org_id}, headers=world.as_lab()
        )
        assert resp.status_code == 200, resp.text
        keys += resp.json()["keys"]
    keys.append(world.client.get("/api/v1/contracts/hub-key").json())
    path = tmp_path / "trusted.json"
    path.write_text(json.dumps({"keys": keys}))
    return path


def _resign(path: Path, keys: dict[str, Ed25519PrivateKey], **terms: object) -> None:
    """Rewrite the file as a forger would: new terms, signed and embedded with ``keys``."""
    data = json.loads(path.read_bytes())
    data["document"]["terms"].update(terms)
    payload = document_bytes(data["document"])
    data["signatures"], data["keys"] = [], []
    for party, key in keys.items():
        jwk = public_jwk(key.public_key())
        jws = sign_detached(key, payload, kid=jwk["kid"], party=party)
        data["signatures"].append({"party": party, "kid": jwk["kid"], "jws": jws})
        data["keys"].append(jwk)
    path.write_text(json.dumps(data))


def test_verify_with_trusted_keys_accepts_the_real_file(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _export(world, tmp_path)
    assert (
        main(["contracts", "verify", str(path), "--keys", str(_trusted_set(world, tmp_path))]) == 0
    )
    out = capsys.readouterr().out
    assert "contract OK" in out and "warning" not in out
    assert main(["contracts", "verify", str(path)]) == 0
    assert "pass --keys" in capsys.readouterr().out


def test_file_resigned_by_an_attacker_fails_only_against_trusted_keys(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _export(world, tmp_path)
    trusted = _trusted_set(world, tmp_path)
    attacker = {party: Ed25519PrivateKey.generate() for party in ("provider", "lab", "hub")}
    _resign(path, attacker, retention_days=365)
    assert main(["contracts", "verify", str(path)]) == 0  # consistent embedded keys
    capsys.readouterr()
    assert main(["contracts", "verify", "--json", str(path), "--keys", str(trusted)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["trusted"] is True and report["signed_by"] == {}
    for party in ("provider", "lab", "hub"):
        kid = public_jwk(attacker[party].public_key())["kid"]
        assert f"signature {party}: key {kid} is not in the trusted key set" in report["problems"]


def test_a_trusted_key_cannot_sign_for_another_party(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _export(world, tmp_path)
    trusted = _trusted_set(world, tmp_path)
    lab_key = world.keys["lab"]
    _resign(path, {"provider": lab_key, "lab": lab_key, "hub": lab_key})
    assert main(["contracts", "verify", str(path), "--keys", str(trusted)]) == 1
    out = capsys.readouterr().out
    kid = public_jwk(lab_key.public_key())["kid"]
    assert f"key {kid} is trusted for lab, not for provider" in out
    assert "the lab's organisation is not attested by a trusted hub countersignature" in out
    assert "missing valid signature of: provider, lab, hub" in out


def _verify_json(path: Path, trusted: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    assert main(["contracts", "verify", "--json", str(path), "--keys", str(trusted)]) == 1
    return json.loads(capsys.readouterr().out)


def _replace_signature(path: Path, party: str, key: Ed25519PrivateKey) -> str:
    """Re-sign ``party``'s signature with ``key``, leaving the document and the others."""
    data = json.loads(path.read_bytes())
    kid = public_jwk(key.public_key())["kid"]
    jws = sign_detached(key, document_bytes(data["document"]), kid=kid, party=party)
    for entry in data["signatures"]:
        if entry["party"] == party:
            entry.update(kid=kid, jws=jws)
    path.write_text(json.dumps(data))
    return kid


def test_another_trusted_provider_key_cannot_sign_for_this_contract(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _export(world, tmp_path)
    other = world.post(
        "/organisations", world.as_operator(), {"name": "Autre", "siren": new_siren(),
                                                "kind": "provider"},
    )  # fmt: skip
    key = Ed25519PrivateKey.generate()
    body = {"organisation_id": other["id"], "public_key": public_pem(key)}
    world.post("/organisation-keys", world.as_operator(), body)
    trusted = _trusted_set(world, tmp_path, extra_orgs=(other["id"],))
    kid = _replace_signature(path, "provider", key)
    report = _verify_json(path, trusted, capsys)
    expected = f"key {kid} belongs to {other['id']}, not to the contract's provider"
    assert any(expected in p for p in report["problems"]), report["problems"]
    assert "provider" not in report["signed_by"]


@pytest.mark.parametrize(
    ("bound", "fragment"),
    [
        ({"edh_valid_from": "2099-01-01T00:00:00Z"}, "was not valid when the lab signed"),
        ({"edh_valid_until": "2000-01-01T00:00:00Z"}, "was not valid when the lab signed"),
        ({"edh_org": None}, "is not bound to an organisation"),
        ({"edh_valid_from": None}, "is not bound to an organisation and a validity period"),
    ],
)
def test_a_lab_signature_outside_its_key_binding_fails(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bound: dict[str, Any],
    fragment: str,
) -> None:
    path = _export(world, tmp_path)
    trusted = _trusted_set(world, tmp_path)
    keys = json.loads(trusted.read_text())
    lab_kid = public_jwk(world.keys["lab"].public_key())["kid"]
    for jwk in keys["keys"]:
        if jwk["kid"] == lab_kid:
            jwk.update(bound)
            for name in [k for k, v in bound.items() if v is None]:
                del jwk[name]
    trusted.write_text(json.dumps(keys))
    report = _verify_json(path, trusted, capsys)
    assert any(fragment in p for p in report["problems"]), report["problems"]
    assert set(report["signed_by"]) == {"provider", "hub"}


def test_the_hub_attests_the_parties_and_signing_times(world: World, tmp_path: Path) -> None:
    data = json.loads(_export(world, tmp_path).read_bytes())
    hub = next(s for s in data["signatures"] if s["party"] == "hub")
    header = read_header(hub["jws"])
    assert header["edh_parties"] == {"provider": world.provider_id, "lab": world.lab_id}
    assert all(isinstance(read_header(s["jws"]).get("iat"), int) for s in data["signatures"])


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"keys": []}', "holds no keys"),
        ('[{"kty": "RSA", "kid": "x"}]', "Ed25519 OKP"),
        (
            '[{"kty": "OKP", "crv": "Ed25519", "x": "AA", "kid": "k", "edh_party": "boss"}]',
            "edh_party",
        ),
        ("{nope", "cannot read"),
    ],
)
def test_a_bad_trusted_key_set_is_a_clear_error(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    fragment: str,
) -> None:
    path = _export(world, tmp_path)
    keys = tmp_path / "keys.json"
    keys.write_text(content)
    assert main(["contracts", "verify", str(path), "--keys", str(keys)]) == 2
    assert fragment in capsys.readouterr().err


def _jws_at(world: World, cid: str, party: str, iat: object) -> str:
    """``party``'s signature of the current version with a chosen signing time (``iat``,
    left out when ``None``): what a key holder can forge with its own key."""
    doc = world.client.get(f"/api/v1/contracts/{cid}/document", headers=world.as_lab()).json()
    key = world.keys[party]
    header: dict[str, Any] = {"alg": "EdDSA", "kid": public_jwk(key.public_key())["kid"]}
    header |= {"edh_party": party} | ({} if iat is None else {"iat": iat})
    protected = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    signed = f"{protected}.{b64url_encode(document_bytes(doc))}".encode("ascii")
    return f"{protected}..{b64url_encode(key.sign(signed))}"


@pytest.mark.parametrize(
    ("shift", "fragment"),
    [
        (-3600, "was not valid when the lab signed"),  # before the key was registered
        (3600, "was not valid when the lab signed"),  # in the future
        (None, "has no signing time"),
        (10**20, "has no signing time"),
        (True, "has no signing time"),
    ],
)
def test_the_hub_refuses_a_signature_made_outside_its_key_validity(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], shift: object, fragment: str
) -> None:
    cid = world.agreed()["id"]
    now = int(time.time())
    iat = shift if shift is None or isinstance(shift, bool) or abs(shift) > 10**9 else now + shift
    resp = world.client.post(
        f"/api/v1/contracts/{cid}/signatures",
        json={"jws": _jws_at(world, cid, "lab", iat)},
        headers=world.as_lab(),
    )
    assert resp.status_code == 400, resp.text
    assert fragment in resp.json()["detail"]
    signed = world.client.get(f"/api/v1/contracts/{cid}", headers=world.as_lab()).json()
    assert signed["signatures"] == []
    resp = world.client.post(
        f"/api/v1/contracts/{cid}/signatures",
        json={"jws": _jws_at(world, cid, "lab", now)},
        headers=world.as_lab(),
    )
    assert resp.status_code == 200, resp.text  # the same key, signing now: accepted


def test_offline_verification_reports_an_unreadable_signing_time(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _export(world, tmp_path)
    data = json.loads(path.read_bytes())
    cid = data["document"]["contract_id"]
    for entry in data["signatures"]:
        if entry["party"] == "lab":
            entry["jws"] = _jws_at(world, cid, "lab", 10**20)
    path.write_text(json.dumps(data))
    report = _verify_json(path, _trusted_set(world, tmp_path), capsys)
    assert "signature lab: the lab's signature has no signing time (iat)" in report["problems"]


def test_a_revoked_key_keeps_what_it_signed_and_signs_nothing_after(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed_before = _export(world, tmp_path)
    kid = public_jwk(world.keys["lab"].public_key())["kid"]
    reason = {"reason": "clé du laboratoire compromise"}
    url = f"/api/v1/organisation-keys/{kid}/revoke"
    refused = world.client.post(url, json=reason, headers=world.as_provider())
    assert refused.status_code == 403  # another organisation's member
    revoked = world.client.post(url, json=reason, headers=world.as_lab())
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert world.client.post(url, json=reason, headers=world.as_lab()).status_code == 409
    unknown = world.client.post(
        "/api/v1/organisation-keys/nokey/revoke", json=reason, headers=world.as_operator()
    )
    assert unknown.status_code == 404
    published = world.client.get(
        "/api/v1/organisation-keys",
        params={"organisation_id": world.lab_id},
        headers=world.as_lab(),
    ).json()["keys"]
    assert [k["edh_valid_until"] for k in published if k["kid"] == kid] != []
    # what the key signed before its revocation still verifies against the published set
    trusted = _trusted_set(world, tmp_path)
    assert main(["contracts", "verify", str(signed_before), "--keys", str(trusted)]) == 0
    assert "contract OK" in capsys.readouterr().out
    # a signature by the revoked key now is refused, even dated before the revocation
    cid = world.agreed()["id"]
    for iat in (int(time.time()) + 1, int(time.time()) - 5):
        resp = world.client.post(
            f"/api/v1/contracts/{cid}/signatures",
            json={"jws": _jws_at(world, cid, "lab", iat)},
            headers=world.as_lab(),
        )
        assert resp.status_code == 400, resp.text
        assert "revoked" in resp.json()["detail"] or "was not valid" in resp.json()["detail"]
