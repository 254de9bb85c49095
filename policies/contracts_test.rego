package edh.decisions.contracts_test

import data.edh.decisions.contracts

base(role, state) := {
	"subject": {"sub": "u1", "role": role, "org": "p1"}, "today": "2026-05-01",
	"contract_id": "c1", "target_state": state, "provider_id": "p1",
}

review_input(org, verdict) := {
	"subject": {"sub": "rev1", "role": "ethics_reviewer", "org": org}, "today": "2026-05-01",
	"contract_id": "c1", "verdict": verdict, "state": "ACCEPTED",
	"provider_id": "p1", "lab_id": "l1", "authors": ["claire"],
}

sign_input(role, org, party, state) := {
	"subject": {"sub": "u1", "role": role, "org": org}, "today": "2026-05-01",
	"contract_id": "c1", "party": party, "state": state, "version": 2, "signed_version": 2,
	"provider_id": "p1", "lab_id": "l1",
}

test_provider_offers_own_contract_only if {
	contracts.transition.allow with input as base("provider", "OFFERED")
	d := contracts.transition with input as object.union(base("provider", "OFFERED"), {"provider_id": "p2"})
	d.reasons == ["a provider may only act on its own organisation's contracts"]
}

test_dpo_suspends_and_lab_terminates if {
	contracts.transition.allow with input as base("dpo", "SUSPENDED")
	contracts.transition.allow with input as base("researcher", "TERMINATED")
	d := contracts.transition with input as base("provider", "SUSPENDED")
	d.reasons == ["role \"provider\" may not do this (allowed: dpo, operator)"]
}

test_gated_states_are_not_plain_transitions if {
	d := contracts.transition with input as base("ethics_reviewer", "AGREED")
	d.reasons == ["a contract becomes AGREED only through edh/contracts/review (ethics review approval)"]
	f := contracts.transition with input as base("operator", "FINALIZED")
	f.reasons == ["a contract becomes FINALIZED only through edh/contracts/sign (the hub's countersignature)"]
}

test_unknown_state_and_malformed_input if {
	d := contracts.transition with input as {"subject": {"sub": "u1", "role": "operator"}, "target_state": "DONE"}
	not d.allow
	"unknown contract state DONE" in d.reasons
	"input.today must be a date (YYYY-MM-DD)" in d.reasons
}

test_every_verdict_is_decided_by_an_independent_reviewer if {
	every verdict in {"approve", "request_changes", "reject"} {
		contracts.review.allow with input as review_input(null, verdict)
	}
	contracts.review_outcome == {"approve": "AGREED", "request_changes": "REQUESTED", "reject": "TERMINATED"}
}

test_party_members_and_authors_cannot_review if {
	d := contracts.review with input as review_input("l1", "approve")
	d.reasons == ["conflict of interest: a reviewer from a party's organisation cannot review its own contract"]
	author := object.union(review_input("other", "reject"), {"subject": {"sub": "claire", "role": "ethics_reviewer", "org": "other"}})
	a := contracts.review with input as author
	a.reasons == ["conflict of interest: the author of a contract cannot review it"]
}

test_review_needs_the_role_a_verdict_and_an_accepted_contract if {
	wrong := object.union(review_input(null, "maybe"), {"state": "AGREED", "subject": {"sub": "x", "role": "researcher"}})
	d := contracts.review with input as wrong
	d.reasons == [
		"contract c1 is AGREED, not ACCEPTED: nothing to review",
		"role \"researcher\" may not do this (allowed: ethics_reviewer)",
		"unknown review verdict maybe (expected approve, request_changes or reject)",
	]
	m := contracts.review with input as {"verdict": "approve", "state": "ACCEPTED"}
	"input.subject must carry a subject (sub) and a role" in m.reasons
}

test_parties_sign_an_agreed_contract_and_the_hub_a_verified_one if {
	contracts.sign.allow with input as sign_input("provider", "p1", "provider", "AGREED")
	contracts.sign.allow with input as sign_input("researcher", "l1", "lab", "AGREED")
	contracts.sign.allow with input as sign_input("operator", null, "hub", "VERIFIED")
}

test_signer_must_belong_to_the_party_and_the_state_fit if {
	d := contracts.sign with input as sign_input("researcher", "p1", "lab", "VERIFIED")
	d.reasons == [
		"only a member of the contract's lab organisation may sign as lab",
		"the lab signs a AGREED contract; this one is VERIFIED",
	]
	h := contracts.sign with input as sign_input("provider", "p1", "hub", "VERIFIED")
	h.reasons == ["role \"provider\" may not do this (allowed: operator)"]
}

test_stale_or_unknown_party_signature_is_refused if {
	stale := object.union(sign_input("provider", "p1", "provider", "AGREED"), {"signed_version": 1})
	d := contracts.sign with input as stale
	d.reasons == ["stale signature: it signs version 1, current is 2"]
	u := contracts.sign with input as object.union(sign_input("provider", "p1", "x", "AGREED"), {"today": 3})
	"unknown signing party x (expected provider, lab or hub)" in u.reasons
	"input.today must be a date (YYYY-MM-DD)" in u.reasons
}
