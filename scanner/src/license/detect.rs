//! License text detection: which license(s) a LICENSE/COPYING/NOTICE text
//! is, with a score per part and how the parts combine.
//!
//! The matching is the `spdx` crate's `detection` module (askalono's
//! algorithm: normalised text, bigram Dice coefficient, bounds optimisation
//! to find a license inside a longer block) over the SPDX license list, plus
//! licenses outside that list kept as texts in `scanner/licenses/` and
//! reported as `LicenseRef-…`.
//!
//! A file is detected part by part: a parameter block (BUSL-1.1's
//! Licensor / Licensed Work / Change Date…, [`super::params`]) is set aside
//! and returned as parameters; the rest is cut into blocks
//! ([`super::segment`]), neighbouring blocks are joined while the join
//! matches a license better than either alone, and each resulting part is
//! a license, an unknown part (license-like terms that match nothing, kept
//! as `LicenseRef-unknown-part`, never dropped) or prose. Prose decides how
//! the licenses combine: `OR` when it offers a choice ("at your option",
//! "dual-licensed under", "your choice of … or …"), `AND` otherwise, with
//! the sentence that decided kept as the reason. A file with no license
//! text at all is read as a notice ([`super::notice`]: "Licensed under the
//! Apache License, Version 2.0 or the MIT license, at your option").
//!
//! No file system access: callers pass text in.

use super::expr::LicenseExpr;
use super::{notice, params, segment};
use spdx::detection::scan::Scanner;
use spdx::detection::{LicenseType, Store, TextData};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

pub use super::params::split_parameter_block;

/// Licenses outside the SPDX list that Steward recognises, as
/// `(LicenseRef id, text)`. The texts live in `scanner/licenses/`.
pub const EXTRA_LICENSES: &[(&str, &str)] = &[
    ("LicenseRef-RSAL-2.0", include_str!("../../licenses/LicenseRef-RSAL-2.0.txt")),
    ("LicenseRef-RSAL-1.0", include_str!("../../licenses/LicenseRef-RSAL-1.0.txt")),
    ("LicenseRef-Commons-Clause", include_str!("../../licenses/LicenseRef-Commons-Clause.txt")),
    ("LicenseRef-Confluent-Community-1.0", include_str!("../../licenses/LicenseRef-Confluent-Community-1.0.txt")),
    ("LicenseRef-PolyForm-Free-Trial-1.0.0", include_str!("../../licenses/LicenseRef-PolyForm-Free-Trial-1.0.0.txt")),
    (
        "LicenseRef-PolyForm-Internal-Use-1.0.0",
        include_str!("../../licenses/LicenseRef-PolyForm-Internal-Use-1.0.0.txt"),
    ),
    ("LicenseRef-PolyForm-Perimeter-1.0.1", include_str!("../../licenses/LicenseRef-PolyForm-Perimeter-1.0.1.txt")),
    ("LicenseRef-PolyForm-Shield-1.0.0", include_str!("../../licenses/LicenseRef-PolyForm-Shield-1.0.0.txt")),
    ("LicenseRef-PolyForm-Strict-1.0.0", include_str!("../../licenses/LicenseRef-PolyForm-Strict-1.0.0.txt")),
];

/// Other forms of SPDX-listed licenses, as `(SPDX id, text)`, matched like
/// the standard text: the forms vendors ship more often than SPDX's own.
/// The texts are cut from the SPDX license list's (`scanner/licenses/alternates/`).
pub const ALTERNATES: &[(&str, &str)] = &[
    // BUSL-1.1 without MariaDB's "Covenants of Licensor", which the vendor
    // fulfils rather than copies (HashiCorp, Sentry, CockroachDB).
    ("BUSL-1.1", include_str!("../../licenses/alternates/BUSL-1.1.txt")),
    // Apache-2.0 without the appendix (most Rust crates' LICENSE-APACHE),
    // which otherwise reads closer to the Pixar license, an Apache-2.0
    // derivative without one.
    ("Apache-2.0", include_str!("../../licenses/alternates/Apache-2.0.txt")),
];

/// The id reported for a part of a text that reads like license terms but
/// matches no license.
pub const UNKNOWN_PART: &str = "LicenseRef-unknown-part";

/// Confidence given to an expression read from a notice (names, not texts).
pub const NOTICE_CONFIDENCE: f32 = 0.85;

/// Texts longer than this are detected on their first `MAX_TEXT` bytes.
pub const MAX_TEXT: usize = 1024 * 1024;

