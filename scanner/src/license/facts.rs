//! What a policy needs to know about a license: OSI approval and FSF
//! libre status (from the `spdx` crate's license list), copyleft strength
//! and a category such as `source-available` (Steward's own classification,
//! kept in the tables below), for one id and for a whole expression.
//!
//! No I/O; the tables are data, reviewed like code.

use super::expr::{LicenseExpr, LicenseTerm, LicenseValue};
use serde::{Deserialize, Serialize};

/// How strongly a license's copyleft reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyleftStrength {
    None,
    /// File- or library-level (LGPL, MPL, EPL, CDDL).
    Weak,
    /// The whole program (GPL).
    Strong,
    /// Also over a network (AGPL, and licenses with a service clause).
    Network,
}

/// Steward's license categories, ordered from least to most restrictive
/// (`unknown` last: what cannot be classified is treated as the worst case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LicenseCategory {
    PublicDomain,
    Permissive,
    WeakCopyleft,
    StrongCopyleft,
    NetworkCopyleft,
    /// Source is public but use is restricted (SSPL, BUSL, Elastic, Commons
    /// Clause, RSAL, PolyForm, non-commercial).
    SourceAvailable,
    Proprietary,
    Unknown,
}

impl LicenseCategory {
    pub const ALL: [LicenseCategory; 8] = [
        LicenseCategory::PublicDomain,
        LicenseCategory::Permissive,
        LicenseCategory::WeakCopyleft,
        LicenseCategory::StrongCopyleft,
        LicenseCategory::NetworkCopyleft,
        LicenseCategory::SourceAvailable,
        LicenseCategory::Proprietary,
        LicenseCategory::Unknown,
    ];

    /// The stable kebab-case name, as serialized (`source-available`).
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseCategory::PublicDomain => "public-domain",
            LicenseCategory::Permissive => "permissive",
            LicenseCategory::WeakCopyleft => "weak-copyleft",
            LicenseCategory::StrongCopyleft => "strong-copyleft",
            LicenseCategory::NetworkCopyleft => "network-copyleft",
            LicenseCategory::SourceAvailable => "source-available",
            LicenseCategory::Proprietary => "proprietary",
            LicenseCategory::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for LicenseCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Facts about one license term (id, `+`, exception).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseFacts {
    /// The term as written in the expression (`GPL-2.0-only WITH Classpath-exception-2.0`).
    pub license: String,
    /// True when the id is on the SPDX license list.
    pub spdx_listed: bool,
    pub osi_approved: bool,
    pub fsf_libre: bool,
    pub deprecated: bool,
    pub copyleft: CopyleftStrength,
    pub category: LicenseCategory,
}

/// Facts about one `OR` choice: every term in it must be honoured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceFacts {
    /// The choice as an expression (`MIT`, `Apache-2.0 AND BSD-3-Clause`).
    pub expression: String,
    /// Its terms as written (the same strings as [`LicenseFacts::license`]),
    /// so a policy can judge each term of the choice.
    pub licenses: Vec<String>,
    /// The most restrictive category of its terms.
    pub category: LicenseCategory,
    pub copyleft: CopyleftStrength,
    /// Every term OSI approved.
    pub osi_approved: bool,
    /// Every term FSF libre.
    pub fsf_libre: bool,
}

/// Facts about a whole expression, for policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpressionFacts {
    /// The choices a licensee has (disjunctive normal form).
    pub choices: Vec<ChoiceFacts>,
    /// True when the expression had more than [`MAX_CHOICES`] choices and
    /// only the first were kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub choices_truncated: bool,
    /// The category of the least restrictive choice (what a licensee can
    /// pick).
    pub least_restrictive: LicenseCategory,
    /// The category of the most restrictive choice.
    pub most_restrictive: LicenseCategory,
    /// Some choice is fully OSI approved.
    pub osi_approved: bool,
    /// Some choice is fully FSF libre.
    pub fsf_libre: bool,
    /// The copyleft strength of the least restrictive choice.
    pub copyleft: CopyleftStrength,
    /// Every term of every choice, de-duplicated.
    pub licenses: Vec<LicenseFacts>,
}

/// Bound on the choices an expression is expanded to.
pub const MAX_CHOICES: usize = 64;

const NETWORK_COPYLEFT: &[&str] = &[
    "AGPL-1.0",
    "AGPL-1.0-only",
    "AGPL-1.0-or-later",
    "AGPL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "OSL-3.0",
    "RPL-1.1",
    "RPL-1.5",
    "CPAL-1.0",
    "EUPL-1.2",
];

const STRONG_PREFIXES: &[&str] = &[
    "GPL-",
    "EUPL-",
    "OSL-",
    "CECILL-1",
    "CECILL-2",
    "Sleepycat",
    "QPL-",
    "IPL-",
    "CPOL-",
    "RPSL-",
    "SimPL-",
    "Parity-",
    "eCos-",
    "CC-BY-SA-",
    "ODbL-",
    "CC-BY-NC-SA-",
];

