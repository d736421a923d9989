//! Package name normalisation shared by the parsers, the evidence resolver
//! and the registry URLs.
//!
//! [`pep503`] is the one Python project name normaliser in the crate. It is
//! PEP 503 exactly: `re.sub(r"[-_.]+", "-", name).lower()`. Python's
//! `str.lower` is Unicode lowercase, so this is too ([`str::to_lowercase`],
//! applied to the whole name after the separators are replaced, as Python
//! does, which matters for a final `Σ`). Names PyPI accepts are ASCII
//! (`[A-Za-z0-9._-]`), where both agree with ASCII lowercase; a non-ASCII
//! name (only in a hand-written or broken input) is normalised as pip would
//! normalise it, never dropped or rejected. Nothing is trimmed: a name is
//! normalised as the input writes it.

/// PEP 503 normalised name: each run of `-`, `_` and `.` becomes one `-`,
/// then Unicode lowercase (`Foo_Bar.baz` → `foo-bar-baz`).
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separators = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separators {
                out.push('-');
            }
            in_separators = true;
        } else {
            out.push(c);
            in_separators = false;
        }
    }
    if out.is_ascii() {
        out.make_ascii_lowercase();
        out
    } else {
        out.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::pep503;

    /// Expected values are Python 3.11's
    /// `re.sub(r"[-_.]+", "-", name).lower()` for each name.
    #[test]
    fn pep503_is_pythons_regex_then_lower() {
        let cases = [
            // ASCII
            ("Foo_Bar.baz", "foo-bar-baz"),
            ("zope.interface", "zope-interface"),
            ("a__b--c", "a-b-c"),
            ("Typing_Extensions", "typing-extensions"),
            ("A-_.-B", "a-b"),
            ("-lead_", "-lead-"),
            (" x ", " x "),
            ("", ""),
            // Unicode: str.lower is Unicode lowercase, not ASCII only.
            ("ÄÖÜ-Straße", "äöü-straße"),
            ("ＡＢＣ", "ａｂｃ"),
            ("\u{212A}elvin", "kelvin"),
            ("İstanbul", "i\u{307}stanbul"),
            // A final sigma is decided after `.` became `-` (Python
            // replaces first, then lowercases the whole string).
            ("ΟΔΟΣ.Σ", "οδος-σ"),
            ("a\u{a0}b", "a\u{a0}b"),
        ];
        for (name, want) in cases {
            assert_eq!(pep503(name), want, "{name:?}");
        }
    }
}
