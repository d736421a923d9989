# Steward's default credit policy: points for merged work.
#
# Input: `steward.credit-input/v1` (see docs/CREDIT.md): the evaluation
# time (`now`, the merge time) and the change: source, repository, number,
# labels, changed paths, the author and the co-authors (each with the
# forge's numeric user id and login).
# Output: `report` = {"awards": [...], "unidentified_co_authors": [...]};
# each award {"rule", "category", "rule_points", "contributor" (user id),
# "login", "role" (author | co-author), "points"} with points > 0.
#
# Rules and the split live in data/credit.yaml.
package steward.credit

import rego.v1

report := {
	"awards": awards,
	"unidentified_co_authors": unidentified,
}

change := input.change

labels := {l | some l in change.labels}

# ---------------------------------------------------------------------------
# Who earns: nobody when the author is excluded.

excluded if change.author.login in data.credit.exclude_authors

excluded if {
	data.credit.exclude_bots
	change.author.type == "Bot"
}

# ---------------------------------------------------------------------------
# Which rules apply.

repository_ok(r) if not r.repositories

repository_ok(r) if {
	some p in r.repositories
	glob.match(p, ["/"], change.repository)
}

labels_ok(r) if not r.labels

labels_ok(r) if {
	some l in r.labels
	l in labels
}

paths_ok(r) if not r.paths

paths_ok(r) if {
	some p in r.paths
	some f in change.changed_paths
	glob.match(p, ["/"], f)
}

from_ok(r) if not r.from

from_ok(r) if time.parse_rfc3339_ns(input.now) >= time.parse_rfc3339_ns(r.from)

until_ok(r) if not r.until

until_ok(r) if time.parse_rfc3339_ns(input.now) < time.parse_rfc3339_ns(r.until)

applies(r) if {
	not excluded
	repository_ok(r)
	labels_ok(r)
	paths_ok(r)
	from_ok(r)
	until_ok(r)
}

specific contains r.name if {
	some r in data.credit.rules
	not r.fallback
	applies(r)
}

matched contains name if some name in specific

matched contains r.name if {
	some r in data.credit.rules
	r.fallback
	applies(r)
	count(specific) == 0
}

# ---------------------------------------------------------------------------
# Who shares: the author, then each identified co-author once, in trailer
# order.

identified(c) if is_number(c.id)

repeated(i, id) if {
	some j, d in change.co_authors
	j < i
	d.id == id
}

co_authors := [{"id": c.id, "login": c.login, "role": "co-author"} |
	some i, c in change.co_authors
	identified(c)
	c.id != change.author.id
	not repeated(i, c.id)
]

unidentified := [c.name | some c in change.co_authors; not identified(c)]

split := object.get(data.credit, ["co_authors", "split"], "even")

people := array.concat([{"id": change.author.id, "login": change.author.login, "role": "author"}], co_authors) if split == "even"

people := [{"id": change.author.id, "login": change.author.login, "role": "author"}] if split == "author-only"

# floor(points / n), plus one for the first points % n people.
share(points, i) := ((points - (points % count(people))) / count(people)) + extra(points, i)

extra(points, i) := 1 if i < points % count(people)

extra(points, i) := 0 if i >= points % count(people)

awards := [a |
	some r in data.credit.rules
	r.name in matched
	some i, p in people
	s := share(r.points, i)
	s > 0
	a := {
		"rule": r.name,
		"category": r.category,
		"rule_points": r.points,
		"contributor": p.id,
		"login": p.login,
		"role": p.role,
		"points": s,
	}
]