const WEAK_PREFIXES: &[&str] = &[
    "LGPL-", "MPL-", "EPL-", "CDDL-", "CPL-", "CECILL-C", "APSL-", "ErlPL-", "MS-RL", "NPL-", "SPL-", "LGPLLR", "OFL-",
    "Motosoto", "Nokia", "gSOAP-", "Watcom-",
];

/// Source-available and similar "use-restricted" licenses (SPDX-listed and
/// Steward's own `LicenseRef-`s recognised from `scanner/licenses/`).
const SOURCE_AVAILABLE: &[&str] = &[
    "SSPL-1.0",
    "BUSL-1.1",
    "Elastic-2.0",
    "PolyForm-Noncommercial-1.0.0",
    "PolyForm-Small-Business-1.0.0",
    "LicenseRef-RSAL-2.0",
    "LicenseRef-RSAL-1.0",
    "FSL-1.1-MIT",
    "FSL-1.1-ALv2",
    "LicenseRef-Commons-Clause",
    "LicenseRef-Confluent-Community-1.0",
    "LicenseRef-Elastic-License-1.0",
];

const SOURCE_AVAILABLE_PREFIXES: &[&str] = &["CC-BY-NC-", "PolyForm-", "LicenseRef-PolyForm-"];

const PUBLIC_DOMAIN: &[&str] = &[
    "CC0-1.0",
    "Unlicense",
    "PDDL-1.0",
    "CC-PDDC",
    "CC-PDM-1.0",
    "blessing",
    "SAX-PD",
    "SAX-PD-2.0",
    "LicenseRef-public-domain",
];

/// Permissive licenses the SPDX list marks neither OSI nor FSF.
const PERMISSIVE_EXTRA: &[&str] = &[
    "LicenseRef-BSD",
    "MIT-0",
    "Beerware",
    "curl",
    "bzip2-1.0.6",
    "Unicode-3.0",
    "Unicode-DFS-2015",
    "Unicode-DFS-2016",
    "libpng-2.0",
    "BSD-2-Clause-Patent",
    "BSD-1-Clause",
    "BSD-4-Clause",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "JSON",
    "OpenSSL-standalone",
    "SSLeay-standalone",
    "X11",
    "ISC",
    "0BSD",
    "Zlib",
    "zlib-acknowledgement",
    "MIT-CMU",
    "NCSA",
    "PostgreSQL",
    "BSL-1.0",
    "Apache-1.1",
    "Apache-1.0",
    "Artistic-2.0",
    "PSF-2.0",
    "Python-2.0",
    "Python-2.0.1",
    "Ruby",
    "Vim",
    "W3C",
    "WTFPL",
    "AFL-3.0",
    "UPL-1.0",
    "ICU",
];

const PROPRIETARY: &[&str] = &["LicenseRef-UNLICENSED", "LicenseRef-proprietary"];

/// Exceptions that turn a strong copyleft into a weak one by permitting
/// linking (the library exception family).
const LINKING_EXCEPTIONS: &[&str] = &[
    "Classpath-exception-2.0",
    "GCC-exception-2.0",
    "GCC-exception-3.1",
    "LLVM-exception",
    "Linux-syscall-note",
    "LGPL-3.0-linking-exception",
    "Libtool-exception",
    "Bison-exception-2.2",
    "Autoconf-exception-3.0",
    "Autoconf-exception-2.0",
    "Font-exception-2.0",
    "OCaml-LGPL-linking-exception",
    "Universal-FOSS-exception-1.0",
    "eCos-exception-2.0",
    "WxWindows-exception-3.1",
    "GPL-3.0-linking-exception",
    "GPL-3.0-linking-source-exception",
    "GPL-CC-1.0",
    "openvpn-openssl-exception",
    "Qt-LGPL-exception-1.1",
    "mif-exception",
    "u-boot-exception-2.0",
];

fn classify_id(id: &str) -> (LicenseCategory, CopyleftStrength) {
    use CopyleftStrength as C;
    use LicenseCategory as K;
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| id.starts_with(p));
    if PROPRIETARY.contains(&id) {
        return (K::Proprietary, C::None);
    }
    if SOURCE_AVAILABLE.contains(&id) || starts(SOURCE_AVAILABLE_PREFIXES) {
        // SSPL's service clause reaches further than the AGPL's.
        let c = if id == "SSPL-1.0" { C::Network } else { C::None };
        return (K::SourceAvailable, c);
    }
    if PUBLIC_DOMAIN.contains(&id) {
        return (K::PublicDomain, C::None);
    }
    if NETWORK_COPYLEFT.contains(&id) {
        return (K::NetworkCopyleft, C::Network);
    }
    if starts(WEAK_PREFIXES) {
        return (K::WeakCopyleft, C::Weak);
    }
    if starts(STRONG_PREFIXES) {
        return (K::StrongCopyleft, C::Strong);
    }
    if PERMISSIVE_EXTRA.contains(&id) {
        return (K::Permissive, C::None);
    }
    match spdx::license_id(id) {
        // The SPDX list marks the rest of the copyleft family; without our
        // table we cannot say how strong, so the conservative choice.
        Some(l) if l.is_copyleft() => (K::StrongCopyleft, C::Strong),
        // OSI/FSF-approved and not copyleft by any table above: permissive.
        Some(l) if l.is_osi_approved() || l.is_fsf_free_libre() => (K::Permissive, C::None),
        _ => (K::Unknown, C::None),
    }
}

