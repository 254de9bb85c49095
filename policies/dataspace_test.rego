package edh.decisions.dataspace_test

import data.edh.decisions.dataspace

base := {"subject": {"sub": "urn:lab", "role": "dsp_participant"}, "today": "2026-12-06", "participant": {"id": "urn:lab", "trusted": true}}

test_dataset_seen_by_trusted_participant if {
	dataspace.dataset.allow with input as object.union(base, {"dataset": {"id": "d1", "offered": true}})
}

test_dataset_hidden_from_untrusted_participant if {
	d := dataspace.dataset with input as object.union(base, {"participant": {"id": "urn:lab", "trusted": false}, "dataset": {"id": "d1", "offered": true}})
	d.reasons == ["the participant is not on the hub's trust list"]
}

test_dataset_not_offered if {
	d := dataspace.dataset with input as object.union(base, {"dataset": {"id": "d1"}})
	d.reasons == ["the dataset is not offered in the data space"]
}

test_consumer_accepts_its_own_negotiation if {
	dataspace.negotiate.allow with input as object.union(base, {"negotiation": {"counterparty": "urn:lab", "state": "OFFERED"}, "step": "accept", "sender": "consumer"})
}

test_other_participant_cannot_move_a_negotiation if {
	d := dataspace.negotiate with input as object.union(base, {"negotiation": {"counterparty": "urn:other", "state": "OFFERED"}, "step": "accept", "sender": "consumer"})
	d.reasons == ["the negotiation belongs to another participant"]
}

test_consumer_cannot_agree if {
	d := dataspace.negotiate with input as object.union(base, {"negotiation": {"counterparty": "urn:lab", "state": "REQUESTED"}, "step": "agree", "sender": "consumer"})
	d.reasons == ["this step is not one of the sender's role"]
}

test_negotiate_refused_on_malformed_input if {
	d := dataspace.negotiate with input as {"participant": {"id": "urn:lab", "trusted": true}}
	not d.allow
	count(d.reasons) >= 3
}

test_transfer_granted_under_finalized_agreement if {
	dataspace.transfer.allow with input as object.union(base, {"agreement": {"assignee": "urn:lab", "state": "FINALIZED"}, "contract": {"in_force": true}, "format": "HttpData-PULL"})
}

test_transfer_refused_before_finalized_for_other_and_push if {
	d := dataspace.transfer with input as object.union(base, {"agreement": {"assignee": "urn:other", "state": "AGREED"}, "contract": {"in_force": false}, "format": "HttpData-PUSH"})
	d.reasons == ["the agreement is not finalized", "the agreement was made with another participant", "the agreement's contract is not in force", "the hub does not serve this format"]
}

test_provider_participant_offers_in_its_negotiation if {
	dataspace.negotiate.allow with input as object.union(base, {"negotiation": {"counterparty": "urn:lab", "state": "REQUESTED"}, "step": "offer", "sender": "provider"})
}

test_terms_the_hub_enforces_are_allowed if {
	constraints := [{"leftOperand": "purpose", "operator": "eq"}, {"leftOperand": "dateTime", "operator": "lteq"}]
	dataspace.terms.allow with input as object.union(base, {"terms": {"constraints": constraints, "problems": []}})
}

test_a_constraint_rego_cannot_enforce_is_refused if {
	constraints := [{"leftOperand": "spatial", "operator": "eq"}, {"leftOperand": "purpose", "operator": "neq"}]
	d := dataspace.terms with input as object.union(base, {"terms": {"constraints": constraints, "problems": []}})
	d.reasons == ["the constraint purpose neq is not a term the hub enforces", "the constraint spatial eq is not a term the hub enforces"]
}

test_problems_found_in_the_terms_are_reasons if {
	d := dataspace.terms with input as object.union(base, {"terms": {"constraints": [], "problems": ["the request lacks purpose"]}})
	d.reasons == ["the request lacks purpose"]
}
