package edh.decisions.audit_test

import data.edh.decisions.audit

test_dpo_reads if {
	audit.read == {"allow": true, "reasons": ["this role may read the audit log"]}
		with input as {"subject": {"sub": "d", "role": "dpo"}, "today": "2026-05-01"}
}

test_researcher_denied if {
	d := audit.read with input as {"subject": {"sub": "r", "role": "researcher"}, "today": "2026-05-01"}
	d.reasons == ["role \"researcher\" may not do this (allowed: dpo, operator)"]
}

test_malformed_input_denied if {
	d := audit.read with input as "dpo"
	not d.allow
	count(d.reasons) == 3
}
