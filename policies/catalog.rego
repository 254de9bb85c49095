# METADATA
# title: Catalog
# description: |
#   Decisions edh/catalog/read and edh/catalog/publish.
#   Input: subject {sub, role, org}, today; for publish also provider_id (the
#   organisation whose dataset is published).
package edh.decisions.catalog

import data.edh.lib

readers := {"operator", "provider", "researcher", "ethics_reviewer", "dpo"}

# METADATA
# description: Every authenticated role but connectors may browse the catalog.
read := lib.decision(read_deny, count(read_deny) == 0, "this role may browse the catalog")

read_deny contains msg if some msg in lib.input_problems

read_deny contains msg if some msg in lib.role_problems(readers)

# METADATA
# description: Operators publish any dataset; a provider only its own organisation's.
publish := lib.decision(publish_deny, count(publish_deny) == 0, "this role may publish the dataset")

publish_deny contains msg if some msg in lib.input_problems

publish_deny contains msg if some msg in lib.role_problems({"operator", "provider"})

publish_deny contains msg if {
	lib.role == "provider"
	object.get(lib.obj, ["subject", "org"], null) != object.get(lib.obj, "provider_id", "")
	msg := "a provider may only publish its own organisation's datasets"
}
