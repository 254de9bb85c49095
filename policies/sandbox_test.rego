package edh.decisions.sandbox_test

import data.edh.decisions.sandbox
import data.edh.lib

contracts := {"c1": {
	"id": "c1", "version": 1, "state": "FINALIZED", "provider_id": "p1", "project_id": "pr1",
	"datasets": ["video"], "allowed_fields": ["verb_id", "object_id", "actor_pseudonym"],
	"min_cell_size": 12, "row_level": false, "rounding_base": 5, "purpose": "study",
	"valid_from": "2026-01-01", "valid_until": "2026-12-31", "retention_days": 365,
	"connector_ids": ["k1"],
}}

researchers := {
	"alice": {"id": "r1", "lab_id": "lab1", "accredited_from": "2026-01-01", "accredited_until": "2026-12-31", "revoked": false},
	"bob": {"id": "r2", "lab_id": "lab2", "accredited_from": "2026-01-01", "accredited_until": "2026-03-31", "revoked": true},
}

projects := {"pr1": {"lab_id": "lab1", "members": ["alice", "bob"], "purpose": "study"}}

query_input := {
	"subject": {"sub": "alice", "role": "researcher"}, "today": "2026-05-01",
	"project_id": "pr1", "contract_id": "c1", "purpose": "study",
	"tables": ["video"], "columns": [{"table": "video", "column": "verb_id"}], "row_level": false,
}

job := {"owner": "alice", "row_level": false, "disclosure_checked": true, "min_cell_count": 12}

query(inp, cs) := d if {
	d := sandbox.query with input as inp with data.edh.contracts as cs
		with data.edh.researchers as researchers with data.edh.projects as projects
}

release(j, cs) := d if {
	d := sandbox.release with input as object.union(query_input, {"job": j})
		with data.edh.contracts as cs with data.edh.researchers as researchers
		with data.edh.projects as projects
}

test_query_allowed_with_obligations if {
	d := query(query_input, contracts)
	d.allow
	d.obligations == {
		"min_cell_size": 12, "row_level": false, "rounding_base": 5,
		"release_mode": "differential_privacy", "epsilon_per_query": 1, "epsilon_max_per_query": 1,
		"epsilon_budget": 10,
	}
}

test_reviewed_release_mode_and_budget_from_contract if {
	cs := {"c1": object.union(contracts.c1, {"release_mode": "reviewed", "epsilon_per_query": 0.5, "epsilon_budget": 4})}
	o := query(query_input, cs).obligations
	o.release_mode == "reviewed"
	o.epsilon_per_query == 0.5
	o.epsilon_budget == 4
}

test_a_query_may_ask_for_epsilon_up_to_the_approved_maximum if {
	cs := {"c1": object.union(contracts.c1, {"epsilon_per_query": 1, "epsilon_max_per_query": 4, "epsilon_budget": 10})}
	d := query(object.union(query_input, {"epsilon": 3.5}), cs)
	d.allow
	d.obligations.epsilon_per_query == 3.5
	query(query_input, cs).obligations.epsilon_per_query == 1
}

test_a_query_asking_more_than_the_maximum_is_refused if {
	cs := {"c1": object.union(contracts.c1, {"epsilon_per_query": 1, "epsilon_max_per_query": 4, "epsilon_budget": 10})}
	d := query(object.union(query_input, {"epsilon": 4.5}), cs)
	not d.allow
	"a query may spend at most 4 ε under contract c1 (asked: 4.5)" in d.reasons
}

test_without_a_maximum_the_default_is_the_cap if {
	d := query(object.union(query_input, {"epsilon": 1.5}), contracts)
	not d.allow
	"a query may spend at most 1 ε under contract c1 (asked: 1.5)" in d.reasons
	query(object.union(query_input, {"epsilon": 0.25}), contracts).obligations.epsilon_per_query == 0.25
}

test_a_malformed_epsilon_is_refused if {
	some bad in [0, -1, "2", true]
	d := query(object.union(query_input, {"epsilon": bad}), contracts)
	not d.allow
	"input.epsilon must be a positive number or null" in d.reasons
}

test_unknown_release_mode_is_differential_privacy if {
	cs := {"c1": object.union(contracts.c1, {"release_mode": "exact"})}
	query(query_input, cs).obligations.release_mode == "differential_privacy"
}

test_min_cell_size_never_below_default if {
	cs := {"c1": object.union(contracts.c1, {"min_cell_size": 3})}
	query(query_input, cs).obligations.min_cell_size == 10
}

test_query_denied_without_data if {
	d := sandbox.query with input as query_input
	not d.allow
	d.obligations == {}
	"policy data missing: researchers" in d.reasons
	"policy data missing: projects" in d.reasons
}

test_query_denied_for_revoked_outside_lab_researcher if {
	d := query(object.union(query_input, {"subject": {"sub": "bob", "role": "researcher"}}), contracts)
	d.reasons == [
		"researcher bob is accredited from 2026-01-01 until 2026-03-31, not on 2026-05-01",
		"researcher bob is not in the lab of project pr1",
		"the accreditation of researcher bob is revoked",
	]
}

test_query_denied_for_unknown_researcher_and_project if {
	inp := object.union(query_input, {"subject": {"sub": "eve", "role": "researcher"}, "project_id": "pr9"})
	d := query(inp, contracts)
	"researcher eve is not registered" in d.reasons
	"project pr9 is unknown" in d.reasons
	"contract c1 is not bound to project pr9" in d.reasons
}

test_query_denied_for_non_member if {
	ps := {"pr1": {"lab_id": "lab1", "members": [], "purpose": "study"}}
	d := sandbox.query with input as query_input with data.edh.contracts as contracts
		with data.edh.researchers as researchers with data.edh.projects as ps
	d.reasons == ["researcher alice is not a member of project pr1"]
}

