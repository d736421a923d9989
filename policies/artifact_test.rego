# Tests for the artifact policy: `steward policy test` runs every `test_`
# rule; each must evaluate to true.
package steward.artifact_test

import rego.v1

import data.steward.artifact

signature(trusted, message) := {
	"source": "referrer",
	"manifest_digest": "sha256:2350",
	"payload_digest": "sha256:aa",
	"verified": true,
	"digest_matches": true,
	"identity_matches": true,
	"first_seen": "2026-03-01T00:00:00Z",
	"within_window": trusted,
	"trusted": trusted,
	"message": message,
}

good_sig := signature(true, "signed by release-2026 (release-team, ecdsa-p256)")

expired_sig := signature(false, "key release-2026 expired 2026-07-01T00:00:00Z; signature first seen 2026-08-01T00:00:00Z")

pkg(name, expression, category) := {"name": name, "version": "1.0.0", "root": false, "expression": expression, "category": category, "licenses": []}

sbom(packages) := {"manifest_digest": "sha256:b7ae", "artifact_type": "application/spdx+json", "format": "spdx-json", "packages": packages}

image(kind, sboms, signatures) := {
	"schema": "steward.artifact-input/v1",
	"now": "2026-11-27T12:00:00Z",
	"artifact": {"reference": "oci://r/x:v2", "registry": "r", "repository": "x", "tag": "v2", "digest": "sha256:98", "kind": kind, "config_media_type": "application/vnd.oci.image.config.v1+json", "platforms": [], "annotations": {}},
	"referrers": {"via": "tag-schema", "count": count(sboms) + count(signatures)},
	"sboms": sboms,
	"signatures": signatures,
}

rules(r, verdict) := {d.rule | some d in r.decisions; d.verdict == verdict}

test_signed_image_with_a_clean_sbom_is_allowed if {
	r := artifact.report with input as image("image", [sbom([pkg("hello", "MIT", "permissive")])], [good_sig])
	r.verdict == "allow"
	rules(r, "allow") == {"signature.trusted", "sbom.present"}
}

test_missing_sbom_is_denied_for_images_and_charts_only if {
	r := artifact.report with input as image("image", [], [good_sig])
	r.verdict == "deny"
	rules(r, "deny") == {"sbom.required"}
	other := artifact.report with input as image("artifact", [], [good_sig])
	other.verdict == "allow"
}

test_unsigned_or_expired_key_is_denied_and_says_why if {
	r := artifact.report with input as image("image", [sbom([])], [])
	rules(r, "deny") == {"signature.required"}
	some d in r.decisions
	contains(d.message, "no signature found")
	e := artifact.report with input as image("image", [sbom([])], [expired_sig])
	e.verdict == "deny"
	some m in e.decisions
	contains(m.message, "expired 2026-07-01")
}

test_signatures_can_be_made_optional_in_data if {
	r := artifact.report with input as image("image", [sbom([])], []) with data.artifact.signatures.required as false
	r.verdict == "allow"
}

test_source_available_license_in_the_sbom_is_denied if {
	r := artifact.report with input as image("image", [sbom([pkg("mongo-thing", "SSPL-1.0", "source-available")])], [good_sig])
	r.verdict == "deny"
	some d in r.decisions
	d.rule == "sbom.source-available"
	contains(d.message, "mongo-thing 1.0.0 in the SBOM is under SSPL-1.0")
}

test_license_policy_and_drift_decisions_carry_over_with_the_path if {
	base := image("image", [sbom([])], [good_sig])
	drifted := object.union(base, {
		"license": {"verdict": "review", "decisions": [{"finding": 0, "verdict": "review", "rule": "licenses.categories.strong-copyleft", "message": "gplish 2.0.0: new dependency under GPL-3.0-only needs review"}]},
		"drift": {
			"previous": {"reference": "oci://r/x:v1", "digest": "sha256:11"},
			"verdict": "deny",
			"decisions": [{"finding": 0, "verdict": "deny", "rule": "licenses.deny", "message": "left-pad 2.0.0: MIT → SSPL-1.0 is denied (licenses.deny)"}],
			"findings": [{"code": "license-changed", "name": "left-pad", "path": "app 1.0.0 → left-pad 2.0.0"}],
		},
	})
	r := artifact.report with input as drifted
	r.verdict == "deny"
	some d in r.decisions
	d.rule == "drift.license"
	contains(d.message, "since oci://r/x:v1")
	contains(d.message, "path: app 1.0.0 → left-pad 2.0.0")
	rules(r, "review") == {"sbom.license"}
}

test_chart_needs_the_helm_config_media_type if {
	chart := object.union(image("helm-chart", [sbom([])], [good_sig]), {"artifact": {"kind": "helm-chart", "config_media_type": "application/vnd.oci.image.config.v1+json", "helm": {"name": "demo", "version": "0.1.0"}}})
	r := artifact.report with input as chart
	rules(r, "deny") == {"helm.config-media-type"}
	ok := object.union(chart, {"artifact": {"config_media_type": "application/vnd.cncf.helm.config.v1+json"}})
	good := artifact.report with input as ok
	good.verdict == "allow"
	"helm.chart" in rules(good, "allow")
}

platform(os, arch, digest) := {"os": os, "architecture": arch, "digest": digest, "media_type": "application/vnd.oci.image.manifest.v1+json", "kind": "image"}

platform_sig(digest, trusted) := object.union(signature(trusted, "signed by release-2026 (release-team, ecdsa-p256)"), {"platform": "linux/amd64", "subject": digest})

index(platforms, signatures) := object.union(image("index", [sbom([])], signatures), {"artifact": object.union(image("index", [], []).artifact, {"platforms": platforms})})

test_platform_signatures_do_not_sign_the_index if {
	r := artifact.report with input as index([platform("linux", "amd64", "sha256:a1")], [platform_sig("sha256:a1", true)])
	r.verdict == "deny"
	rules(r, "deny") == {"signature.required"}
	not "signature.platforms" in rules(r, "allow")
}

test_per_platform_requires_each_image_platform_signed_over_its_own_manifest if {
	platforms := [platform("linux", "amd64", "sha256:a1"), object.union(platform("linux", "arm64", "sha256:a2"), {"variant": "v8"})]
	one := index(platforms, [good_sig, platform_sig("sha256:a1", true)])
	r := artifact.report with input as one with data.artifact.signatures.per_platform as true
	r.verdict == "deny"
	some d in r.decisions
	d.rule == "signature.platforms"
	d.message == "no trusted signature over the manifest of linux/arm64/v8"
	both := index(platforms, [good_sig, platform_sig("sha256:a1", true), platform_sig("sha256:a2", true)])
	ok := artifact.report with input as both with data.artifact.signatures.per_platform as true
	ok.verdict == "allow"
	"signature.platforms" in rules(ok, "allow")
	# An untrusted platform signature does not count; off by default.
	untrusted := index(platforms, [good_sig, platform_sig("sha256:a1", true), platform_sig("sha256:a2", false)])
	u := artifact.report with input as untrusted with data.artifact.signatures.per_platform as true
	"signature.platforms" in rules(u, "deny")
	default_off := artifact.report with input as one
	default_off.verdict == "allow"
}
