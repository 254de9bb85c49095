"""``edh-demo``: the hub on embedded defaults with seed data, and what to open."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from demo.push import announce_demo_push
from hub.config import Settings
from hub.context import HubContext
from hub.contracts.demo import DEMO_PURPOSE, walk_demo_contract
from hub.db import session_scope
from hub.pagination import PageParams
from hub.registry import schemas, service
from hub.trail.writer import SYSTEM


@dataclass
class DemoSeed:
    """Identifiers of the seeded demo objects."""

    provider_id: str
    lab_id: str
    researcher_id: str
    project_id: str
    connector_id: str


def _pem_public(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def seed(ctx: HubContext, data_dir: Path) -> DemoSeed:
    """Create (once) an EdTech provider, a lab, an accredited researcher, a project, a connector."""
    with session_scope(ctx.engine) as session:
        if service.org_by_siren(session, "732829320") is not None:
            return _load_seed(session)
        provider = service.create_org(
            session,
            SYSTEM,
            schemas.OrganisationIn(
                name="ENT Lumière (éditeur)", siren="732829320", kind=schemas.OrgKind.PROVIDER
            ),
        )
        lab = service.create_org(
            session,
            SYSTEM,
            schemas.OrganisationIn(
                name="Laboratoire Apprentissages et Numérique",
                siren="180089013",
                kind=schemas.OrgKind.LAB,
            ),
        )
        today = datetime.now(UTC).date()
        researcher = service.create_researcher(
            session,
            SYSTEM,
            schemas.ResearcherIn(
                subject="claire.martin",
                name="Claire Martin",
                email="claire.martin@lab.example.fr",
                organisation_id=lab.id,
                accreditation=schemas.AccreditationIn(
                    granted_by="Comité du secret statistique",
                    valid_from=today,
                    valid_until=today + timedelta(days=365),
                ),
            ),
        )
        project = service.create_project(
            session,
            SYSTEM,
            schemas.ProjectIn(
                title="Décrochage scolaire et usage de l'ENT",
                purpose=DEMO_PURPOSE,
                lab_id=lab.id,
                members=[researcher.id],
            ),
            None,
        )
        key = Ed25519PrivateKey.generate()
        key_path = data_dir / "connector-demo-ed25519.pem"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        connector = service.create_connector(
            session,
            SYSTEM,
            schemas.ConnectorIn(
                name="Connecteur ENT Lumière",
                organisation_id=provider.id,
                public_key=_pem_public(key),
            ),
        )
        walk_demo_contract(
            session,
            ctx.settings,
            data_dir,
            provider_id=provider.id,
            lab_id=lab.id,
            project_id=project.id,
            researcher_sub=researcher.subject,
            connector_id=connector.id,
        )
        return DemoSeed(provider.id, lab.id, researcher.id, project.id, connector.id)


def _load_seed(session: Session) -> DemoSeed:
    provider = service.org_by_siren(session, "732829320")
    lab = service.org_by_siren(session, "180089013")
    researcher = service.researcher_by_subject(session, "claire.martin")
    assert provider is not None and lab is not None and researcher is not None
    projects = service.projects_of(session, researcher.id)
    connectors, _ = service.connectors(session, PageParams(limit=1, offset=0), provider.id)
    return DemoSeed(provider.id, lab.id, researcher.id, projects[0].id, connectors[0].id)


def demo_settings(data_dir: str, base: str) -> Settings:
    """Embedded defaults in dev mode, all state under ``data_dir``; the hub's public URL
    (where presigned uploads point) is ``base``, the address served, unless
    ``EDH_PUBLIC_URL`` names another (e.g. behind a proxy)."""
    os.environ.setdefault("EDH_DEV_MODE", "true")
    settings = Settings(dev_mode=True, data_dir=Path(data_dir))
    if "EDH_PUBLIC_URL" not in os.environ:
        settings.public_url = base
    return settings


def demo_pages() -> list[tuple[str, str]]:
    """Every page of the hub a person opens: login, home, each web section, health and
    the accessibility statement."""
    from hub.web.navigation import SECTIONS

    sections = [(section.name, section.path) for section in SECTIONS]
    return [
        ("Connexion (collez un jeton)", "/login"),
        ("Accueil", "/"),
        *sections,
        ("État de santé", "/health"),
        ("Déclaration d'accessibilité", "/accessibilite"),
    ]


def print_pages(base: str) -> None:
    """Every page of the demo hub, with its address."""
    print("  pages :")
    for name, path in demo_pages():
        print(f"    {name:<30}: {base}{path}")


def print_tokens(tokens: dict[str, str], ttl_seconds: int) -> None:
    """One token per role, labelled in French, and when they expire (Europe/Paris)."""
    from hub.web.labels import paris_time, role

    expiry = paris_time(datetime.now(UTC) + timedelta(seconds=ttl_seconds))
    lifetime = f"valables {ttl_seconds // 60} min, jusqu'au {expiry}, heure de Paris"
    print(f"  jetons d'accès ({lifetime}) :")
    for code, token in tokens.items():
        print(f"    jeton {role(code):<36}: {token}")
    print("    nouveau jeton : edh token --role dpo --sub dpo (rôles : " + ", ".join(tokens) + ")")


def run_demo(*, host: str, port: int, data_dir: str, serve: bool) -> int:
    """Seed the demo, print tokens and URLs, then serve (unless ``serve`` is false)."""
    from hub.app import build_context, create_app

    base = f"http://{host}:{port}"
    settings = demo_settings(data_dir, base)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ctx = build_context(settings)
    print("Plateforme des données scolaires — démonstration")
    print("  (SQLite, stockage local, moteur OPA et bus d'événements intégrés)")
    print(f"  données           : {settings.data_dir.resolve()}")
    ids = seed(ctx, settings.data_dir)
    announce_demo_push(ctx, settings.data_dir, ids.connector_id)
    tokens = {
        "operator": ctx.issuer.mint("admin", ["operator"], name="Opérateur du hub"),
        "researcher": ctx.issuer.mint(
            "claire.martin", ["researcher"], org=ids.lab_id, name="Claire Martin"
        ),
        "ethics_reviewer": ctx.issuer.mint("comite.1", ["ethics_reviewer"], name="Comité"),
        "dpo": ctx.issuer.mint("dpo", ["dpo"], name="Délégué à la protection des données"),
        "provider": ctx.issuer.mint("ent.lumiere", ["provider"], org=ids.provider_id),
        "output_checker": ctx.issuer.mint(
            "controle.1", ["output_checker"], name="Contrôleur des sorties"
        ),
    }
    print(f"  fournisseur       : {ids.provider_id}")
    print(f"  laboratoire       : {ids.lab_id}")
    print(f"  chercheuse        : {ids.researcher_id} (claire.martin, habilitée)")
    print(f"  projet            : {ids.project_id}")
    print(f"  connecteur        : {ids.connector_id}")
    contract_file = settings.data_dir / "contrat-demo.json"
    print(f"  contrat en vigueur : {contract_file} (vérifier : edh contracts verify <fichier>)")
    print_pages(base)
    print_tokens(tokens, settings.auth.token_ttl_seconds)
    from demo.research import print_demo_query

    print_demo_query(ctx, ids.project_id, "claire.martin")
    print(f"  exemple : curl -H 'Authorization: Bearer <jeton opérateur>' {base}/api/v1/projects")
    if serve:
        import uvicorn

        from hub.logging import configure_logging

        configure_logging(settings.log_level)
        uvicorn.run(create_app(context=ctx), host=host, port=port, log_config=None)
    return 0
