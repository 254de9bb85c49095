package edh.decisions.catalog_test

import data.edh.decisions.catalog

subject(role) := {"sub": "u1", "role": role, "org": "p1"}

test_read_by_researcher if {
	catalog.read.allow with input as {"subject": subject("researcher"), "today": "2026-05-01"}
}

test_read_denied_to_connector if {
	d := catalog.read with input as {"subject": subject("connector"), "today": "2026-05-01"}
	not d.allow
}

test_read_denied_on_malformed_input if {
	d := catalog.read with input as {"subject": subject("dpo")}
	d.reasons == ["input.today must be a date (YYYY-MM-DD)"]
}

test_publish_by_own_provider if {
	catalog.publish.allow with input as {"subject": subject("provider"), "today": "2026-05-01", "provider_id": "p1"}
}

test_publish_denied_to_other_provider if {
	d := catalog.publish with input as {"subject": subject("provider"), "today": "2026-05-01", "provider_id": "p2"}
	d.reasons == ["a provider may only publish its own organisation's datasets"]
}

test_publish_denied_to_researcher_and_bad_input if {
	d := catalog.publish with input as {"subject": subject("researcher")}
	count(d.reasons) == 2
}