/// A whole text scoring this against one license's full text is that
/// license alone (see `detect_uncached`).
const WHOLE_TEXT: f32 = 0.99;

/// Default minimum score for a text match to count.
pub const DEFAULT_THRESHOLD: f32 = 0.8;

/// One license found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedLicense {
    /// SPDX id or `LicenseRef-…`.
    pub id: String,
    /// Dice score in `[0, 1]`.
    pub score: f32,
    /// 1-based first and last line of the part that matched.
    pub lines: Option<(usize, usize)>,
}

/// One part of a text: a license, or license-like terms that match none.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedPart {
    /// The license; `None` for an unknown part.
    pub id: Option<String>,
    /// The score of the match (of the closest license for an unknown part).
    pub score: f32,
    /// 1-based first and last line of the part.
    pub lines: (usize, usize),
    /// For an unknown part: the closest license and its score.
    pub closest: Option<String>,
}

/// The outcome of detecting one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Every distinct license found, in the order of the text.
    pub licenses: Vec<DetectedLicense>,
    /// Every part found, in the order of the text, unknown parts included.
    pub parts: Vec<DetectedPart>,
    /// How the parts combine and why (the sentence that offered a choice,
    /// said all apply, or the notice read), when there is more than one
    /// license or the expression came from a notice.
    pub reason: Option<String>,
    /// The best score seen, even below the threshold (for "unknown" reasons).
    pub best_score: f32,
    /// The closest license seen, even below the threshold.
    pub best_candidate: Option<String>,
    /// Values from a parameter block (BUSL-1.1: `Licensor`, `Change Date`
    /// as `YYYY-MM-DD` when it is a date…).
    pub parameters: BTreeMap<String, String>,
    expression: Option<LicenseExpr>,
    confidence: f32,
}

impl Detection {
    /// The licenses found, combined as the text says (see the module
    /// documentation). `None` when nothing reached the threshold and no
    /// notice named a license.
    pub fn expression(&self) -> Option<LicenseExpr> {
        self.expression.clone()
    }

