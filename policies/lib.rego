# METADATA
# title: Shared helpers of the hub's decisions
# description: |
#   The {allow, reasons} decision shape, checks of the common input fields
#   (subject, today) and of the contract named by input.contract_id.
package edh.lib

# METADATA
# description: |
#   Builds a decision document. Allows only when no deny reason exists AND the
#   positive grounds hold (fail closed); a refusal always carries reasons.
decision(deny, granted, grounds) := {"allow": true, "reasons": [grounds]} if {
	count(deny) == 0
	granted == true
} else := {"allow": false, "reasons": sort(deny)} if {
	count(deny) > 0
} else := {"allow": false, "reasons": ["refused: the policy's conditions are not met"]}

# METADATA
# description: True for a string formatted as an ISO date (YYYY-MM-DD).
is_date(value) if {
	is_string(value)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, value)
}

# METADATA
# description: True when ISO date day lies in [from, until] (inclusive).
within(day, from, until) if {
	from <= day
	day <= until
}

# METADATA
# description: The caller's subject and role, or "" when the input lacks them.
sub := object.get(obj, ["subject", "sub"], "")

role := object.get(obj, ["subject", "role"], "")

# METADATA
# description: The input when it is an object, else {} (lookups never raise).
obj := input if {
	is_object(input)
} else := {}

# METADATA
# description: Reasons why the common part of the input is malformed.
input_problems contains "input.today must be a date (YYYY-MM-DD)" if not today_ok

# A rule, not `not is_date(input.today)`: OPA hoists a function's undefined argument
# out of the negation, which would make the check vanish when input.today is missing.
today_ok if is_date(input.today)

input_problems contains "input.subject must carry a subject (sub) and a role" if not subject_ok

subject_ok if {
	is_string(input.subject.sub)
	is_string(input.subject.role)
	input.subject.sub != ""
}

# METADATA
# description: A refusal reason when the caller's role is not one of roles.
role_problems(roles) := {msg} if {
	not role in roles
	msg := sprintf("role %q may not do this (allowed: %s)", [role, concat(", ", sort(roles))])
} else := set()

# METADATA
# description: The contract named by input.contract_id, from data.edh.contracts.
contract := data.edh.contracts[input.contract_id]

# METADATA
# description: Reasons why the contract named by input.contract_id does not let data flow today.
# Whole documents are only read once a lookup failed: reading one costs its size.
contract_problems contains "policy data missing: contracts" if {
	not contract
	not data.edh.contracts
}

contract_problems contains msg if {
	not contract
	data.edh.contracts
	msg := sprintf("contract %v is unknown", [object.get(obj, "contract_id", null)])
}

contract_problems contains msg if {
	contract.state != "FINALIZED"
	msg := sprintf("contract %v is %v, not FINALIZED", [contract.id, contract.state])
}

contract_problems contains msg if {
	contract
	is_date(input.today)
	not within(input.today, contract.valid_from, contract.valid_until)
	msg := sprintf(
		"contract %v is valid from %v until %v, not on %v",
		[contract.id, contract.valid_from, contract.valid_until, input.today],
	)
}

# METADATA
# description: The contract is FINALIZED and today lies in its validity window.
contract_in_force if {
	contract.state == "FINALIZED"
	within(input.today, contract.valid_from, contract.valid_until)
}
