package edh.decisions.admin_test

import data.edh.decisions.admin

op := {"subject": {"sub": "o", "role": "operator"}, "today": "2026-05-01", "action": "POST /api/v1/organisations"}

test_operator_administers if {
	admin.registry.allow with input as op
	admin.keys.allow with input as op
}

test_others_denied if {
	d := admin.registry with input as object.union(op, {"subject": {"sub": "d", "role": "dpo"}})
	d.reasons == ["role \"dpo\" may not do this (allowed: operator)"]
}

test_action_required if {
	d := admin.keys with input as object.remove(op, ["action"])
	d.reasons == ["input.action must name the administrative action"]
}
