# METADATA
# title: Data space (Dataspace Protocol 2025-1)
# description: |
#   Decisions edh/dataspace/dataset, edh/dataspace/negotiate, edh/dataspace/terms and
#   edh/dataspace/transfer.
#   Input: subject {sub, role, org} (the participant acting), today, participant
#   {id, trusted}; dataset {id, offered} for dataset; negotiation {counterparty,
#   state}, step and sender for negotiate; terms {constraints [{leftOperand,
#   operator}], problems [...]} for terms; agreement {assignee, state}, contract
#   {in_force} and format for transfer. The state machine itself (which step is legal in which state) is the
#   protocol's, checked by contracts.dsp.states: these rules decide who may act.
package edh.decisions.dataspace

import data.edh.lib

participant := object.get(lib.obj, "participant", {})

trusted if participant.trusted == true

participant_problems contains "the participant is not on the hub's trust list" if not trusted

participant_problems contains "the participant has no identifier" if not is_string(participant.id)

# METADATA
# description: A trusted participant sees a dataset the hub offers in the data space.
dataset := lib.decision(dataset_deny, count(dataset_deny) == 0, "this participant may see the dataset")

dataset_deny contains msg if some msg in lib.input_problems

dataset_deny contains msg if some msg in participant_problems

dataset_deny contains "the dataset is not offered in the data space" if {
	not object.get(lib.obj, ["dataset", "offered"], false) == true
}

consumer_steps := {"request", "accept", "verify", "terminate"}

provider_steps := {"offer", "agree", "finalize", "terminate"}

# METADATA
# description: |
#   A trusted participant moves only its own negotiations (it is their counterparty),
#   and only with the steps of its role (sender "consumer" or "provider").
negotiate := lib.decision(negotiate_deny, count(negotiate_deny) == 0, "this participant may take this step")

negotiate_deny contains msg if some msg in lib.input_problems

negotiate_deny contains msg if some msg in participant_problems

negotiate_deny contains "the negotiation belongs to another participant" if {
	object.get(lib.obj, ["negotiation", "counterparty"], "") != participant.id
}

negotiate_deny contains "this step is not one of the sender's role" if {
	not role_step
}

role_step if {
	input.sender == "consumer"
	input.step in consumer_steps
}

role_step if {
	input.sender == "provider"
	input.step in provider_steps
}

# METADATA
# description: |
#   The ODRL constraints the hub enforces: each maps to a term of the research contract
#   that a sandbox decision enforces (contracts.dsp.odrl.TERMS, which must list exactly
#   these pairs). Anything else in a request is refused: the hub never agrees to a
#   constraint Rego cannot enforce.
enforced_terms := {
	"purpose": {"eq"},
	"edh:project": {"eq"},
	"edh:allowedFields": {"isAllOf"},
	"edh:minCellSize": {"gteq"},
	"edh:releaseMode": {"eq"},
	"dateTime": {"gteq", "lteq"},
}

# METADATA
# description: |
#   A consumer's contract request carries only constraints of enforced_terms, inside the
#   offer's bounds and making valid contract terms (the problems the hub found there).
terms := lib.decision(terms_deny, count(terms_deny) == 0, "the requested terms are terms the hub enforces")

terms_deny contains msg if some msg in lib.input_problems

terms_deny contains msg if some msg in participant_problems

terms_deny contains msg if {
	some c in object.get(lib.obj, ["terms", "constraints"], [])
	not object.get(c, "operator", "") in object.get(enforced_terms, object.get(c, "leftOperand", ""), set())
	msg := sprintf("the constraint %v %v is not a term the hub enforces", [object.get(c, "leftOperand", ""), object.get(c, "operator", "")])
}

terms_deny contains msg if {
	some problem in object.get(lib.obj, ["terms", "problems"], [])
	msg := sprintf("%v", [problem])
}

formats := {"HttpData-PULL"}

# METADATA
# description: |
#   A transfer is granted under a FINALIZED agreement whose assignee is the requesting
#   participant and whose contract is in force, in a format the hub serves (a pull of the sandbox query API).
transfer := lib.decision(transfer_deny, count(transfer_deny) == 0, "the agreement allows this transfer")

transfer_deny contains msg if some msg in lib.input_problems

transfer_deny contains msg if some msg in participant_problems

transfer_deny contains "the agreement is not finalized" if {
	object.get(lib.obj, ["agreement", "state"], "") != "FINALIZED"
}

transfer_deny contains "the agreement was made with another participant" if {
	object.get(lib.obj, ["agreement", "assignee"], "") != participant.id
}

transfer_deny contains "the agreement's contract is not in force" if {
	not object.get(lib.obj, ["contract", "in_force"], false) == true
}

transfer_deny contains "the hub does not serve this format" if {
	not object.get(lib.obj, "format", "") in formats
}
