# METADATA
# title: Data space (Dataspace Protocol 2025-1)
# description: |
#   Decisions edh/dataspace/dataset, edh/dataspace/negotiate, edh/dataspace/terms,
#   edh/dataspace/transfer, edh/dataspace/agreement, edh/dataspace/pull and
#   edh/dataspace/push.
#   Input: subject {sub, role, org} (the participant acting), today, participant
#   {id, trusted}; dataset {id, offered} for dataset; negotiation {counterparty,
#   state}, step and sender for negotiate; terms {constraints [{leftOperand,
#   operator}], problems [...]} for terms; agreement {assignee, state}, contract
#   {in_force} and format for transfer; negotiation {consumer_org, dataset} and contract
#   {lab, datasets, in_force, problems, taken} for agreement; transfer {exists, state},
#   granted and token {contract, project, researcher}, caller {sub} and contract
#   {in_force, problems} for pull; transfer {exists, state, role, format}, granted and
#   token {contract, connector} and batch {contract} for push.
#   The state machine itself (which step is legal in which state) is the
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

# Reasons (strings) the hub found why the contract does not let data flow today.
contract_reasons contains msg if {
	some problem in object.get(lib.obj, ["contract", "problems"], [])
	msg := sprintf("%v", [problem])
}

contract_reasons contains "the contract is not in force" if {
	not object.get(lib.obj, ["contract", "in_force"], false) == true
	count(object.get(lib.obj, ["contract", "problems"], [])) == 0
}

# METADATA
# description: |
#   A contract becomes the agreement of a negotiation of the hub as provider only when it
#   is in force, made for the lab the consumer acts for, covers the negotiated dataset and
#   is not yet the agreement of another negotiation (one agreement per contract version).
agreement := lib.decision(agreement_deny, count(agreement_deny) == 0, "the contract may be this negotiation's agreement")

agreement_deny contains msg if some msg in lib.input_problems

agreement_deny contains msg if some msg in contract_reasons

agreement_deny contains "the consumer does not act for the contract's lab" if {
	not consumer_of_contract_lab
}

consumer_of_contract_lab if {
	lab := object.get(lib.obj, ["contract", "lab"], "")
	is_string(lab)
	lab != ""
	object.get(lib.obj, ["negotiation", "consumer_org"], null) == lab
}

agreement_deny contains "the contract does not cover the negotiated dataset" if {
	not object.get(lib.obj, ["negotiation", "dataset"], null) in object.get(lib.obj, ["contract", "datasets"], [])
}

agreement_deny contains "this contract version is already the agreement of a negotiation" if {
	not object.get(lib.obj, ["contract", "taken"], true) == false
}

# METADATA
# description: |
#   A scoped pull token opens a query only while its transfer exists and is STARTED, the
#   transfer's agreement grants exactly the token's contract and project, that contract
#   is in force, and the caller is the researcher the transfer was asked for and the
#   token issued to (its subject).
pull := lib.decision(pull_deny, count(pull_deny) == 0, "the token may query its transfer's project now")

pull_deny contains msg if some msg in lib.input_problems

pull_deny contains "no such transfer" if {
	not object.get(lib.obj, ["transfer", "exists"], false) == true
}

pull_deny contains msg if {
	object.get(lib.obj, ["transfer", "exists"], false) == true
	state := object.get(lib.obj, ["transfer", "state"], "")
	state != "STARTED"
	msg := sprintf("the transfer is %v, not STARTED", [state])
}

pull_deny contains "the transfer grants no project of the hub" if {
	object.get(lib.obj, ["transfer", "exists"], false) == true
	not token_scope_granted
}

token_scope_granted if {
	granted := object.get(lib.obj, "granted", {})
	token := object.get(lib.obj, "token", {})
	is_string(granted.project)
	granted.project != ""
	granted.contract == token.contract
	granted.project == token.project
}

pull_deny contains msg if {
	token_scope_granted
	some msg in contract_reasons
}

pull_deny contains "the transfer names no researcher" if {
	object.get(lib.obj, ["transfer", "exists"], false) == true
	not researcher_named
}

researcher_named if {
	researcher := object.get(lib.obj, ["granted", "researcher"], "")
	is_string(researcher)
	researcher != ""
}

pull_deny contains "the token was issued to another researcher than the transfer's" if {
	researcher_named
	object.get(lib.obj, ["token", "researcher"], "") != lib.obj.granted.researcher
}

pull_deny contains "the caller is not the researcher the token was issued to" if {
	researcher_named
	object.get(lib.obj, ["caller", "sub"], "") != object.get(lib.obj, ["token", "researcher"], "")
}

# METADATA
# description: |
#   A push token (the data address the hub gave a vendor's connector) takes a batch only
#   while its transfer exists, is a push of the hub as consumer and is STARTED, the token
#   is the one of the transfer's contract and connector, and the batch is of that
#   contract.
push := lib.decision(push_deny, count(push_deny) == 0, "the token may push this batch to its transfer now")

push_deny contains msg if some msg in lib.input_problems

push_deny contains "no such transfer" if {
	not object.get(lib.obj, ["transfer", "exists"], false) == true
}

push_deny contains msg if {
	object.get(lib.obj, ["transfer", "exists"], false) == true
	state := object.get(lib.obj, ["transfer", "state"], "")
	state != "STARTED"
	msg := sprintf("the transfer is %v, not STARTED", [state])
}

push_deny contains "the transfer is not a push to the hub" if {
	object.get(lib.obj, ["transfer", "exists"], false) == true
	not push_transfer
}

push_transfer if {
	object.get(lib.obj, ["transfer", "role"], "") == "consumer"
	object.get(lib.obj, ["transfer", "format"], "") == "HttpData-PUSH"
}

push_deny contains "the token is not the one of the transfer's contract and connector" if {
	object.get(lib.obj, ["transfer", "exists"], false) == true
	not push_token_granted
}

push_token_granted if {
	granted := object.get(lib.obj, "granted", {})
	is_string(granted.contract)
	granted.contract != ""
	is_string(granted.connector)
	granted.connector != ""
	object.get(lib.obj, ["token", "contract"], "") == granted.contract
	object.get(lib.obj, ["token", "connector"], "") == granted.connector
}

push_deny contains "the batch is not of the transfer's contract" if {
	object.get(lib.obj, ["transfer", "exists"], false) == true
	object.get(lib.obj, ["batch", "contract"], "") != object.get(lib.obj, ["granted", "contract"], null)
}