    /// The score of the weakest license found (the confidence of the
    /// whole); 0 when nothing was found.
    pub fn confidence(&self) -> f32 {
        self.confidence
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
        for (id, text) in ALTERNATES {
            // An id missing from the store (an empty fallback store) has no
            // alternate to add: detection then just lacks that form.
            let _ = store.add_variant(id, LicenseType::Alternate, TextData::new(text));
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

/// One analysis: the best license, its score and whether the full text (not
/// a standard header) matched.
#[derive(Clone)]
struct Best {
    name: String,
    score: f32,
    full_text: bool,
}

fn analyze(store: &Store, text: &str) -> Best {
    rank(store, &TextData::new(text), 1).pop().unwrap_or(Best { name: String::new(), score: 0.0, full_text: true })
}

/// The `k` licenses of the store closest to `data`, best first (one pass
/// over the store: standard texts, alternates and standard headers).
fn rank(store: &Store, data: &TextData, k: usize) -> Vec<Best> {
    let mut top: Vec<Best> = Vec::with_capacity(k + 1);
    for (name, entry) in store.iter() {
        let mut score = entry.original.match_score(data);
        for alt in &entry.alternates {
            score = score.max(alt.match_score(data));
        }
        let mut full_text = true;
        for head in &entry.headers {
            let h = head.match_score(data);
            if h > score {
                score = h;
                full_text = false;
            }
        }
        if top.len() < k || top.last().is_some_and(|l| score > l.score) {
            let at = top.iter().position(|t| score > t.score || (score == t.score && name.as_str() < t.name.as_str()));
            let best = Best { name: name.clone(), score, full_text };
            match at {
                Some(i) => top.insert(i, best),
                None => top.push(best),
            }
            top.truncate(k);
        }
    }
    top
}

fn join(lines: &[&str], start: usize, end: usize) -> String {
    lines[start..end].join("\n")
}

/// A GNU full text is the same for `-only` and `-or-later` (the choice is
/// made in a notice, not in the text): report `-only`, the narrower grant,
/// whatever the store's tie-break picked; deprecated bare ids likewise.
fn normalise_id(name: &str, full_text: bool) -> String {
    let gnu = ["GPL-", "LGPL-", "AGPL-", "GFDL-"].iter().any(|p| name.starts_with(p));
    if !gnu {
        return name.to_owned();
    }
    if let Some(base) = name.strip_suffix("-or-later") {
        return if full_text { format!("{base}-only") } else { name.to_owned() };
    }
    if name.ends_with("-only") || name.contains("-with-") {
        return name.to_owned();
    }
    if name.ends_with('+') {
        return format!("{}-or-later", name.trim_end_matches('+'));
    }
    format!("{name}-only")
}

fn base_of(id: &str) -> &str {
    id.trim_end_matches("-only").trim_end_matches("-or-later")
}

/// A group of blocks and what it matched.
struct Group {
    start: usize,
    end: usize,
    best: Best,
}

/// The score of `data` against the license `name` (its standard text and
/// alternates), without ranking the whole store.
fn score_against(store: &Store, name: &str, data: &TextData) -> f32 {
    store
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, e)| {
            let mut s = e.original.match_score(data);
            for alt in &e.alternates {
                s = s.max(alt.match_score(data));
            }
            s
        })
        .unwrap_or(0.0)
}

/// How many candidate licenses each block brings to the joins.
const CANDIDATES: usize = 4;

/// The best score of `text` against the texts of `ids` alone (no ranking of
/// the whole store): a cheap check that a text is the license a manifest
/// field already names.
pub fn score_against_ids(text: &str, ids: &[&str]) -> f32 {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let data = TextData::new(&text[..end]);
    ids.iter().map(|id| score_against(store(), id, &data)).fold(0.0, f32::max)
}

/// Joins neighbouring blocks while the join matches a license at least as
/// well as the group so far (the same license goes on) or better than both
/// parts (sections of one license that each match little alone). Each block
/// is ranked against the whole store once; a join is scored against the
/// candidates of its blocks only, and a group of several blocks is ranked
/// against the whole store once more at the end.
fn group_blocks(store: &Store, lines: &[&str], blocks: &[segment::Block], whole: Option<Best>) -> Vec<Group> {
    let ranked: Vec<Vec<Best>> =
        blocks.iter().map(|b| rank(store, &TextData::new(&join(lines, b.start, b.end)), CANDIDATES)).collect();
    let top =
        |i: usize| ranked[i].first().cloned().unwrap_or(Best { name: String::new(), score: 0.0, full_text: true });
    let mut groups = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let mut best = top(i);
        let mut candidates: Vec<String> = ranked[i].iter().map(|b| b.name.clone()).collect();
        let mut j = i + 1;
        while j < blocks.len() {
            let mut names = candidates.clone();
            for b in &ranked[j] {
                if !names.contains(&b.name) {
                    names.push(b.name.clone());
                }
            }
            let data = TextData::new(&join(lines, blocks[i].start, blocks[j].end));
            let joined = names
                .iter()
                .map(|n| Best { name: n.clone(), score: score_against(store, n, &data), full_text: true })
                .fold(None::<Best>, |acc, b| match acc {
                    Some(a) if a.score >= b.score => Some(a),
                    _ => Some(b),
                });
            let Some(joined) = joined else { break };
            let same = joined.name == best.name && joined.score >= best.score;
            let better = joined.score > best.score && joined.score > top(j).score;
            if !(same || better) {
                break;
            }
            best = joined;
            candidates = names;
            j += 1;
        }
        if j > i + 1 {
            // Licenses that share most of their text (the PolyForm family)
            // are told apart by ranking the whole group.
            // A group of every block is the whole text, ranked already.
            let ranked_whole = match &whole {
                Some(w) if i == 0 && j == blocks.len() => w.clone(),
                _ => analyze(store, &join(lines, blocks[i].start, blocks[j - 1].end)),
            };
            if ranked_whole.score > best.score {
                best = ranked_whole;
            }
        }
        groups.push(Group { start: blocks[i].start, end: blocks[j - 1].end, best });
        i = j;
    }
    groups
}

