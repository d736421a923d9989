//! Licenses: lenient SPDX expression parsing ([`expr`]), facts a policy
//! needs ([`facts`]), text detection ([`detect`]), per-package
//! resolution with evidence ([`evidence`]) and registry metadata
//! ([`registry`]: the trait a caller that reaches the registries
//! implements, and pure parsers of their documents).
//!
//! Depends on the graph model only; knows nothing of reports, drift or git.

mod classifiers;
pub mod detect;
pub mod evidence;
pub mod expr;
pub mod facts;
pub mod gomod;
mod manifest;
pub mod notice;
pub mod params;
pub mod registry;
pub mod segment;

pub use evidence::{
    Clarification, ConfigError, Evidence, EvidenceSource, LicenseConfig, REGISTRY_CONFIDENCE, ResolvedLicense,
    Resolver, ValidLicenseConfig,
};
pub use expr::{LicenseExpr, LicenseTerm, LicenseValue, ParsedLicense, parse_lenient};
pub use facts::{
    ChoiceFacts, CopyleftStrength, ExpressionFacts, LicenseCategory, LicenseFacts, expression_facts, value_facts,
};
pub use registry::{
    GitSource, RegistryAnswer, RegistryConfig, RegistryError, RegistryLicense, RegistryRecord, RegistrySource,
};
