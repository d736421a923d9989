//! The voting parameters in force: voter classes with weights and quorums,
//! the default threshold and veto classes. Read from configuration by the
//! server, validated here, and copied into every `proposal` entry.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use steward_ledger::entry::{MAX_CLASSES, NameRule};

/// One voter class as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassConfig {
    /// Class name (`a-z 0-9 -`, starting with a letter).
    pub name: String,
    /// Weight in the overall result, basis points; all weights sum to 10,000.
    pub weight_bp: u32,
    /// Share of the class's eligible voters that must vote, basis points.
    pub quorum_bp: u32,
    /// Minimum number of voters that must vote, whatever the share.
    pub quorum_min: u64,
}

/// The voting parameters in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceConfig {
    /// Voter classes, in display order.
    pub classes: Vec<ClassConfig>,
    /// Default weighted yes share (of yes + no) needed to pass, basis points.
    pub threshold_bp: u32,
    /// Default classes whose members may veto.
    pub veto_classes: Vec<String>,
}

/// The default class names.
pub const TECHNICAL_COMMITTEE: &str = "technical-committee";
/// The default class names.
pub const COMMUNITY: &str = "community";

impl Default for GovernanceConfig {
    /// `technical-committee` 5,100 bp with a quorum of half its members (at
    /// least 1), `community` 4,900 bp with a quorum of a tenth (at least 3),
    /// a simple majority (5,001 bp) and no veto.
    fn default() -> Self {
        GovernanceConfig {
            classes: vec![
                ClassConfig { name: TECHNICAL_COMMITTEE.into(), weight_bp: 5_100, quorum_bp: 5_000, quorum_min: 1 },
                ClassConfig { name: COMMUNITY.into(), weight_bp: 4_900, quorum_bp: 1_000, quorum_min: 3 },
            ],
            threshold_bp: 5_001,
            veto_classes: vec![],
        }
    }
}

/// Why a configuration was refused. The messages name the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No classes, or more than the ledger allows.
    #[error("governance.classes: between 1 and {max} classes are required, found {found}")]
    ClassCount {
        /// Classes found.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// A class name has the wrong shape.
    #[error("governance.classes[{position}].name {name:?}: must be 1 to 64 of a-z 0-9 -, starting with a letter")]
    ClassName {
        /// Position in the list.
        position: usize,
        /// The name (at most 64 characters shown).
        name: String,
    },
    /// The same class twice.
    #[error("governance.classes: class {0} appears twice")]
    DuplicateClass(String),
    /// A weight of zero or a quorum over 100 %.
    #[error("governance.classes.{class}: {field} must be {rule}, not {value}")]
    ClassValue {
        /// Class name.
        class: String,
        /// `weight_bp` or `quorum_bp`.
        field: &'static str,
        /// What is allowed.
        rule: &'static str,
        /// The value found.
        value: u32,
    },
    /// Weights do not add up to 10,000.
    #[error("governance.classes: weights sum to {0} basis points; they must sum to 10000")]
    WeightSum(u64),
    /// Threshold outside 1–10,000.
    #[error("governance.threshold_bp: must be between 1 and 10000, not {0}")]
    Threshold(u32),
    /// A veto class that is not a class.
    #[error("governance.veto_classes: {0:?} is not one of the configured classes")]
    UnknownVetoClass(String),
}

impl GovernanceConfig {
    /// Checks the parameters before they are used.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.classes.is_empty() || self.classes.len() > MAX_CLASSES {
            return Err(ConfigError::ClassCount { found: self.classes.len(), max: MAX_CLASSES });
        }
        let mut names = BTreeSet::new();
        for (position, c) in self.classes.iter().enumerate() {
            if !NameRule::Class.accepts(&c.name) {
                return Err(ConfigError::ClassName { position, name: c.name.chars().take(64).collect() });
            }
            if !names.insert(c.name.as_str()) {
                return Err(ConfigError::DuplicateClass(c.name.clone()));
            }
            if c.weight_bp == 0 || c.weight_bp > 10_000 {
                return Err(ConfigError::ClassValue {
                    class: c.name.clone(),
                    field: "weight_bp",
                    rule: "between 1 and 10000",
                    value: c.weight_bp,
                });
            }
            if c.quorum_bp > 10_000 {
                return Err(ConfigError::ClassValue {
                    class: c.name.clone(),
                    field: "quorum_bp",
                    rule: "at most 10000",
                    value: c.quorum_bp,
                });
            }
        }
        let total: u64 = self.classes.iter().map(|c| u64::from(c.weight_bp)).sum();
        if total != 10_000 {
            return Err(ConfigError::WeightSum(total));
        }
        if !(1..=10_000).contains(&self.threshold_bp) {
            return Err(ConfigError::Threshold(self.threshold_bp));
        }
        if let Some(v) = self.veto_classes.iter().find(|v| !names.contains(v.as_str())) {
            return Err(ConfigError::UnknownVetoClass(v.chars().take(64).collect()));
        }
        Ok(())
    }

    /// The configured class names.
    pub fn class_names(&self) -> impl Iterator<Item = &str> {
        self.classes.iter().map(|c| c.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_refusals_name_the_field() {
        GovernanceConfig::default().validate().unwrap();
        let mut c = GovernanceConfig::default();
        c.classes[1].weight_bp = 4_000;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "governance.classes: weights sum to 9100 basis points; they must sum to 10000"
        );
        let mut c = GovernanceConfig::default();
        c.classes[0].name = "Technical Committee".into();
        assert!(c.validate().unwrap_err().to_string().starts_with("governance.classes[0].name"));
        let c = GovernanceConfig { veto_classes: vec!["board".into()], ..GovernanceConfig::default() };
        assert_eq!(c.validate(), Err(ConfigError::UnknownVetoClass("board".into())));
        let mut c = GovernanceConfig::default();
        c.classes[1].quorum_bp = 10_001;
        assert!(c.validate().unwrap_err().to_string().contains("governance.classes.community: quorum_bp"));
        let c = GovernanceConfig { threshold_bp: 0, ..GovernanceConfig::default() };
        assert_eq!(c.validate(), Err(ConfigError::Threshold(0)));
        let mut c = GovernanceConfig::default();
        c.classes.push(c.classes[0].clone());
        assert!(matches!(c.validate(), Err(ConfigError::DuplicateClass(_))));
    }
}