test_query_denied_for_uncovered_tables_columns_purpose_row_level if {
	inp := object.union(query_input, {
		"purpose": "marketing", "row_level": true, "tables": ["video", "grades"],
		"columns": [{"table": "video", "column": "mbox"}, {"table": "grades", "column": "verb_id"}],
	})
	d := query(inp, contracts)
	d.reasons == [
		"columns not allowed by contract c1: video.mbox",
		"contract c1 does not allow row-level output",
		"tables not covered by contract c1: grades",
		"the declared purpose does not match the purpose of contract c1",
	]
}

test_query_denied_for_malformed_input if {
	d := query(object.union(query_input, {"tables": [], "columns": [{"t": 1}], "row_level": "no"}), contracts)
	d.reasons == [
		"input.columns must be a list of {table, column}",
		"input.row_level must be true or false",
		"input.tables must be a non-empty list of table names",
	]
}

test_release_allowed if {
	release(job, contracts).allow
}

test_release_denied_for_small_cell_row_level_unchecked_other_owner if {
	j := {"owner": "bob", "row_level": true, "disclosure_checked": false, "min_cell_count": 4}
	d := release(j, contracts)
	d.reasons == [
		"a released cell counts 4 pupils, below the minimum of 12",
		"contract c1 does not allow row-level output",
		"only the researcher who ran the job may release its result",
		"the result has not passed output disclosure control",
	]
}

test_release_denied_without_job if {
	d := sandbox.release with input as query_input with data.edh.contracts as contracts
		with data.edh.researchers as researchers with data.edh.projects as projects
	"input.job.min_cell_count must be a number" in d.reasons
	not d.allow
}

# The allow fast path must agree with the full reason collection on every input.
paths(inp, cs) := [fast, full] if {
	fast := count({1 | sandbox.query_ok}) == 1 with input as inp with data.edh.contracts as cs
		with data.edh.researchers as researchers with data.edh.projects as projects
	full := lib.decision(sandbox.query_deny, sandbox.access_granted, "").allow with input as inp
		with data.edh.contracts as cs with data.edh.researchers as researchers
		with data.edh.projects as projects
}

variants := [
	{},
	{"subject": {"sub": "bob", "role": "researcher"}},
	{"subject": {"sub": "alice", "role": "dpo"}},
	{"subject": {"sub": "eve", "role": "researcher"}},
	{"project_id": "pr9"},
	{"contract_id": "c9"},
	{"purpose": "marketing"},
	{"tables": ["video", "grades"]},
	{"tables": []},
	{"columns": [{"table": "video", "column": "mbox"}]},
	{"columns": "all"},
	{"row_level": true},
	{"row_level": "no"},
	{"today": "2027-01-01"},
	{"today": 20260501},
]

test_fast_path_agrees_with_reasons if {
	every v in variants {
		[fast, full] := paths(object.union(query_input, v), contracts)
		fast == full
	}
	row_level := {"c1": object.union(contracts.c1, {"row_level": true})}
	[true, true] == paths(object.union(query_input, {"row_level": true}), row_level)
	[false, false] == paths(query_input, {"c1": object.union(contracts.c1, {"state": "AGREED"})})
}

review_input := {
	"subject": {"sub": "carol", "role": "output_checker"}, "today": "2026-05-01",
	"project_id": "pr1", "contract_id": "c1", "action": "approve",
	"job": {"owner": "alice", "status": "pending_review", "reviewers": ["dave"]},
}

review(inp) := d if {
	d := sandbox.review with input as inp with data.edh.contracts as contracts
}

test_review_allowed_for_a_second_distinct_checker if {
	review(review_input).allow
	review(object.union(review_input, {"action": "reject"})).allow
}

test_review_refused_to_other_roles if {
	d := review(object.union(review_input, {"subject": {"sub": "carol", "role": "researcher"}}))
	not d.allow
	d.reasons == [`role "researcher" may not do this (allowed: output_checker)`]
	not review(object.union(review_input, {"action": "read", "subject": {"sub": "carol", "role": "dpo"}})).allow
}

test_review_refused_to_the_submitter if {
	inp := object.union(review_input, {"subject": {"sub": "alice", "role": "output_checker"}})
	d := review(inp)
	not d.allow
	d.reasons == ["an output checker may not review their own query"]
}

test_review_refused_twice if {
	inp := object.union(review_input, {"subject": {"sub": "dave", "role": "output_checker"}})
	d := review(inp)
	d.reasons == ["output checker dave has already reviewed this result"]
}

test_review_refused_when_not_pending if {
	d := review(object.union(review_input, {"job": {"owner": "alice", "status": "released", "reviewers": []}}))
	d.reasons == ["the result is not pending review"]
}

test_review_refused_for_unknown_action_or_suspended_contract if {
	not review(object.union(review_input, {"action": "release"})).allow
	not review(object.union(review_input, {"today": "2027-02-01"})).allow
	not review(object.union(review_input, {"project_id": "pr2"})).allow
}

test_review_fails_closed_without_job if {
	d := review(object.remove(review_input, ["job"]))
	not d.allow
}

test_review_read_allowed_after_reviewing_but_never_the_own_query if {
	reread := object.union(review_input, {"action": "read", "subject": {"sub": "dave", "role": "output_checker"}})
	review(reread).allow
	done := object.union(reread, {"job": {"owner": "alice", "status": "released", "reviewers": ["dave"]}})
	review(done).allow
	own := object.union(review_input, {"action": "read", "subject": {"sub": "alice", "role": "output_checker"}})
	review(own).reasons == ["an output checker may not review their own query"]
}
