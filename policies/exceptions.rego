# License exceptions: data/exceptions.yaml, plus exceptions granted by
# governance decisions (merged into data.exceptions by the server).
#
# An exception matches a finding by package name or purl glob (`*` within
# one path segment, `**` across segments), optionally
# a version range ("*", ">=1.2.0", ">=1.2.0, <2.0.0", "=1.4.2") and the
# exact new license expression as Steward reports it. It is active until
# its `expires` date (RFC 3339, or YYYY-MM-DD meaning the end of that day,
# UTC) compared with input.now. An exception granted by vote may be
# limited to some projects (`projects`: repository names); it then applies
# only when input.context.repository is one of them.
package steward.exceptions

import rego.v1

active_matches(f) := [e |
	some e in granted
	matches(e, f)
	not expired(e)
]

expired_matches(f) := [e |
	some e in granted
	matches(e, f)
	expired(e)
]

granted := object.get(data, "exceptions", [])

matches(e, f) if {
	package_matches(e, f)
	version_matches(e, f)
	license_matches(e, f)
	project_matches(e)
}

project_matches(e) if not e.projects

project_matches(e) if count(e.projects) == 0

project_matches(e) if input.context.repository in e.projects

package_matches(e, f) if e.package == f.name

package_matches(e, f) if {
	e.purl
	f.purl
	glob.match(e.purl, ["/"], f.purl)
}

version_matches(e, _) if not e.version

version_matches(e, _) if e.version == "*"

version_matches(e, f) if {
	e.version != "*"
	constraints := [trim_space(c) | some c in split(e.version, ",")]
	every c in constraints {
		satisfies(f.new_version, c)
	}
}

satisfies(v, c) if {
	startswith(c, ">=")
	semver.compare(v, trim_space(substring(c, 2, -1))) >= 0
}

satisfies(v, c) if {
	startswith(c, "<=")
	semver.compare(v, trim_space(substring(c, 2, -1))) <= 0
}

satisfies(v, c) if {
	startswith(c, ">")
	not startswith(c, ">=")
	semver.compare(v, trim_space(substring(c, 1, -1))) > 0
}

satisfies(v, c) if {
	startswith(c, "<")
	not startswith(c, "<=")
	semver.compare(v, trim_space(substring(c, 1, -1))) < 0
}

satisfies(v, c) if {
	startswith(c, "=")
	semver.compare(v, trim_space(trim_left(c, "="))) == 0
}

license_matches(e, _) if not e.license

license_matches(e, f) if lower(e.license) == lower(f.new_license.expression)

license_matches(e, f) if lower(e.license) == lower(f.new_license.canonical)

expired(e) if time.parse_rfc3339_ns(deadline(e.expires)) < time.parse_rfc3339_ns(input.now)

deadline(s) := concat("", [s, "T23:59:59Z"]) if count(s) == 10

deadline(s) := s if count(s) != 10
