package edh.decisions.ingest_test

import data.edh.decisions.ingest

contracts := {"c1": {
	"id": "c1", "version": 1, "state": "FINALIZED", "provider_id": "p1", "project_id": "pr1",
	"datasets": ["video"], "allowed_fields": ["verb_id", "object_id", "timestamp"],
	"min_cell_size": 10, "row_level": false, "rounding_base": 5, "purpose": "study",
	"valid_from": "2026-01-01", "valid_until": "2026-12-31", "retention_days": 365,
	"connector_ids": ["k1"],
}}

connectors := {"k1": {"organisation_id": "p1", "revoked": false}, "k2": {"organisation_id": "p2", "revoked": false}}

good := {
	"subject": {"sub": "k1", "role": "connector"}, "today": "2026-05-01",
	"connector_id": "k1", "contract_id": "c1", "dataset_id": "video",
	"fields": ["verb_id", "timestamp"], "dates": ["2026-04-30"],
}

decide(inp, cs, ks) := d if {
	d := ingest.upload with input as inp with data.edh.contracts as cs with data.edh.connectors as ks
}

test_upload_allowed if {
	decide(good, contracts, connectors).allow
}

test_upload_denied_without_data if {
	d := ingest.upload with input as good
	not d.allow
	"policy data missing: connectors" in d.reasons
	"policy data missing: contracts" in d.reasons
}

test_upload_denied_for_unknown_connector if {
	d := decide(object.union(good, {"connector_id": "k9", "subject": {"sub": "k9", "role": "connector"}}), contracts, connectors)
	not d.allow
	"connector k9 is unknown" in d.reasons
}

test_upload_denied_for_revoked_connector if {
	revoked := object.union(connectors, {"k1": {"organisation_id": "p1", "revoked": true}})
	d := decide(good, contracts, revoked)
	d == {"allow": false, "reasons": ["connector k1 is revoked"]}
}

test_upload_denied_for_other_subject_and_role if {
	d := decide(object.union(good, {"subject": {"sub": "bob", "role": "researcher"}}), contracts, connectors)
	d.reasons == [
		"role \"researcher\" may not do this (allowed: connector)",
		"the token's subject \"bob\" is not connector k1",
	]
}

test_upload_denied_for_connector_of_other_contract if {
	inp := object.union(good, {"connector_id": "k2", "subject": {"sub": "k2", "role": "connector"}})
	d := decide(inp, contracts, connectors)
	"connector k2 is not bound to contract c1" in d.reasons
	"connector k2 does not belong to the contract's provider" in d.reasons
}

test_upload_denied_for_dataset_and_fields if {
	d := decide(object.union(good, {"dataset_id": "grades", "fields": ["verb_id", "mbox", "name"]}), contracts, connectors)
	d.reasons == [
		"dataset grades is not covered by contract c1",
		"fields not allowed by contract c1: mbox, name",
	]
}

test_upload_denied_outside_window if {
	d := decide(object.union(good, {"today": "2027-01-02", "dates": ["2025-12-31", "2026-02-01"]}), contracts, connectors)
	d.reasons == [
		"contract c1 is valid from 2026-01-01 until 2026-12-31, not on 2027-01-02",
		"data dated outside the contract's validity window: 2025-12-31",
	]
}

test_upload_denied_for_unfinalized_contract if {
	cs := {"c1": object.union(contracts.c1, {"state": "VERIFIED"})}
	d := decide(good, cs, connectors)
	d.reasons == ["contract c1 is VERIFIED, not FINALIZED"]
}

test_upload_allowed_without_fields_and_dates if {
	decide(object.remove(good, ["fields", "dates"]), contracts, connectors).allow
}

test_upload_denied_for_malformed_input if {
	d := decide({"contract_id": 3, "fields": "all", "dates": ["soon"]}, contracts, connectors)
	not d.allow
	"input.fields must be a list of field names" in d.reasons
	"input.dates must be a list of dates (YYYY-MM-DD)" in d.reasons
	"input.today must be a date (YYYY-MM-DD)" in d.reasons
	"contract 3 is unknown" in d.reasons
	"input.dataset_id must be a string" in d.reasons
}
