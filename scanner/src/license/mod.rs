//! Licenses: lenient SPDX expression parsing ([`expr`]), facts a policy
//! needs ([`facts`]), text detection ([`detect`]) and per-package
//! resolution with evidence ([`evidence`]).
//!
//! Depends on the graph model only; knows nothing of reports, drift or git.

pub mod detect;
pub mod evidence;
pub mod expr;
pub mod facts;
mod manifest;

pub use evidence::{
    Clarification, ConfigError, Evidence, EvidenceSource, LicenseConfig, ResolvedLicense, Resolver, ValidLicenseConfig,
};
pub use expr::{LicenseExpr, LicenseTerm, LicenseValue, ParsedLicense, parse_lenient};
pub use facts::{
    ChoiceFacts, CopyleftStrength, ExpressionFacts, LicenseCategory, LicenseFacts, expression_facts, value_facts,
};
