package edh.lib_test

import data.edh.lib

contracts := {"c1": {
	"id": "c1", "state": "FINALIZED",
	"valid_from": "2026-01-01", "valid_until": "2026-12-31",
}}

test_decision_allows_without_reasons_to_deny if {
	lib.decision(set(), true, "ok") == {"allow": true, "reasons": ["ok"]}
}

test_decision_lists_sorted_reasons if {
	lib.decision({"b", "a"}, true, "ok") == {"allow": false, "reasons": ["a", "b"]}
}

test_decision_denies_when_grounds_fail_without_reason if {
	d := lib.decision(set(), false, "ok")
	d.allow == false
	count(d.reasons) == 1
}

test_is_date if {
	lib.is_date("2026-11-23")
	not lib.is_date("23/11/2026")
	not lib.is_date(20261123)
}

test_within_is_inclusive if {
	lib.within("2026-01-01", "2026-01-01", "2026-12-31")
	lib.within("2026-12-31", "2026-01-01", "2026-12-31")
	not lib.within("2027-01-01", "2026-01-01", "2026-12-31")
}

test_input_problems_on_malformed_input if {
	p := lib.input_problems with input as {"today": "tomorrow", "subject": "x"}
	p == {"input.today must be a date (YYYY-MM-DD)", "input.subject must carry a subject (sub) and a role"}
}

test_input_problems_empty_on_good_input if {
	count(lib.input_problems) == 0 with input as {"today": "2026-05-01", "subject": {"sub": "a", "role": "dpo"}}
}

test_role_problems if {
	count(lib.role_problems({"dpo"})) == 1 with input as {"subject": {"sub": "a", "role": "operator"}}
	count(lib.role_problems({"dpo"})) == 0 with input as {"subject": {"sub": "a", "role": "dpo"}}
}

test_contract_missing_data if {
	lib.contract_problems == {"policy data missing: contracts"} with input as {"contract_id": "c1"}
}

test_contract_unknown if {
	lib.contract_problems == {"contract c9 is unknown"} with input as {"contract_id": "c9", "today": "2026-05-01"}
		with data.edh.contracts as contracts
}

test_contract_in_force if {
	lib.contract_in_force with input as {"contract_id": "c1", "today": "2026-05-01"}
		with data.edh.contracts as contracts
	count(lib.contract_problems) == 0 with input as {"contract_id": "c1", "today": "2026-05-01"}
		with data.edh.contracts as contracts
}

test_contract_not_finalized_and_expired if {
	expired := {"c1": object.union(contracts.c1, {"state": "AGREED"})}
	p := lib.contract_problems with input as {"contract_id": "c1", "today": "2027-01-01"}
		with data.edh.contracts as expired
	p == {
		"contract c1 is AGREED, not FINALIZED",
		"contract c1 is valid from 2026-01-01 until 2026-12-31, not on 2027-01-01",
	}
}
