"""The pseudonym area's published interface: the only module other areas and the pages
import.

The area owns the per-contract pseudonymisation keys (derived by the key custody, in
process or in the separate pseudonymisation service), the erasure register (an erased
pupil's keyed digest and pseudonym under each contract), the record of use (which
released queries drew on a pupil's rows) and the evidence of what erasures and
re-pseudonymisations rewrote in the lake.

It publishes:
- key derivation and look-ups: a contract's key (:func:`contract_key`, :func:`key_text`),
  a pupil's pseudonym and register digest, the record of use's key and digests, the
  identifier and key version checks;
- the register: reading it (:func:`erased_pseudonyms`, :func:`earlier_erasures`,
  :func:`is_erased`) and writing it (:func:`ensure_request`,
  :func:`register_pseudonyms`, :func:`remap_register`);
- the record of use: :func:`record_uses`, :func:`uses_of`, :func:`remap_uses`,
  :func:`delete_uses_before`;
- the rewrites' evidence: :func:`record_rewrite`, :func:`erasure_rewrites`,
  :func:`record_repseudonymisation`, :func:`was_repseudonymised`.

Callers never query or write the area's tables themselves. Rows handed out are
read-only records (:class:`ErasureRequestRecord`, :class:`PupilUseRecord`,
:class:`ErasureRewriteRecord`). Writes happen in the caller's transaction, never
committed here. A key the service cannot derive raises ``ServiceUnavailable``; a
malformed identifier ``ValidationFailed``.
"""

from __future__ import annotations

from hub.pseudonym.erased import earlier_erasures, erased_pseudonyms, is_erased
from hub.pseudonym.keys import VERSION as KEY_VERSION
from hub.pseudonym.records import ErasureRequestRecord, ErasureRewriteRecord, PupilUseRecord
from hub.pseudonym.register import ensure_request, register_pseudonyms, remap_register
from hub.pseudonym.rewrites import (
    erasure_rewrites,
    record_repseudonymisation,
    record_rewrite,
    was_repseudonymised,
)
from hub.pseudonym.service import (
    check_identifier,
    contract_key,
    key_text,
    pseudonym_for,
    register_digest,
    use_digest,
    use_key,
)
from hub.pseudonym.uses import delete_uses_before, record_uses, remap_uses, uses_of

__all__ = [
    "KEY_VERSION",
    "ErasureRequestRecord",
    "ErasureRewriteRecord",
    "PupilUseRecord",
    "check_identifier",
    "contract_key",
    "delete_uses_before",
    "earlier_erasures",
    "ensure_request",
    "erased_pseudonyms",
    "erasure_rewrites",
    "is_erased",
    "key_text",
    "pseudonym_for",
    "record_repseudonymisation",
    "record_rewrite",
    "record_uses",
    "register_digest",
    "register_pseudonyms",
    "remap_register",
    "remap_uses",
    "use_digest",
    "use_key",
    "uses_of",
    "was_repseudonymised",
]
