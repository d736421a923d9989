//! Lenient expression parsing, canonical comparison and license facts.

use steward_scanner::license::expr::is_valid_spdx;
use steward_scanner::license::{
    CopyleftStrength, LicenseCategory, LicenseValue, expression_facts, facts::id_facts, parse_lenient,
};

fn norm(s: &str) -> String {
    parse_lenient(s).expect("non-empty").value.to_string()
}

fn canon(s: &str) -> String {
    parse_lenient(s).expect("non-empty").value.canonical().to_string()
}

#[test]
fn real_world_spellings_become_spdx() {
    let cases = [
        ("MIT", "MIT"),
        ("MIT/Apache-2.0", "MIT OR Apache-2.0"),
        ("MIT / Apache-2.0", "MIT OR Apache-2.0"),
        ("Apache 2.0", "Apache-2.0"),
        ("Apache License, Version 2.0", "Apache-2.0"),
        ("Apache License 2.0", "Apache-2.0"),
        ("The MIT License", "MIT"),
        ("MIT License", "MIT"),
        ("GPLv2+", "GPL-2.0-or-later"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("GPL-2.0", "GPL-2.0-only"),
        ("GPLv3", "GPL-3.0-only"),
        ("GNU GPL v3", "GPL-3.0-only"),
        ("GPL-2.0 or later", "GPL-2.0-or-later"),
        ("LGPL-2.1+", "LGPL-2.1-or-later"),
        ("GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0-only"),
        ("AGPLv3", "AGPL-3.0-only"),
        ("GPL", "GPL-1.0-or-later"),
        ("BSD", "LicenseRef-BSD"),
        ("BSD-3-Clause", "BSD-3-Clause"),
        ("New BSD License", "BSD-3-Clause"),
        ("(MIT AND CC-BY-3.0)", "MIT AND CC-BY-3.0"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("apache-2.0 with llvm-exception", "Apache-2.0 WITH LLVM-exception"),
        ("mit or apache-2.0", "MIT OR Apache-2.0"),
        ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
        ("(MIT OR Apache-2.0) AND Unicode-DFS-2016", "(MIT OR Apache-2.0) AND Unicode-DFS-2016"),
        ("MIT AND (Apache-2.0 OR BSD-2-Clause)", "MIT AND (Apache-2.0 OR BSD-2-Clause)"),
        ("ISC", "ISC"),
        ("isc", "ISC"),
        ("Unlicense OR MIT", "Unlicense OR MIT"),
        ("SSPL", "SSPL-1.0"),
        ("Elastic License 2.0", "Elastic-2.0"),
        ("BSL-1.0", "BSL-1.0"),
        ("Business Source License 1.1", "BUSL-1.1"),
        ("RSALv2", "LicenseRef-RSAL-2.0"),
        ("Apache-2.0+", "Apache-2.0+"),
        ("MPL 2.0", "MPL-2.0"),
        ("Python Software Foundation License", "PSF-2.0"),
        ("UNLICENSED", "LicenseRef-UNLICENSED"),
        ("LicenseRef-Acme-EULA", "LicenseRef-Acme-EULA"),
        ("DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2"),
        ("NOASSERTION", "NOASSERTION"),
        ("NONE", "NONE"),
        ("noassertion", "NOASSERTION"),
    ];
    for (input, want) in cases {
        let got = parse_lenient(input).expect(input);
        assert_eq!(got.value.to_string(), want, "input {input:?}: {:?}", got.warnings);
        if let LicenseValue::Expr(e) = &got.value {
            assert!(is_valid_spdx(e), "{input:?} → {e} is not valid SPDX");
        }
    }
}

#[test]
fn exact_spdx_has_no_warnings_and_lenient_readings_say_what_they_did() {
    assert!(parse_lenient("MIT OR Apache-2.0").unwrap().is_exact());
    assert!(parse_lenient("Apache-2.0 WITH LLVM-exception").unwrap().is_exact());
    let slash = parse_lenient("MIT/Apache-2.0").unwrap();
    assert!(slash.warnings.iter().any(|w| w.contains("\"/\" read as OR")), "{:?}", slash.warnings);
    let apache = parse_lenient("Apache 2.0").unwrap();
    assert!(apache.warnings.iter().any(|w| w.contains("Apache-2.0")), "{:?}", apache.warnings);
}

#[test]
fn unknown_strings_are_kept_as_license_refs_with_a_warning() {
    let p = parse_lenient("Custom: see LICENSE.txt (ACME Corp)").unwrap();
    assert_eq!(p.value.to_string(), "LicenseRef-Custom-see-LICENSE.txt-ACME-Corp");
    assert!(p.has_unidentified);
    assert!(p.warnings.iter().any(|w| w.contains("kept as LicenseRef-")), "{:?}", p.warnings);
    let mixed = parse_lenient("MIT OR Frobnicator License").unwrap();
    assert_eq!(mixed.value.to_string(), "MIT OR LicenseRef-Frobnicator-License");
    let exc = parse_lenient("GPL-2.0-only WITH Foo exception").unwrap();
    assert_eq!(exc.value.to_string(), "GPL-2.0-only WITH AdditionRef-Foo-exception");
}

#[test]
fn empty_strings_are_no_license_data() {
    assert!(parse_lenient("").is_none());
    assert!(parse_lenient("   ").is_none());
}

#[test]
fn broken_syntax_is_recovered_not_rejected() {
    assert_eq!(norm("(MIT OR Apache-2.0"), "MIT OR Apache-2.0");
    assert_eq!(norm("MIT OR Apache-2.0)"), "MIT OR Apache-2.0");
    assert_eq!(norm("MIT OR"), "MIT");
    assert_eq!(norm("AND"), "LicenseRef-AND");
    assert_eq!(norm("MIT || Apache-2.0"), "MIT OR Apache-2.0");
    let deep = format!("{}MIT{}", "(".repeat(500), ")".repeat(500));
    assert_eq!(norm(&deep), "MIT");
}

#[test]
fn a_change_of_spelling_or_order_is_the_same_license() {
    let same = [
        ("MIT/Apache-2.0", "MIT OR Apache-2.0"),
        ("Apache-2.0 OR MIT", "MIT OR Apache-2.0"),
        ("apache-2.0 or mit", "MIT OR Apache-2.0"),
        ("(MIT OR Apache-2.0) OR Zlib", "Zlib OR Apache-2.0 OR MIT"),
        ("MIT AND (BSD-3-Clause AND ISC)", "ISC AND MIT AND BSD-3-Clause"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("GPLv2+", "GPL-2.0-or-later"),
        ("Apache 2.0", "Apache-2.0"),
        ("MIT OR MIT", "MIT"),
    ];
    for (a, b) in same {
        assert_eq!(canon(a), canon(b), "{a:?} vs {b:?}");
    }
    let different = [
        ("MIT OR Apache-2.0", "MIT AND Apache-2.0"),
        ("Apache-2.0", "SSPL-1.0"),
        ("GPL-2.0-only", "GPL-2.0-or-later"),
        ("Apache-2.0", "Apache-2.0 WITH LLVM-exception"),
        ("MIT", "NOASSERTION"),
    ];
    for (a, b) in different {
        assert_ne!(canon(a), canon(b), "{a:?} vs {b:?}");
    }
}

#[test]
fn facts_for_single_licenses() {
    let mit = id_facts("MIT");
    assert!(mit.osi_approved && mit.fsf_libre);
    assert_eq!((mit.category, mit.copyleft), (LicenseCategory::Permissive, CopyleftStrength::None));
    let cases = [
        ("Apache-2.0", LicenseCategory::Permissive, CopyleftStrength::None),
        ("CC0-1.0", LicenseCategory::PublicDomain, CopyleftStrength::None),
        ("Unlicense", LicenseCategory::PublicDomain, CopyleftStrength::None),
        ("LGPL-2.1-only", LicenseCategory::WeakCopyleft, CopyleftStrength::Weak),
        ("MPL-2.0", LicenseCategory::WeakCopyleft, CopyleftStrength::Weak),
        ("GPL-3.0-or-later", LicenseCategory::StrongCopyleft, CopyleftStrength::Strong),
        ("AGPL-3.0-only", LicenseCategory::NetworkCopyleft, CopyleftStrength::Network),
        ("SSPL-1.0", LicenseCategory::SourceAvailable, CopyleftStrength::Network),
        ("BUSL-1.1", LicenseCategory::SourceAvailable, CopyleftStrength::None),
        ("Elastic-2.0", LicenseCategory::SourceAvailable, CopyleftStrength::None),
        ("LicenseRef-RSAL-2.0", LicenseCategory::SourceAvailable, CopyleftStrength::None),
        ("LicenseRef-Commons-Clause", LicenseCategory::SourceAvailable, CopyleftStrength::None),
        ("PolyForm-Noncommercial-1.0.0", LicenseCategory::SourceAvailable, CopyleftStrength::None),
        ("LicenseRef-UNLICENSED", LicenseCategory::Proprietary, CopyleftStrength::None),
        ("LicenseRef-Acme-EULA", LicenseCategory::Unknown, CopyleftStrength::None),
    ];
    for (id, category, copyleft) in cases {
        let f = id_facts(id);
        assert_eq!((f.category, f.copyleft), (category, copyleft), "{id}");
    }
    let sspl = id_facts("SSPL-1.0");
    assert!(!sspl.osi_approved && !sspl.fsf_libre);
}

#[test]
fn facts_for_expressions_list_each_choice() {
    let expr = |s: &str| parse_lenient(s).unwrap().value.expr().cloned().unwrap();
    let dual = expression_facts(&expr("MIT OR Apache-2.0"));
    assert_eq!(dual.choices.len(), 2);
    assert!(dual.osi_approved);
    assert_eq!(dual.least_restrictive, LicenseCategory::Permissive);

    let elastic = expression_facts(&expr("SSPL-1.0 OR Elastic-2.0"));
    assert_eq!(elastic.least_restrictive, LicenseCategory::SourceAvailable);
    assert!(!elastic.osi_approved);

    let redis = expression_facts(&expr("AGPL-3.0-only OR LicenseRef-RSAL-2.0 OR SSPL-1.0"));
    assert_eq!(redis.least_restrictive, LicenseCategory::NetworkCopyleft);
    assert_eq!(redis.most_restrictive, LicenseCategory::SourceAvailable);
    assert!(redis.osi_approved, "AGPL is a choice");

    let conj = expression_facts(&expr("MIT AND (GPL-2.0-only OR BUSL-1.1)"));
    assert_eq!(
        conj.choices.iter().map(|c| c.expression.as_str()).collect::<Vec<_>>(),
        ["MIT AND GPL-2.0-only", "MIT AND BUSL-1.1"]
    );
    assert_eq!(conj.choices[0].category, LicenseCategory::StrongCopyleft);
    assert_eq!(conj.least_restrictive, LicenseCategory::StrongCopyleft);

    let classpath = expression_facts(&expr("GPL-2.0-only WITH Classpath-exception-2.0"));
    assert_eq!(classpath.least_restrictive, LicenseCategory::WeakCopyleft);

    let commons = expression_facts(&expr("Apache-2.0 AND LicenseRef-Commons-Clause"));
    assert_eq!(commons.least_restrictive, LicenseCategory::SourceAvailable);
}

#[test]
fn choices_are_bounded() {
    let big = (0..10).map(|i| format!("(MIT OR Apache-2.0 OR LicenseRef-x{i})")).collect::<Vec<_>>().join(" AND ");
    let e = parse_lenient(&big).unwrap().value.expr().cloned().unwrap();
    let f = expression_facts(&e);
    assert!(f.choices_truncated);
    assert!(f.choices.len() <= steward_scanner::license::facts::MAX_CHOICES);
}

/// Inputs the `license_expr` fuzz target found; each must render as valid
/// SPDX that reads back to the same license.
#[test]
fn fuzz_regressions() {
    for input in [
        "GPL-2\u{1}\0\u{1}&LicenseRef-ly WITH AdditionRef-ClasOLkceeRef-GPL-2-TH Clac",
        "Apache-2.0 WITH DocumentRef-x y:AdditionRef-z w",
    ] {
        let p = parse_lenient(input).unwrap();
        let e = p.value.expr().unwrap();
        assert!(is_valid_spdx(e), "{input:?} → {e}");
        let again = parse_lenient(&e.to_string()).unwrap();
        assert_eq!(again.value.expr().unwrap().canonical(), e.canonical());
    }
}
