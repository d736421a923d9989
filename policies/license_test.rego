# Tests for the default policy: `steward policy test` runs every `test_`
# rule; each must evaluate to true.
package steward.license_test

import rego.v1

import data.steward.license

now := "2026-11-27T12:00:00Z"

# A finding as the scanner reports it, with facts for one license per term.
finding(code, name, old, new_choices, categories) := {
	"code": code,
	"graph": "package-lock.json",
	"ecosystem": "npm",
	"name": name,
	"purl": sprintf("pkg:npm/%s@2.0.0", [name]),
	"old_version": "1.0.0",
	"new_version": "2.0.0",
	"old_license": {"expression": old},
	"new_license": {
		"expression": concat(" OR ", [concat(" AND ", c) | some c in new_choices]),
		"canonical": concat(" OR ", [concat(" AND ", c) | some c in new_choices]),
		"facts": {
			"choices": [{"expression": concat(" AND ", c), "licenses": c} | some c in new_choices],
			"licenses": [{"license": l, "category": categories[l]} | some l, _ in categories],
		},
	},
}

input_with(findings) := {"schema": "steward.gate-input/v1", "now": now, "context": {}, "drift": {"findings": findings}}

sspl := finding("license-changed", "left-pad", "Apache-2.0", [["SSPL-1.0"]], {"SSPL-1.0": "source-available"})

mit := finding("license-changed", "right-pad", "ISC", [["MIT"]], {"MIT": "permissive"})

gpl := finding("license-changed", "gplish", "MIT", [["GPL-3.0-only"]], {"GPL-3.0-only": "strong-copyleft"})

dual := finding(
	"license-changed", "dual", "MIT", [["GPL-3.0-only"], ["MIT"]],
	{"GPL-3.0-only": "strong-copyleft", "MIT": "permissive"},
)

test_no_findings_is_allow if {
	r := license.report with input as input_with([])
	r.verdict == "allow"
	count(r.decisions) == 0
}

test_source_available_is_denied_by_the_deny_list if {
	r := license.report with input as input_with([sspl])
	r.verdict == "deny"
	r.decisions[0].rule == "licenses.deny"
	r.decisions[0].finding == 0
	contains(r.decisions[0].message, "Apache-2.0 → SSPL-1.0 is denied")
}

test_category_decides_when_no_list_names_the_license if {
	r := license.report with input as input_with([sspl]) with data.licenses.deny as []
	r.decisions[0].rule == "licenses.categories.source-available"
	r.verdict == "deny"
}

test_permissive_is_allowed if {
	r := license.report with input as input_with([mit])
	r.verdict == "allow"
	r.decisions[0].rule == "licenses.categories.permissive"
}

test_strong_copyleft_needs_review if {
	r := license.report with input as input_with([gpl])
	r.verdict == "review"
}

test_or_takes_the_most_lenient_choice_and_says_which if {
	r := license.report with input as input_with([dual])
	r.verdict == "allow"
	r.decisions[0].choice == "MIT"
}

test_and_is_as_strict_as_its_strictest_term if {
	both := finding("license-changed", "both", "MIT", [["MIT", "SSPL-1.0"]], {"MIT": "permissive", "SSPL-1.0": "source-available"})
	r := license.report with input as input_with([both])
	r.verdict == "deny"
}

test_unknown_license_needs_review if {
	f := object.union(object.remove(sspl, ["new_license"]), {
		"code": "license-now-unknown",
		"new_license": {"unknown_reason": "no license field"},
	})
	r := license.report with input as input_with([f])
	r.verdict == "review"
	r.decisions[0].rule == "licenses.unknown"
	contains(r.decisions[0].message, "no license field")
}

test_added_dependency_is_judged_too if {
	f := object.union(sspl, {"code": "added"})
	r := license.report with input as input_with([f])
	r.verdict == "deny"
	contains(r.decisions[0].message, "new dependency under SSPL-1.0")
}

test_module_hash_mismatch_is_denied_without_exception if {
	f := {
		"code": "module-hash-mismatch",
		"graph": "go.mod",
		"ecosystem": "go",
		"name": "example.com/mitlib",
		"new_version": "v1.2.0",
		"new_license": {"unknown_reason": "the module zip hashes to h1:AAAA but go.sum says h1:GS5/"},
		"message": "example.com/mitlib v1.2.0: module-hash-mismatch: the module zip hashes to h1:AAAA",
	}
	r := license.report with input as input_with([mit, f])
	r.verdict == "deny"
	count(r.decisions) == 2
	d := [x | some x in r.decisions; x.finding == 1][0]
	d.verdict == "deny"
	d.rule == "integrity.module-hash-mismatch"
	contains(d.message, "example.com/mitlib v1.2.0: the module zip does not match go.sum")
}

test_version_only_changes_are_not_judged if {
	f := object.union(mit, {"code": "version-changed"})
	r := license.report with input as input_with([f, sspl])
	count(r.decisions) == 1
	r.decisions[0].finding == 1
}

# Issue 12: evidence found on one side only for the same name@version is
# informational; neither an unknown nor an SSPL state behind it is judged.
test_evidence_gained_and_lost_are_not_judged if {
	lost := object.union(sspl, {"code": "evidence-lost"})
	gained := object.union(sspl, {"code": "evidence-gained"})
	r := license.report with input as input_with([lost, gained])
	count(r.decisions) == 0
	r.verdict == "allow"
}

