# METADATA
# title: Sandbox
# description: |
#   Decisions edh/sandbox/query (may this researcher run this query?),
#   edh/sandbox/release (may this result leave the sandbox?) and
#   edh/sandbox/review (may this output checker approve or reject this held result?).
#   Input: subject {sub, role}, today, project_id, contract_id, purpose;
#   query adds tables [view...] and columns [{table, column}...] from DuckDB's own
#   parse of the SQL, row_level (bool) and epsilon (the ε the query asks to spend under
#   differential privacy, or null for the contract's default); release adds job {owner, row_level,
#   disclosure_checked, min_cell_count}; review adds action (read | approve | reject) and
#   job {owner, status, reviewers} (reviewers: who already reviewed it).
package edh.decisions.sandbox

import data.edh.lib

researcher := data.edh.researchers[lib.sub]

project := data.edh.projects[input.project_id]

# METADATA
# description: |
#   Obligations the sandbox must apply to an allowed query: the minimum cell size
#   (the contract's, never below the hub default of 10), row-level output, rounding,
#   and the release path with its privacy budget (differential privacy unless the
#   contract asks for reviewed exact release): epsilon_per_query is what this query
#   spends (the ε it asked for, else the contract's default).
default obligations := {}

obligations := {
	"min_cell_size": max({10, lib.contract.min_cell_size}),
	"row_level": lib.contract.row_level == true,
	"rounding_base": lib.contract.rounding_base,
	"release_mode": release_mode,
	"epsilon_per_query": query_epsilon,
	"epsilon_max_per_query": epsilon_max,
	"epsilon_budget": object.get(lib.contract, "epsilon_budget", 10),
}

epsilon_default := object.get(lib.contract, "epsilon_per_query", 1)

# METADATA
# description: |
#   The most one query may ask to spend: the contract's epsilon_max_per_query (approved
#   by the ethics committee with the other terms), else its epsilon_per_query.
epsilon_max := lib.contract.epsilon_max_per_query if {
	is_number(lib.contract.epsilon_max_per_query)
} else := epsilon_default

query_epsilon := input.epsilon if is_number(input.epsilon) else := epsilon_default

epsilon_ok if object.get(input, "epsilon", null) == null

epsilon_ok if {
	is_number(input.epsilon)
	input.epsilon > 0
}

epsilon_allowed if object.get(input, "epsilon", null) == null

epsilon_allowed if input.epsilon <= epsilon_max

default release_mode := "differential_privacy"

release_mode := "reviewed" if lib.contract.release_mode == "reviewed"

default access_granted := false

access_granted if {
	researcher.revoked == false
	lib.within(input.today, researcher.accredited_from, researcher.accredited_until)
	lib.sub in project.members
	researcher.lab_id == project.lab_id
	lib.contract_in_force
	lib.contract.project_id == input.project_id
	input.purpose == lib.contract.purpose
}

# METADATA
# description: |
#   A query needs an accredited, unrevoked researcher who is a member of the project,
#   a FINALIZED contract of that project covering every table and column touched, the
#   contract's purpose, and row-level output only where the contract allows it.
query := {"allow": true, "reasons": [query_grounds], "obligations": obligations} if {
	query_ok
} else := object.union(lib.decision(query_deny, false, query_grounds), {"obligations": obligations})

query_grounds := "the query is covered by the project's contract"

# METADATA
# description: |
#   The allow path, evaluated first (it is the common case and far cheaper than
#   collecting every reason): exactly the negation of every query_deny rule. When it
#   fails, the reasons are collected.
query_ok if {
	count(lib.input_problems) == 0
	lib.role == "researcher"
	access_granted
	tables_ok
	every table in input.tables {
		table in lib.contract.datasets
	}
	columns_ok
	every c in input.columns {
		c.column in lib.contract.allowed_fields
	}
	row_level_ok
	row_level_allowed
	epsilon_ok
	epsilon_allowed
}

row_level_allowed if input.row_level == false

row_level_allowed if lib.contract.row_level == true

# METADATA
# description: A result leaves the sandbox only for its owner, disclosure-checked, with no cell under k.
release := lib.decision(release_deny, access_granted, "the result may be released")

query_deny contains msg if some msg in access_deny

query_deny contains "input.tables must be a non-empty list of table names" if not tables_ok

tables_ok if {
	is_array(input.tables)
	count(input.tables) > 0
}

query_deny contains msg if {
	extra := {t | some t in input.tables; not t in lib.contract.datasets}
	count(extra) > 0
	msg := sprintf("tables not covered by contract %v: %s", [lib.contract.id, concat(", ", sort(extra))])
}

query_deny contains "input.columns must be a list of {table, column}" if not columns_ok

columns_ok if {
	is_array(input.columns)
	every c in input.columns {
		is_string(c.table)
		is_string(c.column)
	}
}

query_deny contains msg if {
	extra := {sprintf("%s.%s", [c.table, c.column]) |
		some c in input.columns
		not c.column in lib.contract.allowed_fields
	}
	count(extra) > 0
	msg := sprintf("columns not allowed by contract %v: %s", [lib.contract.id, concat(", ", sort(extra))])
}

