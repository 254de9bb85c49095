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

hub := {"subject": {"sub": "system", "role": "system"}, "today": "2026-12-06"}

binding := {"negotiation": {"consumer_org": "lab1", "dataset": "d1"}, "contract": {"lab": "lab1", "datasets": ["d1", "d2"], "in_force": true, "problems": [], "taken": false}}

test_contract_in_force_of_the_consumers_lab_is_the_agreement if {
	dataspace.agreement.allow with input as object.union(hub, binding)
}

test_agreement_refused_for_another_lab_another_dataset_and_a_taken_version if {
	facts := {"negotiation": {"consumer_org": "lab2", "dataset": "d9"}, "contract": object.union(binding.contract, {"taken": true})}
	d := dataspace.agreement with input as object.union(hub, facts)
	d.reasons == ["the consumer does not act for the contract's lab", "the contract does not cover the negotiated dataset", "this contract version is already the agreement of a negotiation"]
}

test_agreement_refused_with_the_contracts_problems if {
	facts := object.union(binding, {"contract": {"in_force": false, "problems": ["contract c1 is suspended: audit"]}})
	d := dataspace.agreement with input as object.union(hub, facts)
	d.reasons == ["contract c1 is suspended: audit"]
}

test_agreement_refused_fail_closed_on_missing_facts if {
	d := dataspace.agreement with input as hub
	d.reasons == ["the consumer does not act for the contract's lab", "the contract does not cover the negotiated dataset", "the contract is not in force", "this contract version is already the agreement of a negotiation"]
}

token := {"subject": {"sub": "dsp-transfer:t1", "role": "dsp_participant"}, "today": "2026-12-06"}

started := {"transfer": {"exists": true, "state": "STARTED"}, "granted": {"contract": "c1", "project": "p1", "researcher": "claire"}, "token": {"contract": "c1", "project": "p1", "researcher": "claire"}, "caller": {"sub": "claire"}, "contract": {"in_force": true, "problems": []}}

test_pull_allowed_while_started_under_a_contract_in_force if {
	dataspace.pull.allow with input as object.union(token, started)
}

test_pull_refused_once_the_transfer_is_suspended if {
	d := dataspace.pull with input as object.union(token, object.union(started, {"transfer": {"state": "SUSPENDED"}}))
	d.reasons == ["the transfer is SUSPENDED, not STARTED"]
}

test_pull_refused_for_another_project_than_granted if {
	d := dataspace.pull with input as object.union(token, object.union(started, {"token": {"project": "p2"}}))
	d.reasons == ["the transfer grants no project of the hub"]
}

test_pull_refused_when_the_contract_is_not_in_force if {
	d := dataspace.pull with input as object.union(token, object.union(started, {"contract": {"in_force": false, "problems": ["contract c1 expired on 2026-01-01"]}}))
	d.reasons == ["contract c1 expired on 2026-01-01"]
}

test_pull_refused_without_a_transfer if {
	d := dataspace.pull with input as token
	d.reasons == ["no such transfer"]
}

test_pull_refused_to_another_researcher_than_the_token_names if {
	d := dataspace.pull with input as object.union(token, object.union(started, {"caller": {"sub": "bob"}}))
	d.reasons == ["the caller is not the researcher the token was issued to"]
}

test_pull_refused_when_the_transfer_names_no_researcher if {
	facts := object.union(started, {"granted": {"researcher": ""}, "token": {"researcher": ""}, "caller": {"sub": ""}})
	d := dataspace.pull with input as object.union(token, facts)
	d.reasons == ["the transfer names no researcher"]
}

test_pull_refused_with_a_token_of_another_researcher if {
	facts := object.union(started, {"token": {"researcher": "bob"}, "caller": {"sub": "bob"}})
	d := dataspace.pull with input as object.union(token, facts)
	d.reasons == ["the token was issued to another researcher than the transfer's"]
}

pushing := {"transfer": {"exists": true, "state": "STARTED", "role": "consumer", "format": "HttpData-PUSH"}, "granted": {"contract": "c1", "connector": "k1"}, "token": {"contract": "c1", "connector": "k1"}, "batch": {"contract": "c1"}}

test_push_allowed_while_started_for_its_contract_and_connector if {
	dataspace.push.allow with input as object.union(token, pushing)
}

test_push_refused_once_the_transfer_is_completed if {
	d := dataspace.push with input as object.union(token, object.union(pushing, {"transfer": {"state": "COMPLETED"}}))
	d.reasons == ["the transfer is COMPLETED, not STARTED"]
}

test_push_refused_for_another_connector_or_contract if {
	d := dataspace.push with input as object.union(token, object.union(pushing, {"token": {"connector": "k2"}}))
	d.reasons == ["the token is not the one of the transfer's contract and connector"]
	e := dataspace.push with input as object.union(token, object.union(pushing, {"batch": {"contract": "c2"}}))
	e.reasons == ["the batch is not of the transfer's contract"]
}

test_push_refused_on_a_pull_transfer if {
	d := dataspace.push with input as object.union(token, object.union(pushing, {"transfer": {"role": "provider", "format": "HttpData-PULL"}}))
	d.reasons == ["the transfer is not a push to the hub"]
}

test_push_refused_without_a_transfer if {
	d := dataspace.push with input as token
	d.reasons == ["no such transfer"]
}
