# METADATA
# title: Ingestion
# description: |
#   Decision edh/ingest/upload: may this connector upload a batch now?
#   Input: subject {sub, role}, today, connector_id, contract_id, dataset_id, and when
#   the caller knows them (batch registration): fields [column...] and dates
#   [YYYY-MM-DD...] (the days the batch's statements cover). Present means checked.
package edh.decisions.ingest

import data.edh.lib

# METADATA
# description: |
#   A connector may upload only for its own FINALIZED, unexpired contract, only the
#   contract's datasets and fields, only data dated inside the validity window, and
#   only while the connector is not revoked.
upload := lib.decision(deny, granted, "the connector may upload this batch under its contract")

connector := data.edh.connectors[input.connector_id]

default granted := false

granted if {
	lib.contract_in_force
	connector.revoked == false
	input.connector_id in lib.contract.connector_ids
	input.dataset_id in lib.contract.datasets
}

deny contains msg if some msg in lib.input_problems

deny contains msg if some msg in lib.role_problems({"connector"})

deny contains msg if some msg in lib.contract_problems

deny contains "policy data missing: connectors" if {
	not connector
	not data.edh.connectors
}

deny contains msg if {
	not connector
	data.edh.connectors
	msg := sprintf("connector %v is unknown", [object.get(lib.obj, "connector_id", null)])
}

deny contains msg if {
	connector.revoked != false
	msg := sprintf("connector %v is revoked", [input.connector_id])
}

deny contains msg if {
	connector
	lib.sub != input.connector_id
	msg := sprintf("the token's subject %q is not connector %v", [lib.sub, input.connector_id])
}

deny contains msg if {
	not input.connector_id in lib.contract.connector_ids
	msg := sprintf("connector %v is not bound to contract %v", [input.connector_id, lib.contract.id])
}

deny contains msg if {
	connector.organisation_id != lib.contract.provider_id
	msg := sprintf("connector %v does not belong to the contract's provider", [input.connector_id])
}

deny contains msg if {
	not input.dataset_id in lib.contract.datasets
	msg := sprintf("dataset %v is not covered by contract %v", [input.dataset_id, lib.contract.id])
}

deny contains "input.fields must be a list of field names" if not fields_ok

fields_ok if is_array(object.get(lib.obj, "fields", []))

deny contains "input.dataset_id must be a string" if not dataset_ok

dataset_ok if is_string(input.dataset_id)

deny contains msg if {
	extra := {f | some f in input.fields; not f in lib.contract.allowed_fields}
	count(extra) > 0
	msg := sprintf("fields not allowed by contract %v: %s", [lib.contract.id, concat(", ", sort(extra))])
}

deny contains "input.dates must be a list of dates (YYYY-MM-DD)" if not dates_ok

dates_ok if {
	dates := object.get(lib.obj, "dates", [])
	is_array(dates)
	every d in dates {
		lib.is_date(d)
	}
}

deny contains msg if {
	outside := {d | some d in input.dates; not lib.within(d, lib.contract.valid_from, lib.contract.valid_until)}
	count(outside) > 0
	msg := sprintf("data dated outside the contract's validity window: %s", [concat(", ", sort(outside))])
}
