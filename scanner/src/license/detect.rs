//! License text detection: which license(s) a LICENSE/COPYING/NOTICE text
//! is, with a score.
//!
//! The matching is the `spdx` crate's `detection` module (askalono's
//! algorithm: normalised text, bigram Dice coefficient, bounds optimisation
//! to find a license inside a longer file) over the SPDX license list, plus
//! licenses outside that list kept as texts in `scanner/licenses/` and
//! reported as `LicenseRef-…`. Licenses with a parameter block (BUSL-1.1's
//! Licensor / Licensed Work / Change Date) are matched with the block set
//! aside, and its values are returned as parameters.
//!
//! No file system access: callers pass text in.

use super::expr::{LicenseExpr, parse_lenient};
use spdx::detection::scan::Scanner;
use spdx::detection::{Store, TextData};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

/// Licenses outside the SPDX list that Steward recognises, as
/// `(LicenseRef id, text)`. The texts live in `scanner/licenses/`.
pub const EXTRA_LICENSES: &[(&str, &str)] = &[
    ("LicenseRef-RSAL-2.0", include_str!("../../licenses/LicenseRef-RSAL-2.0.txt")),
    ("LicenseRef-Commons-Clause", include_str!("../../licenses/LicenseRef-Commons-Clause.txt")),
];

/// Default minimum score for a text match to count.
pub const DEFAULT_THRESHOLD: f32 = 0.8;

/// One license found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedLicense {
    /// SPDX id or `LicenseRef-…`.
    pub id: String,
    /// Dice score in `[0, 1]`.
    pub score: f32,
    /// 0-based line range of the match in the (normalised) text, when the
    /// license was found inside a longer file.
    pub lines: Option<(usize, usize)>,
}

/// The outcome of detecting one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Every license at or above the threshold, best first.
    pub licenses: Vec<DetectedLicense>,
    /// The best score seen, even below the threshold (for "unknown" reasons).
    pub best_score: f32,
    /// The closest license seen, even below the threshold.
    pub best_candidate: Option<String>,
    /// Values from a parameter block (BUSL-1.1: `Licensor`, `Change Date`…).
    pub parameters: BTreeMap<String, String>,
}

impl Detection {
    /// The licenses found, combined with AND (a file that holds two texts
    /// puts the code under both unless it says otherwise). `None` when none
    /// reached the threshold.
    pub fn expression(&self) -> Option<LicenseExpr> {
        let mut terms: Vec<LicenseExpr> = Vec::new();
        for l in &self.licenses {
            let e = parse_lenient(&l.id).and_then(|p| p.value.expr().cloned())?;
            if !terms.contains(&e) {
                terms.push(e);
            }
        }
        match terms.len() {
            0 => None,
            1 => terms.pop(),
            _ => Some(LicenseExpr::And(terms)),
        }
    }

    /// The score of the weakest license found (the confidence of the whole).
    pub fn confidence(&self) -> f32 {
        self.licenses.iter().map(|l| l.score).fold(f32::NAN, f32::min).max(0.0)
    }
}

/// The detection store: the SPDX list plus [`EXTRA_LICENSES`], loaded once
/// per process on first use (about 100 ms in a release build).
pub fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        // The inline cache ships with the spdx crate; failing to read it is a
        // build defect, not an input problem, so fall back to an empty store
        // plus our own texts rather than panicking.
        let mut store = Store::load_inline().unwrap_or_default();
        for (id, text) in EXTRA_LICENSES {
            store.add_license((*id).to_owned(), TextData::new(text));
        }
        store
    })
}

/// Detects the license(s) in `text` at `threshold`. Results are cached by
/// content (identical LICENSE files are common across packages).
pub fn detect_text(text: &str, threshold: f32) -> Detection {
    static CACHE: OnceLock<Mutex<HashMap<(u64, u32), Detection>>> = OnceLock::new();
    let key = (fxhash(text.as_bytes()), threshold.to_bits());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let result = detect_uncached(text, threshold);
    if let Ok(mut c) = cache.lock()
        && c.len() < 10_000
    {
        c.insert(key, result.clone());
    }
    result
}

fn fxhash(bytes: &[u8]) -> u64 {
    // FNV-1a: a cache key, not a security boundary (collisions only cost a
    // wrong cache hit between two texts of equal hash and threshold).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (bytes.len() as u64)
}

