"""The ingest area's published interface: the only module of ``hub.ingest`` that other
areas and ``hub/web`` import.

The ingest area owns the batch registry (``ingest_batch``) and the lake: presigned
uploads, verification and registration of batches, quarantine, the lake's integrity,
erasure and retention purges in the lake, and what a connector reads before shipping.
It publishes:

- connector authentication (``authenticate_connector``, the ``ConnectorDep`` dependency,
  ``verify_connector_token``) and the upload gate (``upload_scope``, ``connector_actor``,
  ``record_handout``, ``audited_refusal``);
- the batch flow (``presign``, ``complete``, ``contract_of_batch``, ``registered_keys``)
  with its request and answer schemas and ``BatchStatus``; a batch is handed out as a
  :class:`BatchRecord`, read-only for callers (only this area changes a batch);
- the lake's maintenance: erasure (``erase_everywhere``, ``rewrite_contract`` and the
  rewrite types), retention (``purge_expired``, ``purge_lake``, ``cutoff``), the
  per-pupil search (``locate_pupil``), the catalog's counts (``refresh_catalog``) and the
  lake's verification (``verify_lake``);
- the lake's integrity guard (``IntegrityGuard``, ``LakeObject``, ``stored_object``) and
  its error ``LakeObjectAltered``;
- ``store_of``: the hub's object store, or ``ServiceUnavailable``.
"""

from hub.ingest.batches import contract_of_batch, registered_keys
from hub.ingest.complete import complete
from hub.ingest.connector_auth import ConnectorDep, authenticate_connector, verify_connector_token
from hub.ingest.counts import refresh_catalog
from hub.ingest.erasure import (
    REKEY_KIND,
    REKEYED,
    ContractRewrite,
    Rewrite,
    Rewritten,
    erase_everywhere,
    eraser_for,
    lake_guard,
    locate_pupil,
    purge_expired,
    purge_lake,
    rewrite_contract,
)
from hub.ingest.gate import connector_actor, record_handout, upload_scope
from hub.ingest.integrity import IntegrityGuard, LakeObject, LakeObjectAltered, stored_object
from hub.ingest.lakecheck import verify_lake
from hub.ingest.models import BatchStatus
from hub.ingest.presign import presign, store_of
from hub.ingest.records import BatchRecord
from hub.ingest.refusals import audited_refusal
from hub.ingest.retention import cutoff
from hub.ingest.schemas import BatchOut, CompleteIn, GrantOut, PresignIn

__all__ = [
    "REKEYED",
    "REKEY_KIND",
    "BatchOut",
    "BatchRecord",
    "BatchStatus",
    "CompleteIn",
    "ConnectorDep",
    "ContractRewrite",
    "GrantOut",
    "IntegrityGuard",
    "LakeObject",
    "LakeObjectAltered",
    "PresignIn",
    "Rewrite",
    "Rewritten",
    "audited_refusal",
    "authenticate_connector",
    "complete",
    "connector_actor",
    "contract_of_batch",
    "cutoff",
    "erase_everywhere",
    "eraser_for",
    "lake_guard",
    "locate_pupil",
    "presign",
    "purge_expired",
    "purge_lake",
    "record_handout",
    "refresh_catalog",
    "registered_keys",
    "rewrite_contract",
    "store_of",
    "stored_object",
    "upload_scope",
    "verify_connector_token",
    "verify_lake",
]
