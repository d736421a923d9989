//! License notices: short texts that name licenses without carrying them
//! ("Licensed under the Apache License, Version 2.0 or the MIT license, at
//! your option", "made available to you under your choice of (i) RSALv2 or
//! (ii) SSPLv1", "Use of this software is governed by the Business Source
//! License"). [`read_notice`] finds the licenses each sentence names and
//! combines them: `OR` within a sentence that offers a choice, `AND`
//! otherwise and between sentences.
//!
//! The names are data, reviewed like code; a name not in [`NAMES`] is not
//! guessed. Pure text functions, no I/O.

use super::expr::LicenseExpr;
use super::segment;

/// `(lower-case phrase, SPDX id or LicenseRef)`, longest phrases of a
/// license first so that "apache license, version 2.0" wins over shorter
/// overlapping ones.
pub const NAMES: &[(&str, &str)] = &[
    ("redis source available license 2.0", "LicenseRef-RSAL-2.0"),
    ("redis source available license v2", "LicenseRef-RSAL-2.0"),
    ("rsalv2", "LicenseRef-RSAL-2.0"),
    ("rsal-2.0", "LicenseRef-RSAL-2.0"),
    ("server side public license", "SSPL-1.0"),
    ("sspl-1.0", "SSPL-1.0"),
    ("ssplv1", "SSPL-1.0"),
    ("gnu affero general public license", "AGPL-3.0-only"),
    ("agplv3", "AGPL-3.0-only"),
    ("agpl-3.0", "AGPL-3.0-only"),
    ("apache license, version 2.0", "Apache-2.0"),
    ("apache license version 2.0", "Apache-2.0"),
    ("apache license 2.0", "Apache-2.0"),
    ("apache license v2", "Apache-2.0"),
    ("apache 2.0 license", "Apache-2.0"),
    ("apache-2.0", "Apache-2.0"),
    ("mit license", "MIT"),
    ("mit licence", "MIT"),
    ("the unlicense", "Unlicense"),
    ("unlicense", "Unlicense"),
    ("bsd 3-clause", "BSD-3-Clause"),
    ("3-clause bsd", "BSD-3-Clause"),
    ("bsd-3-clause", "BSD-3-Clause"),
    ("bsd 2-clause", "BSD-2-Clause"),
    ("2-clause bsd", "BSD-2-Clause"),
    ("bsd-2-clause", "BSD-2-Clause"),
    ("mozilla public license, v. 2.0", "MPL-2.0"),
    ("mozilla public license, version 2.0", "MPL-2.0"),
    ("mozilla public license 2.0", "MPL-2.0"),
    ("mpl-2.0", "MPL-2.0"),
    ("business source license", "BUSL-1.1"),
    ("confluent community license", "LicenseRef-Confluent-Community-1.0"),
    ("elastic license 2.0", "Elastic-2.0"),
    ("elastic license v2", "Elastic-2.0"),
    ("elastic-2.0", "Elastic-2.0"),
    ("isc license", "ISC"),
];

/// Sentences about what happens later (BUSL's Change Date, FSL's future
/// license) name the license the code becomes, not the one it is under.
const FUTURE: &[&str] = &["change date", "on the date above", "will be governed", "future license", "change license"];

/// The licenses named in `sentence`, in order of first mention.
pub fn names_in(sentence: &str) -> Vec<&'static str> {
    let lower = sentence.to_ascii_lowercase();
    let mut found: Vec<(usize, &'static str)> = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    for (phrase, id) in NAMES {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(phrase) {
            let at = from + pos;
            let end = at + phrase.len();
            from = end;
            // A phrase inside a longer one already taken is the same mention.
            if taken.iter().any(|&(a, b)| at < b && end > a) {
                continue;
            }
            // "unlicense" inside "the unlicense" is taken above; a bare word
            // must stand alone ("unlicensed" is no license).
            let before_ok = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
            let after_ok =
                end >= lower.len() || !lower.as_bytes()[end].is_ascii_alphabetic() || lower[end..].starts_with('s');
            if !before_ok || !after_ok {
                continue;
            }
            taken.push((at, end));
            found.push((at, id));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    let mut out: Vec<&'static str> = Vec::new();
    for (_, id) in found {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// What a notice says: the expression and the sentences it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeReading {
    pub expr: LicenseExpr,
    pub reason: String,
}

/// Reads a notice (see the module documentation). `None` when no sentence
/// names a license.
pub fn read_notice(text: &str) -> Option<NoticeReading> {
    let mut terms: Vec<LicenseExpr> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    for sentence in segment::sentences(text).iter().take(200) {
        let lower = sentence.to_ascii_lowercase();
        if FUTURE.iter().any(|f| lower.contains(f)) {
            continue;
        }
        let names = names_in(sentence);
        if names.is_empty() {
            continue;
        }
        let ids: Vec<LicenseExpr> = names.iter().map(|id| LicenseExpr::id(*id)).collect();
        let offers_choice = names.len() > 1 && segment::choice(sentence).is_some();
        let expr = match (ids.len(), offers_choice) {
            (1, _) => ids.into_iter().next()?,
            (_, true) => LicenseExpr::Or(ids),
            (_, false) => LicenseExpr::And(ids),
        };
        if !terms.contains(&expr) {
            reasons.push(format!(
                "{} \"{}\"",
                if offers_choice { "choice offered:" } else { "named:" },
                quote(sentence)
            ));
            terms.push(expr);
        }
    }
    let expr = match terms.len() {
        0 => return None,
        1 => terms.pop()?,
        _ => LicenseExpr::And(terms),
    };
    Some(NoticeReading { expr, reason: reasons.join("; ") })
}

/// A sentence shortened for evidence (at most 400 characters).
pub fn quote(sentence: &str) -> String {
    if sentence.chars().count() <= 400 {
        sentence.to_owned()
    } else {
        let mut s: String = sentence.chars().take(399).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> String {
        read_notice(text).map(|n| n.expr.canonical().to_string()).unwrap_or_default()
    }

    #[test]
    fn names_longest_first_and_in_order() {
        assert_eq!(names_in("the Apache License, Version 2.0 or the MIT license"), vec!["Apache-2.0", "MIT"]);
        assert_eq!(names_in("dual-licensed under the Unlicense and MIT licenses"), vec!["Unlicense", "MIT"]);
        assert!(names_in("this is unlicensed software").is_empty());
    }

    #[test]
    fn a_choice_within_a_sentence_and_and_between_sentences() {
        assert_eq!(
            read(
                "Licensed under the Apache License, Version 2.0 or the MIT license, at your option. Data is licensed under the BSD 3-Clause License."
            ),
            "BSD-3-Clause AND (Apache-2.0 OR MIT)"
        );
        assert_eq!(
            read(
                "The project is licensed under the Confluent Community License, except some modules, which are licensed under the Apache 2.0 license."
            ),
            "Apache-2.0 AND LicenseRef-Confluent-Community-1.0"
        );
    }

    #[test]
    fn the_future_license_is_not_the_license() {
        let text = "Use of this software is governed by the Business Source License included in the LICENSE.TXT file. \
                    On the date above, in accordance with the Business Source License, use of this software will be governed by version 2 or later of the GNU General Public License.";
        assert_eq!(read(text), "BUSL-1.1");
    }

    #[test]
    fn nothing_named_is_none() {
        assert!(read_notice("This is a README about building with make.").is_none());
    }
}
