# Tests for the credit policy: `steward policy test` runs every `test_`
# rule; each must evaluate to true.
package steward.credit_test

import rego.v1

import data.steward.credit

author := {"id": 583231, "login": "octocat", "type": "User"}

pr(labels, paths, co_authors) := {
	"schema": "steward.credit-input/v1",
	"now": "2026-11-27T12:00:00Z",
	"change": {
		"source": "github",
		"repository": "octo/app",
		"number": 7,
		"labels": labels,
		"changed_paths": paths,
		"author": author,
		"co_authors": co_authors,
	},
}

awarded(r) := {[a.rule, a.contributor, a.points] | some a in r.awards}

test_e_easy_fix_earns_five if {
	r := credit.report with input as pr(["E-easy"], ["src/lib.rs"], [])
	awarded(r) == {["fix-e-easy", 583231, 5]}
	some a in r.awards
	a.category == "code"
	a.role == "author"
}

test_docs_example_and_ci_template_earn_twenty_and_fifty if {
	d := credit.report with input as pr(["docs-example"], ["examples/a.rs"], [])
	awarded(d) == {["docs-example", 583231, 20]}
	c := credit.report with input as pr(["ci-template"], ["templates/x.yml"], [])
	awarded(c) == {["ci-template", 583231, 50]}
}

test_every_matching_rule_awards_separately if {
	r := credit.report with input as pr(["E-easy"], [".github/workflows/ci.yml", "README.md"], [])
	awarded(r) == {["fix-e-easy", 583231, 5], ["ci-maintenance", 583231, 15], ["docs-change", 583231, 3]}
}

test_paths_match_with_globs_across_directories_only_with_double_star if {
	r := credit.report with input as pr([], ["docs/guide/intro.md"], [])
	awarded(r) == {["docs-change", 583231, 3]}
	s := credit.report with input as pr([], ["src/docs.md"], [])
	awarded(s) == {["merged-change", 583231, 1]}
}

test_fallback_only_when_nothing_else_applies if {
	r := credit.report with input as pr(["bug"], ["src/main.rs"], [])
	awarded(r) == {["merged-change", 583231, 1]}
}

test_bots_and_excluded_authors_earn_nothing if {
	bot := object.union(pr(["E-easy"], [], []), {"change": object.union(pr([], [], []).change, {"labels": ["E-easy"], "author": {"id": 49699333, "login": "dependabot[bot]", "type": "Bot"}})})
	r := credit.report with input as bot
	r.awards == []
}

test_co_authors_split_evenly_remainder_to_the_author_first if {
	co := [{"id": 2, "login": "hubot", "name": "Hubot"}, {"id": 3, "login": "monalisa", "name": "Mona"}]
	r := credit.report with input as pr(["docs-example"], [], co)
	# 20 points among 3: 7 + 7 + 6 (floor 6, remainder 2 to the first two)
	awarded(r) == {["docs-example", 583231, 7], ["docs-example", 2, 7], ["docs-example", 3, 6]}
	sum([a.points | some a in r.awards]) == 20
}

test_small_rule_split_leaves_out_zero_shares if {
	co := [{"id": 2, "login": "hubot", "name": "Hubot"}, {"id": 3, "login": "monalisa", "name": "Mona"}]
	r := credit.report with input as pr([], ["src/x.rs"], co)
	# 1 point among 3: only the author gets it
	awarded(r) == {["merged-change", 583231, 1]}
}

test_duplicate_and_self_co_authors_count_once if {
	co := [{"id": 2, "login": "hubot", "name": "Hubot"}, {"id": 583231, "login": "octocat", "name": "Octo"}, {"id": 2, "login": "hubot", "name": "Hubot again"}]
	r := credit.report with input as pr(["docs-example"], [], co)
	awarded(r) == {["docs-example", 583231, 10], ["docs-example", 2, 10]}
}

test_unidentified_co_authors_are_named_and_do_not_dilute if {
	co := [{"name": "Someone Else", "email": "someone@example.org"}]
	r := credit.report with input as pr(["E-easy"], [], co)
	awarded(r) == {["fix-e-easy", 583231, 5]}
	r.unidentified_co_authors == ["Someone Else"]
}

test_author_only_split_from_data if {
	co := [{"id": 2, "login": "hubot", "name": "Hubot"}]
	r := credit.report with input as pr(["E-easy"], [], co) with data.credit.co_authors.split as "author-only"
	awarded(r) == {["fix-e-easy", 583231, 5]}
}

test_rules_can_be_limited_in_time_and_repository if {
	rules := [{"name": "campaign", "category": "docs", "points": 8, "labels": ["docs-example"], "from": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z", "repositories": ["octo/*"]}]
	inside := credit.report with input as pr(["docs-example"], [], []) with data.credit.rules as rules
	awarded(inside) == {["campaign", 583231, 8]}
	late := object.union(pr(["docs-example"], [], []), {"now": "2026-12-01T00:00:00Z"})
	after := credit.report with input as late with data.credit.rules as rules
	after.awards == []
	other := object.union(pr(["docs-example"], [], []), {"change": object.union(pr(["docs-example"], [], []).change, {"repository": "other/app"})})
	elsewhere := credit.report with input as other with data.credit.rules as rules
	elsewhere.awards == []
}