# Issue 12: a new version whose old version had no license evidence at all
# (the registry no longer has it) is not a license change, but its license
# is judged like an added package's: denied, reviewed or allowed.
first_known(f) := object.remove(object.union(f, {"code": "license-first-known"}), ["old_license"])

test_first_known_license_is_judged_like_an_added_one if {
	r := license.report with input as input_with([first_known(sspl), first_known(mit)])
	count(r.decisions) == 2
	r.verdict == "deny"
	some denied in r.decisions
	denied.finding == 0
	denied.verdict == "deny"
	denied.rule == "licenses.deny"
	denied.message == "left-pad 2.0.0: license SSPL-1.0 (first known; 1.0.0 had no license evidence) is denied (licenses.deny)"
	some allowed in r.decisions
	allowed.finding == 1
	allowed.verdict == "allow"
}

test_first_known_license_of_an_unknown_category_is_reviewed if {
	odd := finding("license-first-known", "odd", "", [["LicenseRef-Vendor"]], {"LicenseRef-Vendor": "unknown"})
	r := license.report with input as input_with([odd])
	r.verdict == "review"
	r.decisions[0].rule == "licenses.categories.unknown"
}

test_first_known_license_takes_exceptions if {
	r := license.report with input as input_with([first_known(sspl)]) with data.exceptions as [exception]
	r.verdict == "allow"
	r.decisions[0].rule == "exception"
}

# Issue 12: the same name@version with another integrity hash is reviewed,
# whatever its license.
test_integrity_changed_needs_review if {
	f := object.union(mit, {"code": "integrity-changed", "old_version": "2.0.0", "message": "right-pad 2.0.0: other bytes"})
	r := license.report with input as input_with([f])
	r.verdict == "review"
	r.decisions[0].rule == "integrity.changed"
	r.decisions[0].message == "right-pad 2.0.0: the same version has other bytes than before (right-pad 2.0.0: other bytes)"
}

test_worst_decision_wins if {
	r := license.report with input as input_with([mit, gpl, sspl])
	r.verdict == "deny"
	count(r.decisions) == 3
}

exception := {
	"id": "EX-1",
	"package": "left-pad",
	"version": ">=2.0.0, <3.0.0",
	"license": "SSPL-1.0",
	"reason": "internal tool",
	"granted_by": "legal",
	"expires": "2026-12-31",
}

test_active_exception_allows_and_is_named if {
	r := license.report with input as input_with([sspl]) with data.exceptions as [exception]
	r.verdict == "allow"
	r.decisions[0].rule == "exception"
	r.decisions[0].exception.id == "EX-1"
	contains(r.decisions[0].message, "granted by legal")
}

test_expired_exception_no_longer_applies_and_the_report_says_so if {
	old := object.union(exception, {"expires": "2026-11-01"})
	r := license.report with input as input_with([sspl]) with data.exceptions as [old]
	r.verdict == "deny"
	r.decisions[0].expired_exceptions[0].id == "EX-1"
	contains(r.decisions[0].message, "exception EX-1 expired on 2026-11-01")
}

test_exception_outside_its_version_range_does_not_apply if {
	narrow := object.union(exception, {"version": ">=3.0.0"})
	r := license.report with input as input_with([sspl]) with data.exceptions as [narrow]
	r.verdict == "deny"
}

test_exception_for_another_license_does_not_apply if {
	other := object.union(exception, {"license": "BUSL-1.1"})
	r := license.report with input as input_with([sspl]) with data.exceptions as [other]
	r.verdict == "deny"
}

test_exception_by_purl_glob if {
	by_purl := object.remove(object.union(exception, {"purl": "pkg:npm/left-*"}), ["package"])
	r := license.report with input as input_with([sspl]) with data.exceptions as [by_purl]
	r.verdict == "allow"
}

test_exception_for_some_projects_applies_only_to_them if {
	scoped := object.union(exception, {"projects": ["octo/app"]})
	mine := object.union(input_with([sspl]), {"context": {"repository": "octo/app"}})
	theirs := object.union(input_with([sspl]), {"context": {"repository": "octo/other"}})
	license.report.verdict == "allow" with input as mine with data.exceptions as [scoped]
	license.report.verdict == "deny" with input as theirs with data.exceptions as [scoped]
	license.report.verdict == "deny" with input as input_with([sspl]) with data.exceptions as [scoped]
}

test_exception_expiring_today_still_applies_until_the_end_of_the_day if {
	today := object.union(exception, {"expires": "2026-11-27"})
	r := license.report with input as input_with([sspl]) with data.exceptions as [today]
	r.verdict == "allow"
}

test_lists_match_a_term_with_an_exception_by_its_license_id if {
	f := finding(
		"license-changed", "jdkish", "MIT", [["GPL-2.0-only WITH Classpath-exception-2.0"]],
		{"GPL-2.0-only WITH Classpath-exception-2.0": "strong-copyleft"},
	)
	r := license.report with input as input_with([f]) with data.licenses.allow as ["GPL-2.0-only"]
	r.verdict == "allow"
	r.decisions[0].rule == "licenses.allow"
}

test_field_disagreeing_with_text_needs_review if {
	f := object.union(mit, {
		"code": "license-field-disagrees-with-text",
		"message": "right-pad 2.0.0: license field \"MIT\" disagrees with the license text LICENSE (SSPL-1.0)",
	})
	r := license.report with input as input_with([f])
	r.verdict == "review"
	r.decisions[0].rule == "licenses.field-disagrees-with-text"
}
