"""Generate docs/configuration.md from the settings classes (so the reference cannot drift).

    .venv/bin/python scripts/gen_config_reference.py          # rewrite docs/configuration.md
    .venv/bin/python scripts/gen_config_reference.py --check  # exit 1 if the file is stale

Every field of ``hub.config.Settings`` (``EDH_``) and ``connector.config.ConnectorSettings``
(``EDH_CONNECTOR_``) is listed, nested models flattened with ``__``. The production value
comes from the field's ``json_schema_extra={"production": "..."}`` when its owner set one,
else from :data:`PRODUCTION` below, else "as default".
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.config import ConnectorSettings  # noqa: E402
from hub.config import Settings  # noqa: E402

OUTPUT = ROOT / "docs" / "configuration.md"
AS_DEFAULT = "as default"

# Production values reviewed for the deployment in infra/ (compose and Helm chart).
PRODUCTION: dict[str, str] = {
    "EDH_DEV_MODE": "`false` (refuses default secrets and generated keys)",
    "EDH_DATA_DIR": "`/var/lib/edh` (set by the image)",
    "EDH_PUBLIC_URL": "`https://<public host>`",
    "EDH_PSEUDONYMISATION_SECRET": "unset: the service keeps the master key in its PKCS#11 "
    "token (`inprocess` custody is refused outside dev mode); the secret file, ≥ 32 random "
    "bytes, is imported once with `edh pseudonym keys import --secret-file`",
    "EDH_HUB_SECRET": "secret file (`FILE__EDH_HUB_SECRET`), ≥ 32 random bytes",
    "EDH_DATABASE__URL": "`postgresql+psycopg://edh:…@postgres:5432/edh` (secret file)",
    "EDH_DATABASE__POOL_SIZE": "`20` per replica (PostgreSQL `max_connections` ≥ "
    "replicas * pool size + 20)",
    "EDH_POLICY__ENGINE": "`server` (the OPA server loaded with `policies/` as a bundle)",
    "EDH_POLICY__SERVER_URL": "`http://opa:8181`",
    "EDH_POLICY__DIRECTORY": "`/opt/edh/policies` (set by the image)",
    "EDH_AUTH__ISSUER": "the OIDC realm: `https://<host>/auth/realms/edh`",
    "EDH_AUTH__SIGNING_KEY_FILE": "`/run/secrets/hub_signing_key` (Ed25519 PEM)",
    "EDH_AUTH__JWKS_URL": "`http://keycloak:8080/auth/realms/edh/protocol/openid-connect/certs`",
    "EDH_AUTH__TOKEN_TTL_SECONDS": "`900`",
    "EDH_AUDIT__KEY_FILE": "`/run/secrets/audit_signing_key` (Ed25519 PEM)",
    "EDH_CONTRACTS__HUB_KEY_FILE": "`/run/secrets/contract_signing_key` (Ed25519 PEM)",
    "EDH_BUS__KIND": "`kafka`",
    "EDH_BUS__BOOTSTRAP_SERVERS": "`kafka:9092` (three brokers at national scale)",
    "EDH_STORAGE__KIND": "`s3`",
    "EDH_STORAGE__ENDPOINT": "`<public host>:9443` (presigned URLs must reach it)",
    "EDH_STORAGE__ACCESS_KEY": "`edh-hub` (MinIO identity, policy `edh-hub`)",
    "EDH_STORAGE__SECRET_KEY": "secret file (`FILE__EDH_STORAGE__SECRET_KEY`)",
    "EDH_STORAGE__SECURE": "`true`",
    "EDH_CONNECTOR_DEV_MODE": "`false`",
    "EDH_CONNECTOR_DATA_DIR": "`/var/lib/edh-connector` (a persistent volume: the spool)",
    "EDH_CONNECTOR_XAPI__HOST": "`0.0.0.0` in a container",
    "EDH_CONNECTOR_XAPI__SECRET": "secret file (`FILE__EDH_CONNECTOR_XAPI__SECRET`)",
    "EDH_CONNECTOR_XAPI__PUBLIC_URL": "`https://<connector host>/xapi/`",
    "EDH_CONNECTOR_XAPI__KEY": "the vendor's own user name for its emitters",
    "EDH_CONNECTOR_HUB__URL": "`https://<public host>:8443`",
    "EDH_CONNECTOR_HUB__CONNECTOR_ID": "the id the operator registered",
    "EDH_CONNECTOR_HUB__KEY_FILE": "`/run/secrets/connector_signing_key` (Ed25519 PEM)",
    "EDH_CONNECTOR_HUB__CONTRACT_ID": "the FINALIZED contract's id",
    "EDH_CONNECTOR_HUB__DATASET_ID": "a dataset of that contract",
}


@dataclass(frozen=True)
class Row:
    """One setting: environment variable, type, default, production value, meaning."""

    env: str
    type: str
    default: str
    production: str
    description: str


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def type_name(annotation: Any) -> str:
    """A short readable name of a field's type (``int``, ``path or empty``, ``kafka | …``)."""
    if annotation is SecretStr:
        return "secret"
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(type_name(a) for a in args) + " or empty"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    """The default as shown to an operator (secrets never printed)."""
    value = field.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        return (
            "development value (refused outside dev mode)" if value.get_secret_value() else "empty"
        )
    if value is None or value == "":
        return "empty"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


def production_text(env: str, field: FieldInfo) -> str:
    """The production value: the field's own ``production`` hint, the table, or as default."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("production"), str):
        return str(extra["production"])
    return PRODUCTION.get(env, AS_DEFAULT)


def rows(model: type[BaseModel], prefix: str) -> Iterator[Row]:
    """Every leaf setting of ``model``, nested models flattened with ``__``."""
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        nested = _nested_model(field.annotation)
        if nested is not None:
            yield from rows(nested, f"{env}__")
            continue
        description = (field.description or "").replace("|", "\\|")
        yield Row(
            env,
            type_name(field.annotation),
            default_text(field),
            production_text(env, field),
            description,
        )


def section(title: str, model: type[BaseModel], prefix: str, source: str) -> list[str]:
    """A Markdown table of ``model``'s settings."""
    lines = [f"## {title}", "", f"Source: `{source}`.", ""]
    lines += ["| variable | type | default | production | meaning |", "|---|---|---|---|---|"]
    for r in rows(model, prefix):
        lines.append(f"| `{r.env}` | {r.type} | {r.default} | {r.production} | {r.description} |")
    return [*lines, ""]


def render() -> str:
    """The whole of docs/configuration.md."""
    head = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/gen_config_reference.py from the settings classes: "
        "do not edit; run the script. -->",
        "",
        "Every setting is an environment variable. Nested settings use `__` "
        "(`EDH_DATABASE__URL`). In the container images, `FILE__<VARIABLE>=<path>` reads a "
        "variable from a secret file (see [infra.md](infra.md)). *Production* is the value "
        'used by the deployment in `infra/`; "as default" means the default suits '
        "production.",
        "",
    ]
    hub = section("Hub (`EDH_`)", Settings, "EDH_", "hub.config.Settings")
    connector = section(
        "Connector (`EDH_CONNECTOR_`)",
        ConnectorSettings,
        "EDH_CONNECTOR_",
        "connector.config.ConnectorSettings",
    )
    return "\n".join(head + hub + connector)


def main(argv: list[str] | None = None) -> int:
    """Write the reference, or with ``--check`` report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(
                f"{OUTPUT.relative_to(ROOT)} is stale: run scripts/gen_config_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
