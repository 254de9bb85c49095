# METADATA
# title: Administration
# description: |
#   Decisions edh/admin/registry (organisations, researchers, projects, members) and
#   edh/admin/keys (signing and connector keys). Input: subject {sub, role}, today, action.
package edh.decisions.admin

import data.edh.lib

# METADATA
# description: Only the hub operator administers the registry.
registry := lib.decision(deny, count(deny) == 0, "the operator may administer the registry")

# METADATA
# description: Only the hub operator manages keys.
keys := lib.decision(deny, count(deny) == 0, "the operator may manage keys")

deny contains msg if some msg in lib.input_problems

deny contains msg if some msg in lib.role_problems({"operator"})

deny contains "input.action must name the administrative action" if not action_ok

action_ok if is_string(input.action)
