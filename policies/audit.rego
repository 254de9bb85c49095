# METADATA
# title: Audit log access
# description: |
#   Decision edh/audit/read: who may search, export or verify the access log.
#   Input: subject {sub, role}, today. Every decision (a DPO's included) is itself audited.
package edh.decisions.audit

import data.edh.lib

# METADATA
# description: Only the DPO and the hub operator may read the audit log.
read := lib.decision(deny, count(deny) == 0, "this role may read the audit log")

deny contains msg if some msg in lib.input_problems

deny contains msg if some msg in lib.role_problems({"dpo", "operator"})
