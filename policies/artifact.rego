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
# Signatures: one by a trusted key, valid when the signature was made, over
# this digest. Signatures of an index's platform manifests (`platform` set)
# sign those manifests, not the artifact: they count only for the
# per-platform rule below.

artifact_signatures := [s | some s in input.signatures; not s.platform]

trusted := [s | some s in artifact_signatures; s.trusted]

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

why_untrusted := "no signature found (neither a .sig tag nor a signature referrer)" if count(artifact_signatures) == 0

why_untrusted := concat("; ", [sprintf("%s signature: %s", [s.source, s.message]) | some s in artifact_signatures]) if {
	count(artifact_signatures) > 0
}

# Per platform (data.artifact.signatures.per_platform): every image
# platform of an index carries a trusted signature over its own manifest,
# as `cosign sign --recursive` makes (a node pulls its platform's manifest).

platform_label(p) := concat("/", [x | some x in [p.os, p.architecture, object.get(p, "variant", "")]; x != ""])

unsigned_platforms := [platform_label(p) |
	some p in input.artifact.platforms
	p.kind == "image"
	not platform_signed(p.digest)
]

platform_signed(digest) if {
	some s in input.signatures
	s.platform
	s.subject == digest
	s.trusted
}

decisions contains {
	"verdict": "deny",
	"rule": "signature.platforms",
	"message": sprintf("no trusted signature over the manifest of %s", [concat(", ", unsigned_platforms)]),
} if {
	object.get(data.artifact.signatures, "per_platform", false)
	kind == "index"
	count(unsigned_platforms) > 0
}

decisions contains {
	"verdict": "allow",
	"rule": "signature.platforms",
	"message": sprintf("every platform manifest (%d) carries a trusted signature", [count(input.artifact.platforms)]),
} if {
	object.get(data.artifact.signatures, "per_platform", false)
	kind == "index"
	count(input.artifact.platforms) > 0
	count(unsigned_platforms) == 0
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