query_deny contains "input.row_level must be true or false" if not row_level_ok

row_level_ok if is_boolean(input.row_level)

query_deny contains msg if {
	input.row_level == true
	lib.contract.row_level != true
	msg := sprintf("contract %v does not allow row-level output", [lib.contract.id])
}

query_deny contains "input.epsilon must be a positive number or null" if not epsilon_ok

query_deny contains msg if {
	epsilon_ok
	not epsilon_allowed
	msg := sprintf(
		"a query may spend at most %v ε under contract %v (asked: %v)",
		[epsilon_max, lib.contract.id, input.epsilon],
	)
}

release_deny contains msg if some msg in access_deny

release_deny contains "only the researcher who ran the job may release its result" if {
	object.get(lib.obj, ["job", "owner"], null) != lib.sub
}

release_deny contains "the result has not passed output disclosure control" if {
	object.get(lib.obj, ["job", "disclosure_checked"], false) != true
}

release_deny contains msg if {
	object.get(lib.obj, ["job", "row_level"], true) != false
	lib.contract.row_level != true
	msg := sprintf("contract %v does not allow row-level output", [lib.contract.id])
}

release_deny contains msg if {
	not lib.contract.row_level
	input.job.min_cell_count < obligations.min_cell_size
	msg := sprintf("a released cell counts %v pupils, below the minimum of %v", [input.job.min_cell_count, obligations.min_cell_size])
}

release_deny contains "input.job.min_cell_count must be a number" if not cell_count_ok

cell_count_ok if is_number(input.job.min_cell_count)

access_deny contains msg if some msg in lib.input_problems

access_deny contains msg if some msg in lib.role_problems({"researcher"})

access_deny contains msg if some msg in lib.contract_problems

access_deny contains "policy data missing: researchers" if {
	not researcher
	not data.edh.researchers
}

access_deny contains msg if {
	not researcher
	data.edh.researchers
	msg := sprintf("researcher %v is not registered", [lib.sub])
}

access_deny contains msg if {
	researcher.revoked != false
	msg := sprintf("the accreditation of researcher %v is revoked", [lib.sub])
}

access_deny contains msg if {
	researcher
	lib.is_date(input.today)
	not lib.within(input.today, researcher.accredited_from, researcher.accredited_until)
	msg := sprintf(
		"researcher %v is accredited from %v until %v, not on %v",
		[lib.sub, researcher.accredited_from, researcher.accredited_until, input.today],
	)
}

access_deny contains "policy data missing: projects" if {
	not project
	not data.edh.projects
}

access_deny contains msg if {
	not project
	data.edh.projects
	msg := sprintf("project %v is unknown", [object.get(lib.obj, "project_id", null)])
}

access_deny contains msg if {
	not lib.sub in project.members
	msg := sprintf("researcher %v is not a member of project %v", [lib.sub, input.project_id])
}

access_deny contains msg if {
	researcher.lab_id != project.lab_id
	msg := sprintf("researcher %v is not in the lab of project %v", [lib.sub, input.project_id])
}

access_deny contains msg if {
	lib.contract.project_id != input.project_id
	msg := sprintf("contract %v is not bound to project %v", [lib.contract.id, input.project_id])
}

access_deny contains msg if {
	lib.contract
	object.get(lib.obj, "purpose", null) != lib.contract.purpose
	msg := sprintf("the declared purpose does not match the purpose of contract %v", [lib.contract.id])
}

# METADATA
# description: |
#   An output checker may read, approve or reject an exact result held for review:
#   never their own query, and only while the contract is in force; approve or reject
#   only once and only while it is pending review. Two approvals from distinct checkers
#   release it (the hub counts them); any rejection ends it.
review := lib.decision(review_deny, true, "the output checker may review this result")

review_deny contains msg if some msg in lib.input_problems

review_deny contains msg if some msg in lib.role_problems({"output_checker"})

review_deny contains msg if some msg in lib.contract_problems

review_deny contains "input.action must be read, approve or reject" if {
	not object.get(lib.obj, "action", null) in {"read", "approve", "reject"}
}

review_deny contains "an output checker may not review their own query" if {
	object.get(lib.obj, ["job", "owner"], lib.sub) == lib.sub
}

review_deny contains msg if {
	input.action != "read"
	lib.sub in object.get(lib.obj, ["job", "reviewers"], [])
	msg := sprintf("output checker %v has already reviewed this result", [lib.sub])
}

review_deny contains "input.job.reviewers must be a list" if {
	not is_array(object.get(lib.obj, ["job", "reviewers"], null))
}

review_deny contains "the result is not pending review" if {
	input.action != "read"
	object.get(lib.obj, ["job", "status"], null) != "pending_review"
}

review_deny contains msg if {
	lib.contract.project_id != object.get(lib.obj, "project_id", null)
	msg := sprintf("contract %v is not bound to project %v", [lib.contract.id, input.project_id])
}
