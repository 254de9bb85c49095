# METADATA
# title: Contract negotiation, ethics review and signatures
# description: |
#   Decision edh/contracts/transition: may this role move a contract to target_state
#   (negotiation, suspension, termination)? Input: contract_id, target_state, provider_id.
#   Decision edh/contracts/review: may this ethics reviewer decide (verdict) on the
#   contract? Input: contract_id, verdict, state, provider_id, lab_id, authors.
#   Decision edh/contracts/sign: may this subject sign as party the contract's current
#   version? Input: contract_id, party, state, version, signed_version, provider_id, lab_id.
#   The enforcement point always adds subject {sub, role, org} and today.
package edh.decisions.contracts

import data.edh.lib

# METADATA
# description: |
#   Roles allowed to move a contract into each state by a plain transition (Dataspace
#   Protocol). SUSPENDED names suspending or resuming a FINALIZED contract.
roles_for_state := {
	"REQUESTED": {"researcher", "operator"},
	"OFFERED": {"provider"},
	"ACCEPTED": {"researcher"},
	"SUSPENDED": {"operator", "dpo"},
	"TERMINATED": {"operator", "provider", "researcher", "ethics_reviewer"},
}

# METADATA
# description: States reached only through another decision, never by a plain transition.
gated_states := {
	"AGREED": "edh/contracts/review (ethics review approval)",
	"VERIFIED": "edh/contracts/sign (the parties' signatures)",
	"FINALIZED": "edh/contracts/sign (the hub's countersignature)",
}

# METADATA
# description: A role may perform only the transitions of roles_for_state; providers only on their own contracts.
transition := lib.decision(deny, count(deny) == 0, "this role may perform this contract transition")

deny contains msg if some msg in lib.input_problems

deny contains msg if {
	not roles_for_state[input.target_state]
	not gated_states[input.target_state]
	msg := sprintf("unknown contract state %v", [object.get(lib.obj, "target_state", null)])
}

deny contains msg if {
	some via in {gated_states[input.target_state]}
	msg := sprintf("a contract becomes %v only through %v", [input.target_state, via])
}

deny contains msg if some msg in lib.role_problems(roles_for_state[input.target_state])

deny contains msg if {
	lib.role == "provider"
	org != object.get(lib.obj, "provider_id", "")
	msg := "a provider may only act on its own organisation's contracts"
}

# The caller's organisation, or "" without one (never equal to a party's id).
org := object.get(lib.obj, ["subject", "org"], "") if {
	is_string(object.get(lib.obj, ["subject", "org"], ""))
} else := ""

# METADATA
# description: The state each review verdict sends an ACCEPTED contract to (approval once the quorum is met).
review_outcome := {"approve": "AGREED", "request_changes": "REQUESTED", "reject": "TERMINATED"}

# METADATA
# description: |
#   Only an ethics reviewer decides, on an ACCEPTED contract, and never a member of a
#   party's organisation or an author of the terms (conflict of interest).
review := lib.decision(review_deny, count(review_deny) == 0, "this ethics reviewer may decide on this contract")

review_deny contains msg if some msg in lib.input_problems

review_deny contains msg if {
	not review_outcome[input.verdict]
	msg := sprintf("unknown review verdict %v (expected approve, request_changes or reject)", [object.get(lib.obj, "verdict", null)])
}

review_deny contains msg if some msg in lib.role_problems({"ethics_reviewer"})

review_deny contains msg if {
	input.state != "ACCEPTED"
	msg := sprintf("contract %v is %v, not ACCEPTED: nothing to review", [object.get(lib.obj, "contract_id", null), input.state])
}

review_deny contains "conflict of interest: a reviewer from a party's organisation cannot review its own contract" if {
	org in {object.get(lib.obj, "provider_id", null), object.get(lib.obj, "lab_id", null)}
}

review_deny contains "conflict of interest: the author of a contract cannot review it" if {
	lib.sub in object.get(lib.obj, "authors", [])
}

# METADATA
# description: For each signing party, the role that signs for it and the state its signature needs.
signers := {
	"provider": {"role": "provider", "state": "AGREED", "org_field": "provider_id"},
	"lab": {"role": "researcher", "state": "AGREED", "org_field": "lab_id"},
	"hub": {"role": "operator", "state": "VERIFIED"},
}

# METADATA
# description: |
#   The provider's organisation signs as provider, the project's lab as lab (both on an
#   AGREED contract), the hub's operator countersigns a VERIFIED one; always the
#   current version.
sign := lib.decision(sign_deny, count(sign_deny) == 0, "this party may sign this contract version")

sign_deny contains msg if some msg in lib.input_problems

sign_deny contains msg if {
	not signers[input.party]
	msg := sprintf("unknown signing party %v (expected provider, lab or hub)", [object.get(lib.obj, "party", null)])
}

sign_deny contains msg if some msg in lib.role_problems({signers[input.party].role})

sign_deny contains msg if {
	field := signers[input.party].org_field
	org != object.get(lib.obj, field, "")
	msg := sprintf("only a member of the contract's %v organisation may sign as %v", [input.party, input.party])
}

sign_deny contains msg if {
	input.state != signers[input.party].state
	msg := sprintf("the %v signs a %v contract; this one is %v", [input.party, signers[input.party].state, input.state])
}

sign_deny contains msg if {
	input.signed_version != input.version
	msg := sprintf("stale signature: it signs version %v, current is %v", [input.signed_version, input.version])
}
