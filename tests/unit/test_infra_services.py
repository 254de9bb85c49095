"""Configuration of the services in infra/: OPA bundle, MinIO policies, Keycloak realm, proxy."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from hub.auth import Role
from tests.support.infra import INFRA, REPO

# Data documents the hub pushes to OPA (agreed interface): the bundle must not own them.
DATA_ROOTS = ("edh/contracts", "edh/researchers", "edh/projects", "edh/connectors")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _manifest_roots() -> list[str]:
    roots: list[str] = json.loads((INFRA / "opa" / ".manifest").read_text())["roots"]
    return roots


def test_opa_bundle_roots_cover_every_policy_and_leave_data_writable() -> None:
    roots = _manifest_roots()
    packages = set()
    for rego in (REPO / "policies").glob("*.rego"):
        match = re.search(r"^package\s+([\w.]+)", rego.read_text(), flags=re.M)
        assert match, rego.name
        packages.add(match.group(1).replace(".", "/"))
    assert packages
    for package in packages:
        assert any(_under(package, root) for root in roots), f"{package} outside bundle roots"
    for data in DATA_ROOTS:
        assert not any(_under(data, r) or _under(r, data) for r in roots), data


def test_helm_bundle_roots_match_the_compose_manifest() -> None:
    values = yaml.safe_load((INFRA / "helm" / "edh" / "values.yaml").read_text())
    assert values["opa"]["bundleRoots"] == _manifest_roots()


def _policy(name: str, provider: str = "acme-edtech") -> dict[str, Any]:
    text = (INFRA / "minio" / name).read_text().replace("@PROVIDER_ID@", provider)
    policy: dict[str, Any] = json.loads(text)
    return policy


def test_connector_policy_only_writes_under_its_provider_prefix() -> None:
    policy = _policy("policy-connector.json.tmpl")
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == ["s3:PutObject"]
        assert statement["Resource"] == ["arn:aws:s3:::edh-lake/lake/acme-edtech/*"]


def test_sandbox_policy_reads_the_lake_only_never_quarantine() -> None:
    policy = _policy("policy-sandbox.json")
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    assert not any("quarantine" in r or "edh-audit" in r for r in resources)


def test_minio_init_locks_audit_exports_and_versions_the_lake() -> None:
    script = (INFRA / "minio" / "init.sh").read_text()
    assert "mc mb --with-lock edh/edh-audit" in script
    assert "retention set --default COMPLIANCE" in script
    assert "mc version enable edh/edh-lake" in script
    hub = _policy("policy-hub.json")
    audit = [s for s in hub["Statement"] if any("edh-audit" in r for r in s["Resource"])]
    assert audit and not any("s3:DeleteObject" in s["Action"] for s in audit)


def test_only_the_erasure_role_may_delete_object_versions() -> None:
    for name in ("policy-hub.json", "policy-sandbox.json", "policy-connector.json.tmpl"):
        actions = {a for st in _policy(name)["Statement"] for a in st["Action"]}
        assert not {a for a in actions if "Version" in a or a == "s3:*"}, name
    erasure = _policy("policy-erasure.json")
    actions = {a for st in erasure["Statement"] for a in st["Action"]}
    assert "s3:DeleteObjectVersion" in actions and "s3:PutObject" not in actions
    resources = {r for st in erasure["Statement"] for r in st["Resource"]}
    assert not {r for r in resources if "edh-audit" in r}
    assert "policy-erasure.json" in (INFRA / "minio" / "init.sh").read_text()
    compose = (INFRA / "compose.yaml").read_text()
    assert "EDH_STORAGE__ERASURE_ACCESS_KEY: edh-erasure" in compose


def test_keycloak_realm_defines_exactly_the_hub_roles() -> None:
    realm = json.loads((INFRA / "keycloak" / "edh-realm.json").read_text())
    assert {r["name"] for r in realm["roles"]["realm"]} == {str(r) for r in Role}
    assert realm["defaultSignatureAlgorithm"] == "ES256"  # the hub accepts EdDSA and ES256
    assert realm["users"] == []  # no account, hence no default password
    cli = next(c for c in realm["clients"] if c["clientId"] == "edh-cli")
    mappers = {m["protocolMapper"]: m["config"] for m in cli["protocolMappers"]}
    assert mappers["oidc-audience-mapper"]["included.custom.audience"] == "edh-api"
    assert mappers["oidc-usermodel-realm-role-mapper"]["claim.name"] == "roles"


def test_proxy_hides_metrics_and_forwards_to_every_replica() -> None:
    conf = (INFRA / "proxy" / "nginx.conf").read_text()
    assert "location = /metrics { return 404; }" in conf
    assert re.search(r"upstream hub \{[^}]*server hub:8000", conf)