fn detect_uncached(text: &str, threshold: f32) -> Detection {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let lines: Vec<&str> = text.lines().collect();
    let store = store();

    // The parameter block is blanked, not removed, so line numbers hold.
    let mut work = lines.clone();
    let mut parameters = BTreeMap::new();
    if let Some(block) = params::find_parameter_block(&lines) {
        for l in &mut work[block.start..block.end] {
            *l = "";
        }
        parameters = block.params;
    }

    let blocks = segment::blocks(&work);
    // A text of one block is ranked once, as a whole; so is a text that is
    // one license almost word for word (a GPL, an Apache with its
    // appendix): a second license appended to it, even a short MIT after a
    // GPL, keeps the whole below `WHOLE_TEXT`.
    let whole = rank(store, &TextData::new(&join(&work, 0, work.len())), 1).pop();
    let groups = match whole {
        Some(w) if !blocks.is_empty() && (blocks.len() == 1 || (w.score >= WHOLE_TEXT && w.full_text)) => {
            vec![Group { start: blocks[0].start, end: blocks[blocks.len() - 1].end, best: w }]
        }
        w => group_blocks(store, &work, &blocks, w),
    };

    let mut parts: Vec<DetectedPart> = Vec::new();
    let mut notes = String::new();
    let mut best_score = 0.0f32;
    let mut best_candidate: Option<String> = None;
    for g in &groups {
        if g.best.score > best_score {
            best_score = g.best.score;
            best_candidate = Some(g.best.name.clone());
        }
        let group_text = join(&work, g.start, g.end);
        if g.best.score >= threshold {
            parts.push(DetectedPart {
                id: Some(normalise_id(&g.best.name, g.best.full_text)),
                score: g.best.score,
                lines: (g.start + 1, g.end),
                closest: None,
            });
            // A second license in the same block (no rule between two
            // texts): look at the lines the match does not cover.
            if g.best.score < 0.97 {
                residual(store, &work, g, threshold, &mut parts);
            }
            continue;
        }
        // Below the threshold: a license inside a longer block (an odd
        // preamble with no rule before the text)?
        let found = contained(store, &group_text, g.start, g.end, threshold);
        if !found.is_empty() {
            parts.extend(found);
            continue;
        }
        if segment::is_license_like(&group_text) {
            parts.push(DetectedPart {
                id: None,
                score: g.best.score,
                lines: (g.start + 1, g.end),
                closest: Some(g.best.name.clone()),
            });
        } else {
            notes.push_str(&group_text);
            notes.push('\n');
        }
    }
    parts.sort_by_key(|p| p.lines.0);
    join_openssl(&mut parts);

    let mut licenses: Vec<DetectedLicense> = Vec::new();
    for p in &parts {
        let Some(id) = &p.id else { continue };
        if let Some(existing) = licenses.iter_mut().find(|l| base_of(&l.id) == base_of(id)) {
            existing.score = existing.score.max(p.score);
        } else {
            licenses.push(DetectedLicense { id: id.clone(), score: p.score, lines: Some(p.lines) });
        }
    }
    let unknown = parts.iter().filter(|p| p.id.is_none()).count();

    let (expression, reason, confidence) = if licenses.is_empty() && unknown == 0 {
        match notice::read_notice(&join(&work, 0, work.len())) {
            Some(n) => {
                for (k, v) in params::loose_parameters(text) {
                    parameters.entry(k).or_insert(v);
                }
                (Some(n.expr), Some(format!("notice, no license text: {}", n.reason)), NOTICE_CONFIDENCE)
            }
            None => (None, None, 0.0),
        }
    } else {
        combine(&licenses, unknown, &notes)
    };
    // The Commons Clause names the software, the license it is added to
    // and the licensor: kept like BUSL's parameter block.
    if licenses.iter().any(|l| base_of(&l.id) == "LicenseRef-Commons-Clause") {
        for (k, v) in params::commons_clause_parameters(text) {
            parameters.entry(k).or_insert(v);
        }
    }
    Detection { licenses, parts, reason, best_score, best_candidate, parameters, expression, confidence }
}

/// SPDX's `OpenSSL` is the OpenSSL License and the original SSLeay License
/// together; a file that carries both as separate blocks is `OpenSSL`.
fn join_openssl(parts: &mut Vec<DetectedPart>) {
    let has = |id: &str| parts.iter().position(|p| p.id.as_deref() == Some(id));
    if let (Some(o), Some(s)) = (has("OpenSSL-standalone"), has("SSLeay-standalone")) {
        let (first, second) = (o.min(s), o.max(s));
        let merged = DetectedPart {
            id: Some("OpenSSL".to_owned()),
            score: parts[o].score.min(parts[s].score),
            lines: (parts[first].lines.0, parts[second].lines.1),
            closest: None,
        };
        parts.remove(second);
        parts[first] = merged;
    }
}

