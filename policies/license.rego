# Steward's default license policy.
#
# Input: `steward.gate-input/v1` (see docs/POLICIES.md): `input.drift` is the
# scanner's `steward.drift/v1` report, `input.now` the evaluation time.
# Output: `report` = {"verdict": allow|review|deny, "decisions": [...]},
# one decision per judged finding.
#
# Configuration lives in data/licenses.yaml (verdict per license category,
# explicit allow/review/deny lists) and data/exceptions.yaml.
package steward.license

import rego.v1

import data.steward.exceptions

severity := {"allow": 0, "review": 1, "deny": 2}

# Findings that carry a new license state: the license changed, became
# unknown, a package arrived, or a new version's license is the first one
# known (the old version had no evidence at all: judged like an added
# package's license, though it is not counted as a license change).
judged_codes := {"license-changed", "license-now-unknown", "added", "license-first-known"}

report := {
	"verdict": overall,
	"decisions": [d | some d in decisions],
}

overall := worst([d.verdict | some d in decisions])

decisions contains decision(i, f) if {
	some i, f in input.drift.findings
	f.code in judged_codes
}

# A Go module whose zip from the proxy does not match its `h1:` line in
# go.sum: the code is not what the project locked, whatever its license.
# Denied; exceptions are about licenses, so none applies.
decisions contains {
	"finding": i,
	"verdict": "deny",
	"rule": "integrity.module-hash-mismatch",
	"message": sprintf("%s: the module zip does not match go.sum (%s)", [
		subject(f), object.get(f, "message", "no details"),
	]),
} if {
	some i, f in input.drift.findings
	f.code == "module-hash-mismatch"
}

# A package whose manifest names one license and whose license text says
# another (`MIT` in package.json, an SSPL LICENSE): a person looks, whatever
# either license is.
decisions contains d if {
	some i, f in input.drift.findings
	f.code == "license-field-disagrees-with-text"
	d := {
		"finding": i,
		"verdict": "review",
		"rule": "licenses.field-disagrees-with-text",
		"message": sprintf("%s: the license field and the license text disagree (%s)", [subject(f), f.message]),
	}
}

# The same name@version with other bytes than before (the lockfile's
# integrity hash or checksum changed): a republished or substituted
# package. A person looks, whatever its license.
decisions contains d if {
	some i, f in input.drift.findings
	f.code == "integrity-changed"
	d := {
		"finding": i,
		"verdict": "review",
		"rule": "integrity.changed",
		"message": sprintf("%s: the same version has other bytes than before (%s)", [subject(f), f.message]),
	}
}

# The license decision and the matching exceptions are evaluated once per
# finding (regorus does not memoise function calls, and this runs for every
# package of an SBOM), then one of the two bodies below shapes the decision.
decision(i, f) := with_exceptions(i, f, license_decision(f), exceptions.active_matches(f))

# An active exception turns any verdict into allow and says who granted it.
with_exceptions(i, f, base, active) := d if {
	count(active) > 0
	e := active[0]
	d := object.union(base, {
		"finding": i,
		"verdict": "allow",
		"rule": "exception",
		"message": sprintf("%s: allowed by exception %s (%s), granted by %s until %s; without it: %s", [
			subject(f), e.id, e.reason, e.granted_by, e.expires, base.message,
		]),
		"exception": {"id": e.id, "reason": e.reason, "granted_by": e.granted_by, "expires": e.expires},
	})
}

# Otherwise the license decides; exceptions that matched but expired are
# named so nobody wonders why the gate fails again.
with_exceptions(i, f, base, active) := d if {
	count(active) == 0
	expired := exceptions.expired_matches(f)
	d := object.union(base, {
		"finding": i,
		"message": concat("", [base.message, expired_note(expired)]),
		"expired_exceptions": [{"id": e.id, "expired": e.expires} | some e in expired],
	})
}

expired_note(expired) := "" if count(expired) == 0

expired_note(expired) := sprintf(" (exception %s expired on %s)", [expired[0].id, expired[0].expires]) if {
	count(expired) > 0
}

# ---------------------------------------------------------------------------
# The license of the finding's new state.

