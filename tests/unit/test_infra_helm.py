"""The Helm chart (infra/helm/edh), linted and rendered by Helm's own Go SDK."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.support.infra import INFRA

CHART = INFRA / "helm" / "edh"
PRODUCTION = yaml.safe_load((CHART / "values-production.example.yaml").read_text())


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object the chart renders with ``values`` (as an install would)."""
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name="edh", namespace="edh", is_install=True)
    objects: list[dict[str, Any]] = []
    for text in manifests.values():
        objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def with_values(**changes: Any) -> dict[str, Any]:
    values = copy.deepcopy(PRODUCTION)
    for dotted, value in changes.items():
        node = values
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return values


def containers(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        for c in spec.get("containers", []):
            yield obj["metadata"]["name"], c


def by_kind(objects: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"{kind} *{suffix}: {len(found)} found"
    return found[0]


def test_chart_lints_clean_with_production_values() -> None:
    report = helm.lint(str(CHART), values=PRODUCTION, strict=True)
    assert report["errors"] == []
    assert all(m["severity"] <= 1 for m in report["messages"]), report["messages"]


def test_missing_required_value_is_refused() -> None:
    values = copy.deepcopy(PRODUCTION)
    del values["database"]
    with pytest.raises(helm.HelmError, match=r"database\.existingSecret is required"):
        render(values)


def test_hub_replicas_follow_values_or_the_autoscaler() -> None:
    fixed = render(with_values(hub__replicas=5, hub__autoscaling={"enabled": False}))
    assert by_kind(fixed, "Deployment", "-hub")["spec"]["replicas"] == 5
    assert not [o for o in fixed if o["kind"] == "HorizontalPodAutoscaler"]
    scaled = render(PRODUCTION)
    hpa = by_kind(scaled, "HorizontalPodAutoscaler", "-hub")
    assert hpa["spec"]["minReplicas"] == 4 and hpa["spec"]["maxReplicas"] == 24


def test_sandbox_is_a_separate_deployment_with_resource_limits() -> None:
    objects = render(with_values(sandbox__replicas=6))
    sandbox = by_kind(objects, "Deployment", "-sandbox")
    assert sandbox["spec"]["replicas"] == 6
    (container,) = sandbox["spec"]["template"]["spec"]["containers"]
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    ingress = by_kind(objects, "Ingress", "edh")
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert paths["/api/v1/sandbox"] == sandbox["metadata"]["name"]
    with pytest.raises(helm.HelmError, match=r"limits\.memory is required"):
        render(with_values(sandbox__resources={"limits": {"cpu": "1", "memory": None}}))


def test_kafka_minio_and_postgres_are_external_services() -> None:
    objects = render(PRODUCTION)
    kinds = {o["kind"] for o in objects}
    assert "StatefulSet" not in kinds and "Secret" not in kinds
    hub = dict(containers([by_kind(objects, "Deployment", "-hub")]))
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in next(iter(hub.values()))["env"]}
    assert env["EDH_BUS__BOOTSTRAP_SERVERS"] == PRODUCTION["kafka"]["bootstrapServers"]
    assert env["EDH_STORAGE__ENDPOINT"] == PRODUCTION["objectStore"]["endpoint"]
    assert env["EDH_DATABASE__URL"] == {"secretKeyRef": {"name": "edh-database", "key": "url"}}


def test_every_container_runs_unprivileged() -> None:
    objects = render(PRODUCTION)
    seen = 0
    for name, container in containers(objects):
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False and ctx["readOnlyRootFilesystem"], name
        assert ctx["capabilities"]["drop"] == ["ALL"], name
        seen += 1
    assert seen >= 4
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec")
        if pod is not None:
            assert pod["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]


def test_migrations_run_as_a_hook_before_the_new_pods() -> None:
    job = by_kind(render(PRODUCTION), "Job", "-migrate-1")
    assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["edh", "db", "upgrade"]


def _erasure_settings(names: set[str]) -> set[str]:
    """The erasure identity's settings among environment names (``FILE__`` read from a
    file: the same setting)."""
    return {n.removeprefix("FILE__") for n in names if "ERASURE" in n}


def test_the_hub_holds_the_erasure_identity_as_in_compose_and_the_sandbox_does_not() -> None:
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    wanted = _erasure_settings(set(compose["services"]["hub"]["environment"]))
    assert wanted == {"EDH_STORAGE__ERASURE_ACCESS_KEY", "EDH_STORAGE__ERASURE_SECRET_KEY"}
    objects = render(PRODUCTION)
    for name, container in containers(objects):
        env = {e["name"]: e for e in container.get("env", [])}
        held = _erasure_settings(set(env))
        if name.endswith("-hub"):
            assert held == wanted
            refs = {env[n]["valueFrom"]["secretKeyRef"]["name"] for n in held}
            assert refs == {"edh-s3-erasure"}
        else:
            assert not held, name
    with pytest.raises(helm.HelmError, match="erasureCredentialsSecret"):
        render(with_values(objectStore__erasureCredentialsSecret=""))


def test_only_the_pseudonymisation_service_holds_the_master_keys() -> None:
    objects = render(PRODUCTION)
    service = by_kind(objects, "Deployment", "-pseudonym")
    (container,) = service["spec"]["template"]["spec"]["containers"]
    assert container["args"][:3] == ["edh", "pseudonym", "serve"]
    env = {e["name"]: e for e in container["env"]}
    assert env["EDH_PSEUDONYM__CUSTODY"]["value"] == "pkcs11"
    assert env["EDH_PSEUDONYM__PIN"]["valueFrom"]["secretKeyRef"]["name"] == "edh-pseudonym"
    claims = [
        v for v in service["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v
    ]
    assert [c["persistentVolumeClaim"]["claimName"] for c in claims] == ["edh-pseudonym-token"]
    by_kind(objects, "Service", "-pseudonym")
    for name, other in containers(objects):
        if name.endswith("-pseudonym"):
            continue
        names = {e["name"] for e in other.get("env", [])}
        assert "EDH_PSEUDONYMISATION_SECRET" not in names and "EDH_PSEUDONYM__PIN" not in names
        if "EDH_PSEUDONYM__CUSTODY" in names:
            custody = next(e for e in other["env"] if e["name"] == "EDH_PSEUDONYM__CUSTODY")
            assert custody["value"] == "remote", name
    policy = by_kind(objects, "NetworkPolicy", "-pseudonym")
    assert (
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "pseudonym"
    )