/// How the licenses of a text combine (see the module documentation).
fn combine(licenses: &[DetectedLicense], unknown: usize, notes: &str) -> (Option<LicenseExpr>, Option<String>, f32) {
    let confidence = licenses.iter().map(|l| l.score).fold(1.0f32, f32::min);
    let confidence = if licenses.is_empty() { 0.0 } else { confidence };
    let mut terms: Vec<LicenseExpr> = licenses.iter().map(|l| LicenseExpr::id(l.id.clone())).collect();
    let mut reason = None;
    if licenses.len() >= 2 {
        let offered = segment::choices(notes);
        let names_two = |s: &String| {
            notice::names_in(s).iter().filter(|n| licenses.iter().any(|l| base_of(&l.id) == base_of(n))).count() >= 2
        };
        if let Some(sentence) = offered.iter().find(|s| names_two(s)).or(offered.first()).cloned() {
            let named = notice::names_in(&sentence);
            let (chosen, rest): (Vec<LicenseExpr>, Vec<LicenseExpr>) =
                if named.iter().filter(|n| licenses.iter().any(|l| base_of(&l.id) == base_of(n))).count() >= 2 {
                    terms.into_iter().partition(|t| match t {
                        LicenseExpr::Term(t) => named.iter().any(|n| base_of(n) == base_of(&t.id)),
                        _ => false,
                    })
                } else {
                    (terms, Vec::new())
                };
            let mut all = vec![LicenseExpr::Or(chosen)];
            all.extend(rest);
            terms = all;
            reason = Some(format!("choice offered: \"{}\"", notice::quote(&sentence)));
        } else {
            reason = Some(match segment::all_apply(notes) {
                Some(s) => format!("all apply: \"{}\"", notice::quote(&s)),
                None => format!("{} license texts and no choice offered: all apply", licenses.len()),
            });
        }
    }
    // Unknown parts beside known licenses join them; a text of unknown
    // parts only is no license at all (unknown, with the parts as reason).
    if unknown > 0 && !licenses.is_empty() {
        terms.push(LicenseExpr::id(UNKNOWN_PART));
        let note = format!("{unknown} part(s) read like license terms but match no license");
        reason = Some(match reason {
            Some(r) => format!("{r}; {note}"),
            None => note,
        });
    } else if unknown > 0 {
        reason = Some(format!("{unknown} part(s) read like license terms but match no license"));
    }
    let expr = match terms.len() {
        0 => None,
        1 => terms.pop(),
        _ => Some(LicenseExpr::And(terms)),
    };
    (expr, reason, confidence)
}

/// Licenses inside a block that, as a whole, matched nothing.
fn contained(store: &Store, text: &str, offset: usize, last: usize, threshold: f32) -> Vec<DetectedPart> {
    // Line numbers of the normalised text may run past the block's (the
    // normaliser can split lines): clamp them to the block.
    let at = |l: usize| (offset + l).clamp(offset + 1, last.max(offset + 1));
    let data = TextData::new(text);
    let scanner = Scanner::new(store).confidence_threshold(threshold).optimize(true).max_passes(3);
    let result = scanner.scan(&data);
    let mut out = Vec::new();
    if let Some(l) = &result.license
        && result.score >= threshold
    {
        out.push(DetectedPart {
            id: Some(normalise_id(l.name, !matches!(l.kind, LicenseType::Header))),
            score: result.score,
            lines: (offset + 1, at(last - offset)),
            closest: None,
        });
    }
    for c in &result.containing {
        if c.score < threshold {
            continue;
        }
        out.push(DetectedPart {
            id: Some(normalise_id(c.license.name, !matches!(c.license.kind, LicenseType::Header))),
            score: c.score,
            lines: (at(c.line_range.0 + 1), at(c.line_range.1.max(c.line_range.0 + 1))),
            closest: None,
        });
    }
    out
}

/// A second license in the lines of a matched group that its match does
/// not cover (two texts with no rule between them).
fn residual(store: &Store, lines: &[&str], g: &Group, threshold: f32, parts: &mut Vec<DetectedPart>) {
    let Some(license) = store.get_original(&g.best.name) else { return };
    let data = TextData::new(&join(lines, g.start, g.end));
    let (optimized, _) = data.optimize_bounds(license);
    let (a, b) = optimized.lines_view();
    let normalised = data.lines();
    let rest: Vec<&str> =
        normalised.iter().enumerate().filter(|(i, _)| *i < a || *i >= b).map(|(_, l)| l.as_str()).collect();
    if rest.iter().map(|l| l.split_whitespace().count()).sum::<usize>() < 30 {
        return;
    }
    let rest_text = rest.join("\n");
    let m = analyze(store, &rest_text);
    if m.score >= threshold && base_of(&m.name) != base_of(&g.best.name) {
        parts.push(DetectedPart {
            id: Some(normalise_id(&m.name, m.full_text)),
            score: m.score,
            lines: (g.start + 1, g.end),
            closest: None,
        });
    } else if m.score < threshold && segment::is_license_like(&rest_text) {
        parts.push(DetectedPart { id: None, score: m.score, lines: (g.start + 1, g.end), closest: Some(m.name) });
    }
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