fn detect_uncached(text: &str, threshold: f32) -> Detection {
    let (body, parameters) = split_parameter_block(text);
    let store = store();
    let data = TextData::new(&body);
    let scanner = Scanner::new(store).confidence_threshold(threshold).optimize(true).max_passes(3);
    let result = scanner.scan(&data);
    let mut licenses: Vec<DetectedLicense> = Vec::new();
    let mut push = |id: &str, score: f32, lines: Option<(usize, usize)>| {
        if let Some(existing) = licenses.iter_mut().find(|l| l.id == id) {
            if score > existing.score {
                existing.score = score;
            }
        } else {
            licenses.push(DetectedLicense { id: id.to_owned(), score, lines });
        }
    };
    let mut best_score = result.score;
    let mut best_candidate = None;
    if let Some(l) = &result.license {
        push(l.name, result.score, None);
        best_candidate = Some(l.name.to_owned());
    }
    for c in &result.containing {
        push(c.license.name, c.score, Some(c.line_range));
        if c.score > best_score {
            best_score = c.score;
            best_candidate = Some(c.license.name.to_owned());
        }
    }
    if best_candidate.is_none() {
        let m = store.analyze(&data);
        best_score = m.score;
        best_candidate = Some(m.name.to_owned());
    }
    // Elimination stops after the dominant license; a second, shorter
    // license in the same file (Commons Clause in front of Apache-2.0) is
    // looked for in the lines no match covered.
    let mut covered: Vec<(usize, usize)> = result.containing.iter().map(|c| c.line_range).collect();
    let all_lines = data.lines();
    for _round in 0..2 {
        if covered.is_empty() {
            break;
        }
        let residual: Vec<&str> = all_lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !covered.iter().any(|&(a, b)| *i >= a && *i < b))
            .map(|(_, l)| l.as_str())
            .collect();
        if residual.iter().map(|l| l.split_whitespace().count()).sum::<usize>() < 30 {
            break;
        }
        let rest = TextData::new(&residual.join("\n"));
        let m = store.analyze(&rest);
        if m.score < threshold || licenses.iter().any(|l| l.id == m.name) {
            break;
        }
        licenses.push(DetectedLicense { id: m.name.to_owned(), score: m.score, lines: None });
        // One extra license per round; stop once the residual is explained.
        covered = vec![(0, all_lines.len())];
    }
    licenses.retain(|l| l.score >= threshold);
    licenses.sort_by(|a, b| b.score.total_cmp(&a.score));
    // An `-only`/`-or-later` pair of GNU texts are the same text; keep one.
    dedupe_gnu_aliases(&mut licenses);
    Detection { licenses, best_score, best_candidate, parameters }
}

fn dedupe_gnu_aliases(licenses: &mut Vec<DetectedLicense>) {
    let mut seen: Vec<String> = Vec::new();
    licenses.retain(|l| {
        let base = l.id.trim_end_matches("-only").trim_end_matches("-or-later").to_owned();
        if seen.contains(&base) {
            false
        } else {
            seen.push(base);
            true
        }
    });
}

/// Keys of the BUSL-1.1 parameter block (and of licenses that copy it).
const PARAMETER_KEYS: &[&str] = &["Licensor", "Licensed Work", "Additional Use Grant", "Change Date", "Change License"];

/// Sets a `Parameters` block aside: returns the text without it, and its
/// `Key: value` pairs (continuation lines joined). Texts without such a
/// block come back unchanged.
pub fn split_parameter_block(text: &str) -> (String, BTreeMap<String, String>) {
    let mut params = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim().eq_ignore_ascii_case("parameters")) else {
        return (text.to_owned(), params);
    };
    let mut end = start + 1;
    let mut current: Option<String> = None;
    while end < lines.len() {
        let line = lines[end];
        let trimmed = line.trim();
        if trimmed.eq_ignore_ascii_case("notice")
            || trimmed.eq_ignore_ascii_case("terms")
            || trimmed.starts_with("Business Source License")
            || trimmed.starts_with("-----")
        {
            break;
        }
        if let Some((key, value)) = trimmed.split_once(':')
            && PARAMETER_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key.trim()))
        {
            let key = key.trim().to_owned();
            params.insert(key.clone(), value.trim().to_owned());
            current = Some(key);
        } else if !trimmed.is_empty()
            && line.starts_with(char::is_whitespace)
            && let Some(k) = &current
            && let Some(v) = params.get_mut(k)
        {
            v.push(' ');
            v.push_str(trimmed);
        } else if !trimmed.is_empty() && !line.starts_with(char::is_whitespace) {
            current = None;
        }
        end += 1;
    }
    if params.is_empty() {
        return (text.to_owned(), params);
    }
    let mut body: Vec<&str> = lines[..start].to_vec();
    body.extend_from_slice(&lines[end..]);
    (body.join("\n"), params)
}

/// True for file names that usually hold a license text.
pub fn is_license_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.split('.').next().unwrap_or("");
    let stem = stem.split(['-', '_']).next().unwrap_or("");
    matches!(stem, "license" | "licence" | "copying" | "notice" | "unlicense" | "copyright" | "licenses")
        && !lower.ends_with(".rs")
        && !lower.ends_with(".go")
        && !lower.ends_with(".py")
        && !lower.ends_with(".js")
}
