# Steward's default artifact policy: what an OCI artifact (container
# image, image index, Helm chart, other artifact) must carry.
#
# Input: `steward.artifact-input/v1` (see docs/ARTIFACTS.md): the artifact,
# its SBOMs with every package's license facts, the license policy's
# verdict on them (`license`) and on their drift since the previous version
# (`drift`), and every signature judged against the trusted keys.
# Output: `report` = {"verdict": allow|review|deny, "decisions": [...]},
# each decision {"verdict", "rule", "message"}.
#
# Configuration lives in data/artifact.yaml.
package steward.artifact

import rego.v1

severity := {"allow": 0, "review": 1, "deny": 2}

report := {
	"verdict": worst([d.verdict | some d in decisions]),
	"decisions": [d | some d in decisions],
}

kind := input.artifact.kind

# ---------------------------------------------------------------------------
# Signatures: one by a trusted key, valid when first seen, over this digest.

trusted := [s | some s in input.signatures; s.trusted]

decisions contains {
	"verdict": "deny",
	"rule": "signature.required",
	"message": sprintf("no trusted signature: %s", [why_untrusted]),
} if {
	data.artifact.signatures.required
	count(trusted) == 0
}

decisions contains {
	"verdict": "allow",
	"rule": "signature.trusted",
	"message": sprintf("%s signature %s", [s.source, s.message]),
} if {
	some s in trusted
}

why_untrusted := "no signature found (neither a .sig tag nor a signature referrer)" if count(input.signatures) == 0

why_untrusted := concat("; ", [sprintf("%s signature: %s", [s.source, s.message]) | some s in input.signatures]) if {
	count(input.signatures) > 0
}

# ---------------------------------------------------------------------------
# SBOMs: present for images and charts; no denied license category inside;
# the license policy's verdict on their packages and on their drift.

decisions contains {
	"verdict": "deny",
	"rule": "sbom.required",
	"message": sprintf("no SBOM referrer (SPDX or CycloneDX JSON) for this %s", [kind]),
} if {
	kind in data.artifact.sbom.required_for
	count(input.sboms) == 0
}

decisions contains {
	"verdict": "allow",
	"rule": "sbom.present",
	"message": sprintf("%d SBOM(s), %d package(s)", [count(input.sboms), count([p | some s in input.sboms; some p in s.packages])]),
} if {
	count(input.sboms) > 0
}

decisions contains {
	"verdict": "deny",
	"rule": sprintf("sbom.%s", [p.category]),
	"message": sprintf("%s %s in the SBOM is under %s (%s)", [p.name, p.version, p.expression, p.category]),
} if {
	some s in input.sboms
	some p in s.packages
	p.category in data.artifact.sbom.deny_categories
}

decisions contains {
	"verdict": d.verdict,
	"rule": "sbom.license",
	"message": d.message,
} if {
	some d in input.license.decisions
	d.verdict != "allow"
}

decisions contains {
	"verdict": d.verdict,
	"rule": "drift.license",
	"message": sprintf("since %s: %s (path: %s)", [input.drift.previous.reference, d.message, f.path]),
} if {
	some d in input.drift.decisions
	d.verdict != "allow"
	f := input.drift.findings[d.finding]
}

# ---------------------------------------------------------------------------
# Helm charts: metadata under Helm's config media type.

decisions contains {
	"verdict": "deny",
	"rule": "helm.config-media-type",
	"message": sprintf("chart config media type is %s, not %s", [
		object.get(input.artifact, "config_media_type", "missing"),
		data.artifact.helm.config_media_type,
	]),
} if {
	kind == "helm-chart"
	object.get(input.artifact, "config_media_type", "") != data.artifact.helm.config_media_type
}

decisions contains {
	"verdict": "allow",
	"rule": "helm.chart",
	"message": sprintf("chart %s %s", [input.artifact.helm.name, input.artifact.helm.version]),
} if {
	kind == "helm-chart"
	input.artifact.helm.name
}

# ---------------------------------------------------------------------------

worst(verdicts) := "allow" if count(verdicts) == 0

worst(verdicts) := [v | some v, s in severity; s == max([severity[x] | some x in verdicts])][0] if {
	count(verdicts) > 0
}
