"""The DPO's audit feature, published: the only module of ``hub.audit`` that ``hub/web``
(its pages) imports; no area imports it.

The audit area owns the DPO's feature over the trail: search and export of events, the
per-pupil report, verification of the log, alert rules, checkpoints' export and the
periodic tasks. It publishes:

- who may read the log and how each read is decided and audited (``READERS``,
  ``authorize_read``, ``describe``);
- search and export (``parse_filter``, ``search_page``, ``one_event``, ``stream_export``);
- the per-pupil report (``pupil_report`` and its ``PUPIL_REPORT_PURPOSE``);
- the log's verification (``verify_log``, ``last_verification``), the alerts
  (``alert_rules``, ``list_alerts``, ``run_alert_rules``), the checkpoints' export
  (``export_checkpoints``) and the periodic tasks' state (``task_status``).

Rows it hands out (the last verification, alerts) are read-only for callers.
"""

from hub.audit.access import READERS, authorize_read, describe
from hub.audit.alerts import list_alerts
from hub.audit.alerts import rules as alert_rules
from hub.audit.export import stream_export
from hub.audit.proofs import export_checkpoints
from hub.audit.pupil import PURPOSE as PUPIL_REPORT_PURPOSE
from hub.audit.pupil import pupil_report
from hub.audit.schedule import status as task_status
from hub.audit.search import one_event, parse_filter, search_page
from hub.audit.service import last_verification, run_alert_rules, verify_log

__all__ = [
    "PUPIL_REPORT_PURPOSE",
    "READERS",
    "alert_rules",
    "authorize_read",
    "describe",
    "export_checkpoints",
    "last_verification",
    "list_alerts",
    "one_event",
    "parse_filter",
    "pupil_report",
    "run_alert_rules",
    "search_page",
    "stream_export",
    "task_status",
    "verify_log",
]
