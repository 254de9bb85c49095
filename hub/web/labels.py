"""What a person reads on the pages, in French: states, roles, audit actions, policy
reasons and dates (Europe/Paris). Codes stay in English in the API, logs and database;
the templates turn them into words with the filters registered in ``hub.web.templating``.
An unknown code is shown as is rather than hidden (a label is missing, not the fact)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

CONTRACT_STATES = {
    "REQUESTED": "demandé",
    "OFFERED": "proposé",
    "ACCEPTED": "accepté, en attente de l'avis du comité",
    "AGREED": "approuvé par le comité",
    "VERIFIED": "vérifié",
    "FINALIZED": "en vigueur",
    "TERMINATED": "résilié",
}
ROLES = {
    "operator": "opérateur de la plateforme",
    "provider": "fournisseur EdTech",
    "connector": "connecteur",
    "researcher": "chercheur",
    "ethics_reviewer": "membre du comité d'éthique",
    "dpo": "délégué à la protection des données",
    "output_checker": "contrôleur des sorties",
}
ACTIONS = {
    "access.denied": "accès refusé (rôle)",
    "audit.alert": "alerte du journal d'audit",
    "audit.change_refused": "modification du journal refusée",
    "audit.purged": "purge du journal (durée de conservation)",
    "audit.pupil_use.purged": "purge des traces d'usage des élèves (durée de conservation)",
    "connector.registered": "connecteur enregistré",
    "connector.revoked": "connecteur révoqué",
    "contract.access_denied": "accès au contrat refusé",
    "contract.requested": "contrat demandé",
    "contract.resumed": "contrat rétabli",
    "contract.review_decided": "avis du comité enregistré",
    "contract.signed": "contrat signé",
    "contract.suspended": "contrat suspendu",
    "contract.version_created": "nouvelle version du contrat",
    "dataset.created": "jeu de données publié au catalogue",
    "ingest.batch.quarantined": "lot mis en quarantaine",
    "ingest.batch.registered": "lot de traces enregistré",
    "ingest.batch.stale-key": "lot refusé (ancienne clé de pseudonymisation)",
    "ingest.erasure": "effacement de traces",
    "ingest.presign": "autorisation de dépôt d'un lot",
    "ingest.retention.purged": "purge des traces (durée de conservation)",
    "organisation.created": "organisation créée",
    "organisation.deleted": "organisation supprimée",
    "organisation.key_registered": "clé d'organisation enregistrée",
    "organisation.updated": "organisation modifiée",
    "project.created": "projet créé",
    "project.member_added": "membre ajouté au projet",
    "project.member_removed": "membre retiré du projet",
    "pseudonym.key": "clé de pseudonymisation délivrée",
    "pseudonym.repseudonymisation": "données repseudonymisées (rotation de clé)",
    "pseudonym.rotation.keys": "clés de rotation délivrées au connecteur",
    "researcher.accredited": "chercheur habilité",
    "researcher.revoked": "habilitation retirée",
    "sandbox.query.cancel": "requête annulée",
    "sandbox.query.failed": "requête échouée",
    "sandbox.query.release": "résultat communiqué",
    "sandbox.query.resume": "requête reprise",
    "sandbox.query.submit": "requête soumise",
    "sandbox.output.hold": "résultat retenu pour le contrôle des sorties",
    "sandbox.output.approve": "résultat approuvé par un contrôleur",
    "sandbox.output.reject": "résultat rejeté par un contrôleur",
    "sandbox.output.release": "résultat diffusé après contrôle",
}
# Contract transitions are recorded as ``contract.<target state>`` (hub.contracts.service).
ACTIONS.update(
    {f"contract.{state.lower()}": f"contrat {label}" for state, label in CONTRACT_STATES.items()}
)
RESOURCE_TYPES = {
    "alert": "alerte",
    "audit_log": "journal d'audit",
    "batch": "lot de traces",
    "connector": "connecteur",
    "contract": "contrat",
    "dataset": "jeu de données",
    "endpoint": "point d'accès",
    "organisation": "organisation",
    "project": "projet",
    "pupil": "élève",
    "query_job": "requête",
    "researcher": "chercheur",
}
POLICY_DECISIONS = {
    "edh/admin/registry": "administration du registre",
    "edh/audit/read": "lecture du journal d'audit",
    "edh/contracts/review": "examen d'un contrat",
    "edh/contracts/sign": "signature d'un contrat",
    "edh/contracts/transition": "changement d'état d'un contrat",
    "edh/ingest/upload": "dépôt d'un lot de traces",
    "edh/sandbox/query": "exécution d'une requête",
    "edh/sandbox/release": "communication d'un résultat",
    "edh/sandbox/review": "contrôle d'un résultat retenu",
}
# Reasons the Rego policies give (policies/*.rego), as a person reads them; each group is
# itself translated when it is a state or a role code.
REASONS = [
    (rf"^{a}$", b)
    for a, b in (
        (
            r'role "?(\w+)"? may not do this \(allowed: (.+)\)',
            "le rôle {0} ne permet pas cette action (autorisés : {1})",
        ),
        (
            r"researcher (\S+) is not a member of project (\S+)",
            "le chercheur {0} n'est pas membre du projet {1}",
        ),
        (
            r"researcher (\S+) is not in the lab of project (\S+)",
            "le chercheur {0} n'appartient pas au laboratoire du projet {1}",
        ),
        (r"researcher (\S+) is not registered", "le chercheur {0} n'est pas enregistré"),
        (
            r"researcher (\S+) is accredited from (\S+) until (\S+), not on (\S+)",
            "l'habilitation du chercheur {0} court du {1} au {2}, pas le {3}",
        ),
        (
            r"the accreditation of researcher (\S+) is revoked",
            "l'habilitation du chercheur {0} est retirée",
        ),
        (r"project (\S+) is unknown", "le projet {0} est inconnu"),
        (r"contract (\S+) is unknown", "le contrat {0} est inconnu"),
        (r"contract (\S+) is (\S+), not FINALIZED", "le contrat {0} est {1}, pas en vigueur"),
        (
            r"contract (\S+) is (\S+), not ACCEPTED: nothing to review",
            "le contrat {0} est {1} : rien à examiner",
        ),
        (
            r"contract (\S+) is not bound to project (\S+)",
            "le contrat {0} ne couvre pas le projet {1}",
        ),
        (
            r"contract (\S+) is valid from (\S+) until (\S+), not on (\S+)",
            "le contrat {0} vaut du {1} au {2}, pas le {3}",
        ),
        (
            r"contract (\S+) does not allow row-level output",
            "le contrat {0} n'autorise pas de résultat ligne à ligne",
        ),
        (
            r"tables not covered by contract (\S+): (.+)",
            "tables non couvertes par le contrat {0} : {1}",
        ),
        (
            r"columns not allowed by contract (\S+): (.+)",
            "colonnes non autorisées par le contrat {0} : {1}",
        ),
        (
            r"a released cell counts (\d+) pupils, below the minimum of (\d+)",
            "une cellule communiquée compte {0} élèves, sous le minimum de {1}",
        ),
        (
            r"the result has not passed output disclosure control",
            "le résultat n'a pas passé le contrôle de divulgation",
        ),
        (
            r"only the researcher who ran the job may release its result",
            "seul le chercheur qui a lancé la requête peut en obtenir le résultat",
        ),
        (
            r"the declared purpose does not match the purpose of contract (\S+)",
            "l'objet déclaré ne correspond pas à la finalité du contrat {0}",
        ),
        (
            r"conflict of interest: the author of a contract cannot review it",
            "conflit d'intérêts : l'auteur d'un contrat ne peut pas l'examiner",
        ),
        (
            r"refused: the policy's conditions are not met",
            "refusé : les conditions de la politique ne sont pas remplies",
        ),
        (
            r"the query is covered by the project's contract",
            "la requête est couverte par le contrat du projet",
        ),
        (r"the result may be released", "le résultat peut être communiqué"),
        (
            r"the output checker may review this result",
            "ce contrôleur des sorties peut examiner ce résultat",
        ),
        (
            r"an output checker may not review their own query",
            "un contrôleur des sorties ne peut pas examiner sa propre requête",
        ),
        (
            r"output checker (\S+) has already reviewed this result",
            "le contrôleur {0} a déjà donné son avis sur ce résultat",
        ),
        (r"the result is not pending review", "le résultat n'est plus en attente de contrôle"),
        (r"this role may read the audit log", "ce rôle peut consulter le journal d'audit"),
        (
            r"this ethics reviewer may decide on this contract",
            "ce membre du comité peut se prononcer sur ce contrat",
        ),
        (
            r"this party may sign this contract version",
            "cette partie peut signer cette version du contrat",
        ),
        (
            r"this role may perform this contract transition",
            "ce rôle peut effectuer ce changement d'état",
        ),
        (r"this role may browse the catalog", "ce rôle peut consulter le catalogue"),
        (
            r"the connector may upload this batch under its contract",
            "le connecteur peut déposer ce lot sous son contrat",
        ),
        (r"the operator may administer the registry", "l'opérateur peut administrer le registre"),
    )
]


def contract_state(code: str) -> str:
    """« en vigueur » for ``FINALIZED``..."""
    return CONTRACT_STATES.get(str(code), str(code))


def role(code: str) -> str:
    """« délégué à la protection des données » for ``dpo``..."""
    return ROLES.get(str(code), str(code))


def resource_type(code: str) -> str:
    """« requête » for ``query_job``..."""
    return RESOURCE_TYPES.get(str(code), str(code))


def action(code: str) -> str:
    """An audit action in French; ``policy.<decision>`` names the decision asked."""
    if code.startswith("policy."):
        decision = code.removeprefix("policy.")
        return f"décision de politique : {POLICY_DECISIONS.get(decision, decision)}"
    return ACTIONS.get(code, code)


def _word(code: str) -> str:
    return CONTRACT_STATES.get(code, ROLES.get(code, code))


def reason(text: str) -> str:
    """A policy reason in French when it is one the policies give, else as written."""
    for pattern, label in REASONS:
        match = re.match(pattern, str(text))
        if match:
            return label.format(*(_word(g) for g in match.groups()))
    return str(text)


def paris_time(value: datetime | str | None, seconds: bool = False) -> str:
    """« 06/12/2026 à 18:42 » in Europe/Paris; naive datetimes are UTC (as stored)."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M" + (":%S" if seconds else ""))


def day(value: str | None) -> str:
    """« 02/03/2026 » for the calendar day ``2026-03-02``; « — » when unknown."""
    if not value:
        return "—"
    return datetime.strptime(str(value)[:10], "%Y-%m-%d").strftime("%d/%m/%Y")
