"""The KeyCustody port's suite, run against the in-process adapter and a real SoftHSM2
token (PKCS#11): MACs equal the HMAC-SHA256 oracle, versions are kept apart, the token's
keys cannot be read back, and the hub computes the same contract keys through either."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import Settings
from hub.pseudonym.custody import InProcessCustody, KeyCustody, Pkcs11Custody, open_pkcs11
from hub.pseudonym.service import contract_key, register_digest
from hub.settings.pseudonym import PseudonymSettings
from tests.support.contract_ref import ContractRef

LIBRARY = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "4321"
SECRET = b"a master secret migrated into the token, 32+ bytes"


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SoftHSM2 token (its own configuration and directory); returns its label."""
    if not Path(LIBRARY).exists():
        pytest.fail("SoftHSM2 is missing: run scripts/test-services.sh")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read when the module is first initialised
    label = "edh-test"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN,
         "--so-pin", "8765"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return label


@pytest.fixture(params=["inprocess", "softhsm2"])
def custody(request: pytest.FixtureRequest) -> Iterator[KeyCustody]:
    if request.param == "inprocess":
        yield InProcessCustody("v1")
        return
    label = request.getfixturevalue("softhsm_token")
    token = Pkcs11Custody(LIBRARY, label, PIN, "v1")
    for version in token.versions():  # one token per session: start each test empty
        token._session.get_key(label="edh-pseudonym-" + version).destroy()
    token._cache.clear()
    yield token
    token.close()


def test_macs_equal_the_hmac_oracle_per_version(custody: KeyCustody) -> None:
    custody.import_secret("v1", SECRET)
    custody.create("v2")
    message = b"edh-pseudonym-v1|contract-1"
    assert custody.mac(message) == hmac.new(SECRET, message, hashlib.sha256).digest()
    assert custody.mac(message, "v1") == custody.mac(message)
    assert custody.mac(message, "v2") != custody.mac(message, "v1")
    assert len(custody.mac(message, "v2")) == 32
    assert custody.versions() == ["v1", "v2"]
    custody.current = "v2"
    assert custody.mac(message) == custody.mac(message, "v2")


def test_unknown_and_duplicate_versions_are_refused(custody: KeyCustody) -> None:
    custody.create("v1")
    with pytest.raises(KeyError):
        custody.mac(b"x", "v9")
    with pytest.raises(ValueError, match="exists"):
        custody.create("v1")
    with pytest.raises(ValueError, match="exists"):
        custody.import_secret("v1", SECRET)


def test_token_keys_cannot_be_read_back(softhsm_token: str, tmp_path: Path) -> None:
    import pkcs11

    token = Pkcs11Custody(LIBRARY, softhsm_token, PIN, "v1")
    try:
        if "v7" not in token.versions():
            token.import_secret("v7", SECRET)
        key = token._session.get_key(label="edh-pseudonym-v7")
        assert key[pkcs11.Attribute.SENSITIVE] and not key[pkcs11.Attribute.EXTRACTABLE]
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            key[pkcs11.Attribute.VALUE]
    finally:
        token.close()
    tokens = Path(os.environ["SOFTHSM2_CONF"]).parent / "tokens"
    stored = b"".join(p.read_bytes() for p in tokens.rglob("*") if p.is_file())
    assert stored and SECRET not in stored  # encrypted under the PIN, never in clear


def test_hub_derives_the_same_keys_from_the_token(softhsm_token: str) -> None:
    inprocess = Settings(pseudonymisation_secret=SECRET.decode())  # type: ignore[arg-type]
    token = open_pkcs11(LIBRARY, softhsm_token, PIN, "v1")
    for version in token.versions():  # the port suite's keys: start from an empty token
        token._session.get_key(label="edh-pseudonym-" + version).destroy()
    token._cache.clear()
    token.import_secret("v1", SECRET)  # the migration of an existing master secret
    token.import_secret("v3", SECRET[::-1])  # a later version, for new contracts
    in_token = Settings(
        pseudonymisation_secret="unused-by-the-hub-now",  # type: ignore[arg-type]
        pseudonym=PseudonymSettings(
            custody="pkcs11",
            token_label=softhsm_token,
            pin=PIN,
            key_version="v3",  # new contracts; existing ones keep v1
        ),
    )
    one = ContractRef("c-1")
    assert contract_key(in_token, one) == contract_key(inprocess, one)
    identifier = "account:https://ent.example.fr|eleve-1"
    assert register_digest(in_token, identifier) == register_digest(inprocess, identifier)
    assert contract_key(in_token, one) != contract_key(in_token, ContractRef("c-2"))
    oracle = hmac.new(SECRET[::-1], b"edh-pseudonym-v3|c-1", hashlib.sha256).digest()
    assert contract_key(in_token, ContractRef("c-1", "v3")) == oracle


def test_operator_imports_and_creates_key_versions_with_the_cli(
    softhsm_token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from hub.cli import main

    monkeypatch.setenv("EDH_PSEUDONYM__CUSTODY", "pkcs11")
    monkeypatch.setenv("EDH_PSEUDONYM__TOKEN_LABEL", softhsm_token)
    monkeypatch.setenv("EDH_PSEUDONYM__PIN", PIN)
    monkeypatch.setenv("EDH_PSEUDONYM__KEY_VERSION", "v5")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET + b"\n")
    capsys.readouterr()
    assert main(["pseudonym", "keys", "import", "v5", "--secret-file", str(secret_file)]) == 0
    assert main(["pseudonym", "keys", "create", "v6"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"v5", "v6"} <= set(listed[-1]["versions"]) and listed[-1]["current"] == "v5"
    assert SECRET.decode() not in json.dumps(listed)
    oracle = hmac.new(SECRET, b"edh-pseudonym-v5|c-9", hashlib.sha256).digest()
    assert contract_key(Settings(), ContractRef("c-9", "v5")) == oracle


@pytest.mark.parametrize(
    "weak",
    [b"", b"change-me", b"a" * 64, b"dev-only-pseudonymisation-secret-change-me"],
    ids=["empty", "short", "repeated", "dev-default"],
)
def test_a_weak_master_secret_is_not_imported_outside_dev_mode(
    softhsm_token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    weak: bytes,
) -> None:
    from hub.cli import main

    monkeypatch.setenv("EDH_DEV_MODE", "false")
    monkeypatch.setenv("EDH_PSEUDONYM__CUSTODY", "pkcs11")
    monkeypatch.setenv("EDH_PSEUDONYM__TOKEN_LABEL", softhsm_token)
    monkeypatch.setenv("EDH_PSEUDONYM__PIN", PIN)
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(weak)
    capsys.readouterr()
    assert main(["pseudonym", "keys", "import", "v8", "--secret-file", str(secret_file)]) == 2
    err = capsys.readouterr().err
    assert "the master secret of --secret-file is" in err
    assert not weak or weak.decode() not in err
    assert "v8" not in open_pkcs11(LIBRARY, softhsm_token, PIN, "v1").versions()