/// Facts for one term.
pub fn term_facts(term: &LicenseTerm) -> LicenseFacts {
    let spdx_id = term.spdx_id();
    let (mut category, mut copyleft) = classify_id(&term.id);
    if let Some(exc) = &term.exception {
        if exc.contains("Commons-Clause") {
            category = LicenseCategory::SourceAvailable;
        } else if LINKING_EXCEPTIONS.contains(&exc.as_str()) && copyleft == CopyleftStrength::Strong {
            category = LicenseCategory::WeakCopyleft;
            copyleft = CopyleftStrength::Weak;
        }
    }
    let free = category != LicenseCategory::SourceAvailable && category != LicenseCategory::Proprietary;
    LicenseFacts {
        license: term.to_string(),
        spdx_listed: spdx_id.is_some(),
        osi_approved: free && spdx_id.is_some_and(|l| l.is_osi_approved()),
        fsf_libre: free && spdx_id.is_some_and(|l| l.is_fsf_free_libre()),
        deprecated: spdx_id.is_some_and(|l| l.is_deprecated()),
        copyleft,
        category,
    }
}

/// Facts for a single license id written as a string (`"SSPL-1.0"`).
pub fn id_facts(id: &str) -> LicenseFacts {
    term_facts(&LicenseTerm { id: id.to_owned(), or_later: false, exception: None })
}

/// Facts for a whole expression.
pub fn expression_facts(expr: &LicenseExpr) -> ExpressionFacts {
    let (choices, truncated) = expr.choices(MAX_CHOICES);
    let mut all: Vec<LicenseFacts> = Vec::new();
    let mut choice_facts = Vec::with_capacity(choices.len());
    for choice in &choices {
        let facts: Vec<LicenseFacts> = choice.iter().map(|t| term_facts(t)).collect();
        let category = facts.iter().map(|f| f.category).max().unwrap_or(LicenseCategory::Unknown);
        let copyleft = facts.iter().map(|f| f.copyleft).max().unwrap_or(CopyleftStrength::None);
        let expression = if choice.len() == 1 {
            choice[0].to_string()
        } else {
            LicenseExpr::And(choice.iter().map(|t| LicenseExpr::Term((*t).clone())).collect()).to_string()
        };
        choice_facts.push(ChoiceFacts {
            expression,
            licenses: facts.iter().map(|f| f.license.clone()).collect(),
            category,
            copyleft,
            osi_approved: facts.iter().all(|f| f.osi_approved),
            fsf_libre: facts.iter().all(|f| f.fsf_libre),
        });
        for f in facts {
            if !all.iter().any(|a| a.license == f.license) {
                all.push(f);
            }
        }
    }
    let least = choice_facts.iter().min_by_key(|c| (c.category, c.copyleft));
    ExpressionFacts {
        least_restrictive: least.map(|c| c.category).unwrap_or(LicenseCategory::Unknown),
        copyleft: least.map(|c| c.copyleft).unwrap_or(CopyleftStrength::None),
        most_restrictive: choice_facts.iter().map(|c| c.category).max().unwrap_or(LicenseCategory::Unknown),
        osi_approved: choice_facts.iter().any(|c| c.osi_approved),
        fsf_libre: choice_facts.iter().any(|c| c.fsf_libre),
        choices: choice_facts,
        choices_truncated: truncated,
        licenses: all,
    }
}

/// Facts for a value that may be `NOASSERTION`/`NONE` (both `unknown`).
pub fn value_facts(value: &LicenseValue) -> ExpressionFacts {
    match value {
        LicenseValue::Expr(e) => expression_facts(e),
        LicenseValue::NoAssertion | LicenseValue::None => ExpressionFacts {
            choices: Vec::new(),
            choices_truncated: false,
            least_restrictive: LicenseCategory::Unknown,
            most_restrictive: LicenseCategory::Unknown,
            osi_approved: false,
            fsf_libre: false,
            copyleft: CopyleftStrength::None,
            licenses: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::LicenseCategory;

    #[test]
    fn category_as_str_is_the_serde_name() {
        for category in LicenseCategory::ALL {
            // Fails to compile when a variant is added: add it to ALL too.
            match category {
                LicenseCategory::PublicDomain
                | LicenseCategory::Permissive
                | LicenseCategory::WeakCopyleft
                | LicenseCategory::StrongCopyleft
                | LicenseCategory::NetworkCopyleft
                | LicenseCategory::SourceAvailable
                | LicenseCategory::Proprietary
                | LicenseCategory::Unknown => {}
            }
            assert_eq!(serde_json::to_value(category).unwrap(), serde_json::json!(category.as_str()));
            let back: LicenseCategory = serde_json::from_value(serde_json::json!(category.as_str())).unwrap();
            assert_eq!(back, category);
            assert_eq!(category.to_string(), category.as_str());
        }
    }
}
