//! The values the resolver produces: one piece of [`Evidence`] (where it was
//! found, what it says, how sure) and a package's [`ResolvedLicense`].

use crate::license::expr::{LicenseExpr, LicenseValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a piece of evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    InputField,
    LocalManifest,
    LicenseText,
    Clarification,
    Registry,
}

impl EvidenceSource {
    pub const ALL: [EvidenceSource; 5] = [
        EvidenceSource::InputField,
        EvidenceSource::LocalManifest,
        EvidenceSource::LicenseText,
        EvidenceSource::Clarification,
        EvidenceSource::Registry,
    ];

    /// The stable kebab-case name, as serialized (`input-field`).
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceSource::InputField => "input-field",
            EvidenceSource::LocalManifest => "local-manifest",
            EvidenceSource::LicenseText => "license-text",
            EvidenceSource::Clarification => "clarification",
            EvidenceSource::Registry => "registry",
        }
    }
}

impl std::fmt::Display for EvidenceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence about a package's license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub source: EvidenceSource,
    /// The file it was read from: the lockfile, a manifest, a license text,
    /// or `steward.toml` for clarifications. Paths in the input tree are
    /// relative; cache paths are absolute.
    pub file: String,
    /// The field inside the file (`packages["node_modules/x"].license`,
    /// `package.license`, `License-Expression`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value as found (for texts: the detected ids).
    pub value: String,
    /// The reading of the value, when it is a license.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<LicenseValue>,
    /// 1.0 for exact SPDX in a license field; lower for lenient readings;
    /// the detection score for texts.
    pub confidence: f32,
    /// Values of a parameter block (BUSL-1.1's Licensor, Change Date…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A package's license: an expression with evidence, or unknown with the
/// reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedLicense {
    /// The license; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<LicenseValue>,
    /// The canonical form used for comparison (flattened, sorted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// Why the license is unknown (set exactly when `expression` is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// The confidence of the deciding evidence.
    pub confidence: f32,
    /// The evidence that decided, first, then any other evidence gathered.
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Set when the package's manifest names one license and the license
    /// text shipped beside it another (`MIT` in `package.json`, an SSPL
    /// `LICENSE`): what each says, for the finding
    /// `license-field-disagrees-with-text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_text_disagreement: Option<String>,
    /// Set when the registry (or the git repository of a Cargo git
    /// source) was asked for this exact version and answered that it does
    /// not have it (HTTP 404): with no other evidence, the version's
    /// license cannot be known from anywhere. Drift reports a new
    /// version's license after such a version as `license-first-known`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_in_registry: bool,
}

impl ResolvedLicense {
    /// True when the license is known.
    pub fn is_known(&self) -> bool {
        self.expression.is_some()
    }

    /// The expression tree, when known.
    pub fn expr(&self) -> Option<&LicenseExpr> {
        self.expression.as_ref().and_then(LicenseValue::expr)
    }

    pub(super) fn unknown(reason: impl Into<String>, evidence: Vec<Evidence>, warnings: Vec<String>) -> Self {
        Self {
            expression: None,
            canonical: None,
            unknown_reason: Some(reason.into()),
            confidence: 0.0,
            evidence,
            warnings,
            field_text_disagreement: None,
            not_in_registry: false,
        }
    }

    pub(super) fn known_with_canonical(
        expr: LicenseExpr,
        canonical: String,
        confidence: f32,
        evidence: Vec<Evidence>,
        warnings: Vec<String>,
    ) -> Self {
        Self {
            expression: Some(LicenseValue::Expr(expr)),
            canonical: Some(canonical),
            unknown_reason: None,
            confidence,
            evidence,
            warnings,
            field_text_disagreement: None,
            not_in_registry: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EvidenceSource;

    #[test]
    fn as_str_is_the_serde_name_of_every_source() {
        for source in EvidenceSource::ALL {
            // Fails to compile when a variant is added: add it to ALL too.
            match source {
                EvidenceSource::InputField
                | EvidenceSource::LocalManifest
                | EvidenceSource::LicenseText
                | EvidenceSource::Clarification
                | EvidenceSource::Registry => {}
            }
            assert_eq!(serde_json::to_value(source).unwrap(), serde_json::json!(source.as_str()));
            assert_eq!(serde_json::from_value::<EvidenceSource>(serde_json::json!(source.as_str())).unwrap(), source);
            assert_eq!(source.to_string(), source.as_str());
        }
    }
}