license_decision(f) := {
	"verdict": unknown_verdict,
	"rule": "licenses.unknown",
	"message": sprintf("%s: the license is unknown (%s)", [subject(f), object.get(f, ["new_license", "unknown_reason"], "no data")]),
} if {
	not f.new_license.expression
}

license_decision(f) := {
	"verdict": chosen.verdict,
	"rule": chosen.rule,
	"choice": chosen.expression,
	"message": license_message(f, chosen),
} if {
	f.new_license.expression
	chosen := choice_by_facts[facts_key(f)]
}

# The best choice depends only on the license facts, and an SBOM repeats a
# handful of license states across hundreds of packages: each distinct
# state is judged once per evaluation (a rule is evaluated once per input;
# a function is evaluated at every call).
facts_key(f) := json.marshal(f.new_license.facts)

distinct_facts := {facts_key(f): f.new_license.facts |
	some f in input.drift.findings
	f.new_license.expression
}

choice_by_facts[k] := best_choice(x) if some k, x in distinct_facts

unknown_verdict := object.get(data.licenses, "unknown", "review")

# Every OR alternative is judged on its own; the licensee takes the most
# lenient one, and the report says which.
best_choice(facts) := chosen if {
	judged := [choice_verdict(facts, c) | some c in facts.choices]
	best := min([severity[j.verdict] | some j in judged])
	chosen := [j | some j in judged; severity[j.verdict] == best][0]
}

# A choice (an AND of terms) is as strict as its strictest term.
choice_verdict(facts, choice) := {"expression": choice.expression, "verdict": v, "rule": r} if {
	terms := [term_verdict(facts, t) | some t in choice.licenses]
	strictest := max([severity[t.verdict] | some t in terms])
	first := [t | some t in terms; severity[t.verdict] == strictest][0]
	v := first.verdict
	r := first.rule
}

# Lists may name a term with its exception (`GPL-2.0-only WITH
# Classpath-exception-2.0`) or just the license id.
listed(term, list) if term in list

listed(term, list) if split(term, " WITH ")[0] in list

term_verdict(facts, term) := {"verdict": "deny", "rule": "licenses.deny"} if listed(term, data.licenses.deny)

else := {"verdict": "review", "rule": "licenses.review"} if listed(term, data.licenses.review)

else := {"verdict": "allow", "rule": "licenses.allow"} if listed(term, data.licenses.allow)

else := {"verdict": verdict, "rule": sprintf("licenses.categories.%s", [category])} if {
	category := term_category(facts, term)
	verdict := object.get(data.licenses.categories, category, unknown_verdict)
}

term_category(facts, term) := c if {
	c := [l.category | some l in facts.licenses; l.license == term][0]
} else := "unknown"

# ---------------------------------------------------------------------------
# Messages.

subject(f) := sprintf("%s %s", [f.name, object.get(f, "new_version", object.get(f, "old_version", ""))])

license_message(f, chosen) := sprintf("%s: %s → %s is %s (%s)", [
	subject(f), old_license(f), f.new_license.expression, verb(chosen.verdict), chosen.rule,
]) if {
	not f.code in {"added", "license-first-known"}
}

license_message(f, chosen) := sprintf("%s: license %s (first known; %s had no license evidence) is %s (%s)", [
	subject(f), f.new_license.expression, object.get(f, "old_version", "the old version"), verb(chosen.verdict), chosen.rule,
]) if {
	f.code == "license-first-known"
}

license_message(f, chosen) := sprintf("%s: new dependency under %s is %s (%s)", [
	subject(f), f.new_license.expression, verb(chosen.verdict), chosen.rule,
]) if {
	f.code == "added"
}

old_license(f) := f.old_license.expression

old_license(f) := "unknown" if not f.old_license.expression

verb("allow") := "allowed"

verb("review") := "needs review"

verb("deny") := "denied"

# ---------------------------------------------------------------------------
# Helpers.

worst(verdicts) := "allow" if count(verdicts) == 0

worst(verdicts) := [v | some v, s in severity; s == max([severity[x] | some x in verdicts])][0] if {
	count(verdicts) > 0
}
