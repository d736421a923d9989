//! Lenient parsing of real-world license strings into SPDX expressions.
//!
//! Lockfiles, manifests and SBOMs carry license strings written by people:
//! `MIT/Apache-2.0`, `Apache 2.0`, `GPLv2+`, `BSD`, `mit or apache-2.0`.
//! [`parse_lenient`] turns each into a [`LicenseExpr`] whose rendering is a
//! valid SPDX expression (checked with the `spdx` crate), records every
//! liberty it took as a warning, and keeps strings it cannot read as
//! `LicenseRef-<sanitised>` rather than guessing. [`LicenseExpr::canonical`]
//! flattens and sorts operands so that a change of spelling or order only is
//! not mistaken for a change of license.
//!
//! Identifiers come from the `spdx` crate's license list; this module adds
//! no I/O and knows nothing of packages or evidence.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// One license with an optional `+` (non-GNU "or later") and an optional
/// `WITH` exception.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenseTerm {
    /// An SPDX license id (`MIT`, `GPL-2.0-or-later`) or a `LicenseRef-…`
    /// (optionally `DocumentRef-…:LicenseRef-…`).
    pub id: String,
    /// A trailing `+` on a non-GNU id. GNU "or later" is folded into the id
    /// (`GPL-2.0-or-later`), never written as `+`.
    pub or_later: bool,
    /// The `WITH` exception: an SPDX exception id or `AdditionRef-…`.
    pub exception: Option<String>,
}

impl LicenseTerm {
    fn new(id: impl Into<String>) -> Self {
        Self { id: id.into(), or_later: false, exception: None }
    }

    /// The SPDX license, when `id` is on the SPDX list (not a `LicenseRef`).
    pub fn spdx_id(&self) -> Option<spdx::LicenseId> {
        spdx::license_id(&self.id)
    }

    /// True for `LicenseRef-…` and `DocumentRef-…:LicenseRef-…`.
    pub fn is_license_ref(&self) -> bool {
        self.id.starts_with("LicenseRef-") || self.id.starts_with("DocumentRef-")
    }
}

impl fmt::Display for LicenseTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)?;
        if self.or_later {
            f.write_str("+")?;
        }
        if let Some(e) = &self.exception {
            write!(f, " WITH {e}")?;
        }
        Ok(())
    }
}

/// A license expression tree. `And`/`Or` hold two or more operands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LicenseExpr {
    Term(LicenseTerm),
    And(Vec<LicenseExpr>),
    Or(Vec<LicenseExpr>),
}

impl LicenseExpr {
    /// A single license id, e.g. `LicenseExpr::id("MIT")`. The id is taken
    /// as written: use [`parse_lenient`] for user input.
    pub fn id(id: impl Into<String>) -> Self {
        LicenseExpr::Term(LicenseTerm::new(id))
    }

    /// The semantic normal form: nested operators of the same kind
    /// flattened, operands sorted and de-duplicated. Two expressions that
    /// differ in spelling or operand order only have equal canonical forms.
    pub fn canonical(&self) -> LicenseExpr {
        match self {
            LicenseExpr::Term(t) => LicenseExpr::Term(t.clone()),
            LicenseExpr::And(items) => Self::canonical_op(items, true),
            LicenseExpr::Or(items) => Self::canonical_op(items, false),
        }
    }

    fn canonical_op(items: &[LicenseExpr], and: bool) -> LicenseExpr {
        let mut flat = Vec::with_capacity(items.len());
        for item in items {
            match item.canonical() {
                LicenseExpr::And(inner) if and => flat.extend(inner),
                LicenseExpr::Or(inner) if !and => flat.extend(inner),
                other => flat.push(other),
            }
        }
        flat.sort();
        flat.dedup();
        if flat.len() == 1 {
            flat.pop().unwrap_or_else(|| LicenseExpr::id("NOASSERTION"))
        } else if and {
            LicenseExpr::And(flat)
        } else {
            LicenseExpr::Or(flat)
        }
    }

    /// Every term, left to right.
    pub fn terms(&self) -> Vec<&LicenseTerm> {
        let mut out = Vec::new();
        self.collect_terms(&mut out);
        out
    }

    fn collect_terms<'a>(&'a self, out: &mut Vec<&'a LicenseTerm>) {
        match self {
            LicenseExpr::Term(t) => out.push(t),
            LicenseExpr::And(items) | LicenseExpr::Or(items) => {
                items.iter().for_each(|i| i.collect_terms(out));
            }
        }
    }

    /// The expression as alternatives (disjunctive normal form): each inner
    /// `Vec` is one choice whose terms must all be honoured. Stops growing at
    /// `limit` choices; the flag says whether it had to.
    pub fn choices(&self, limit: usize) -> (Vec<Vec<&LicenseTerm>>, bool) {
        let mut truncated = false;
        let out = self.dnf(limit.max(1), &mut truncated);
        (out, truncated)
    }

    fn dnf<'a>(&'a self, limit: usize, truncated: &mut bool) -> Vec<Vec<&'a LicenseTerm>> {
        match self {
            LicenseExpr::Term(t) => vec![vec![t]],
            LicenseExpr::Or(items) => {
                let mut out = Vec::new();
                for item in items {
                    for choice in item.dnf(limit, truncated) {
                        if out.len() >= limit {
                            *truncated = true;
                            return out;
                        }
                        out.push(choice);
                    }
                }
                out
            }
            LicenseExpr::And(items) => {
                let mut acc: Vec<Vec<&LicenseTerm>> = vec![Vec::new()];
                for item in items {
                    let sub = item.dnf(limit, truncated);
                    let mut next = Vec::with_capacity(acc.len() * sub.len());
                    'outer: for a in &acc {
                        for s in &sub {
                            if next.len() >= limit {
                                *truncated = true;
                                break 'outer;
                            }
                            let mut c = a.clone();
                            c.extend(s.iter().copied());
                            next.push(c);
                        }
                    }
                    acc = next;
                }
                acc
            }
        }
    }

    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LicenseExpr::Term(t) => fmt::Display::fmt(t, f),
            _ => write!(f, "({self})"),
        }
    }
}

impl fmt::Display for LicenseExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LicenseExpr::Term(t) => fmt::Display::fmt(t, f),
            LicenseExpr::And(items) | LicenseExpr::Or(items) => {
                let op = if matches!(self, LicenseExpr::And(_)) { " AND " } else { " OR " };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    item.fmt_operand(f)?;
                }
                Ok(())
            }
        }
    }
}

/// What a license string says: an expression, or one of SPDX's two special
/// values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LicenseValue {
    Expr(LicenseExpr),
    /// `NOASSERTION`: the author of the input did not say.
    NoAssertion,
    /// `NONE`: the input asserts there is no license.
    None,
}

impl LicenseValue {
    pub fn expr(&self) -> Option<&LicenseExpr> {
        match self {
            LicenseValue::Expr(e) => Some(e),
            _ => None,
        }
    }

    /// See [`LicenseExpr::canonical`]; special values are their own form.
    pub fn canonical(&self) -> LicenseValue {
        match self {
            LicenseValue::Expr(e) => LicenseValue::Expr(e.canonical()),
            other => other.clone(),
        }
    }
}

impl fmt::Display for LicenseValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LicenseValue::Expr(e) => e.fmt(f),
            LicenseValue::NoAssertion => f.write_str("NOASSERTION"),
            LicenseValue::None => f.write_str("NONE"),
        }
    }
}

impl Serialize for LicenseValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LicenseValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_lenient(&s).map(|p| p.value).ok_or_else(|| serde::de::Error::custom("empty license expression"))
    }
}

impl Serialize for LicenseExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The result of reading one license string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLicense {
    pub value: LicenseValue,
    /// Every liberty taken (`"/" read as OR`, `"Apache 2.0" read as
    /// Apache-2.0`, `unknown license kept as LicenseRef-…`).
    pub warnings: Vec<String>,
    /// True when a term could not be identified and was kept as a
    /// `LicenseRef-` made from the input (rather than one written as such).
    pub has_unidentified: bool,
}

impl ParsedLicense {
    /// True when the string was valid SPDX as written.
    pub fn is_exact(&self) -> bool {
        self.warnings.is_empty()
    }
}

/// Reads a real-world license string. `None` for an empty or blank string
/// (no license data is not a license).
pub fn parse_lenient(input: &str) -> Option<ParsedLicense> {
    let trimmed = input.trim().trim_matches(|c| c == '"' || c == '\'');
    if trimmed.is_empty() {
        return None;
    }
    let mut warnings = Vec::new();
    let upper = trimmed.to_ascii_uppercase();
    if upper == "NOASSERTION" {
        return Some(ParsedLicense { value: LicenseValue::NoAssertion, warnings, has_unidentified: false });
    }
    if upper == "NONE" {
        return Some(ParsedLicense { value: LicenseValue::None, warnings, has_unidentified: false });
    }
    if let Some(list) = comma_list(trimmed) {
        return Some(list);
    }
    let tokens = tokenize(trimmed, &mut warnings);
    let mut parser = Parser { tokens, pos: 0, warnings, unidentified: false, depth: 0 };
    let expr = parser.parse_or();
    while let Some(Tok::Close) = parser.peek() {
        parser.pos += 1;
        parser.warnings.push("unmatched \")\" ignored".to_owned());
    }
    if parser.pos < parser.tokens.len() {
        // Text the grammar cannot place (two names without an operator):
        // keep the whole string rather than a guess at its structure.
        let id = license_ref(trimmed);
        let mut warnings = parser.warnings;
        warnings.push(format!("could not read {trimmed:?} as a license expression; kept as {id}"));
        return Some(ParsedLicense {
            value: LicenseValue::Expr(LicenseExpr::id(id)),
            warnings,
            has_unidentified: true,
        });
    }
    let unidentified = parser.unidentified;
    let mut warnings = parser.warnings;
    let value = match expr {
        Some(e) => LicenseValue::Expr(e),
        None => {
            // Only operators and parentheses: keep the whole string as a ref.
            warnings.push(format!("could not read {trimmed:?} as a license expression"));
            return Some(ParsedLicense {
                value: LicenseValue::Expr(LicenseExpr::id(license_ref(trimmed))),
                warnings,
                has_unidentified: true,
            });
        }
    };
    dedup_keep_order(&mut warnings);
    Some(ParsedLicense { value, warnings, has_unidentified: unidentified })
}

/// A comma-separated list of licenses (`MIT, BSD-3-Clause`), as SBOM
/// generators and package metadata write it: read as AND (every license
/// listed applies) when each item is a license on its own, with a warning
/// naming the original. `None` when it is no such list ("Apache License,
/// Version 2.0" has a comma but "Version 2.0" is no license).
fn comma_list(input: &str) -> Option<ParsedLicense> {
    if !input.contains(',') || input.contains('(') || input.len() > 4096 {
        return None;
    }
    let items: Vec<&str> = input.split(',').map(str::trim).filter(|i| !i.is_empty()).collect();
    if items.len() < 2 {
        return None;
    }
    let mut exprs = Vec::with_capacity(items.len());
    let mut warnings = vec![format!("comma-separated list {input:?} read as AND")];
    for item in items {
        let p = parse_lenient(item)?;
        if p.has_unidentified {
            return None;
        }
        exprs.push(p.value.expr()?.clone());
        warnings.extend(p.warnings);
    }
    dedup_keep_order(&mut warnings);
    Some(ParsedLicense { value: LicenseValue::Expr(LicenseExpr::And(exprs)), warnings, has_unidentified: false })
}

/// True when `expr` renders as an SPDX expression the `spdx` crate accepts
/// strictly (deprecated ids allowed, since inputs use them).
pub fn is_valid_spdx(expr: &LicenseExpr) -> bool {
    let mode = spdx::ParseMode { allow_deprecated: true, ..spdx::ParseMode::STRICT };
    spdx::Expression::parse_mode(&expr.to_string(), mode).is_ok()
}

fn dedup_keep_order(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|w| seen.insert(w.clone()));
}

/// `LicenseRef-` + the input with every character outside `[A-Za-z0-9.-]`
/// replaced by `-` (runs collapsed, ends trimmed).
pub fn license_ref(raw: &str) -> String {
    format!("LicenseRef-{}", sanitise_ref(raw))
}

fn sanitise_ref(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    // Bound the length: ids are keys in reports, not a place for a license text.
    let out: String = out.chars().take(64).collect();
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "unknown".to_owned() } else { out }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    And,
    Or,
    With,
    Open,
    Close,
}

fn tokenize(input: &str, warnings: &mut Vec<String>) -> Vec<Tok> {
    let mut raw: Vec<Tok> = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, raw: &mut Vec<Tok>| {
        if !word.is_empty() {
            raw.push(Tok::Word(std::mem::take(word)));
        }
    };
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' | '[' => {
                flush(&mut word, &mut raw);
                raw.push(Tok::Open);
            }
            ')' | ']' => {
                flush(&mut word, &mut raw);
                raw.push(Tok::Close);
            }
            '/' => {
                flush(&mut word, &mut raw);
                warnings.push("\"/\" read as OR".to_owned());
                raw.push(Tok::Or);
            }
            '|' => {
                flush(&mut word, &mut raw);
                if chars.peek() == Some(&'|') {
                    chars.next();
                }
                warnings.push("\"|\" read as OR".to_owned());
                raw.push(Tok::Or);
            }
            '&' => {
                flush(&mut word, &mut raw);
                if chars.peek() == Some(&'&') {
                    chars.next();
                }
                warnings.push("\"&\" read as AND".to_owned());
                raw.push(Tok::And);
            }
            c if c.is_whitespace() => flush(&mut word, &mut raw),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut raw);

    // Classify operators and fold "or later" / "or any later version" into
    // a `+` on the preceding word.
    let mut out: Vec<Tok> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let tok = &raw[i];
        if let Tok::Word(w) = tok {
            let lower = w.to_ascii_lowercase();
            let next_is = |k: usize, s: &str| matches!(raw.get(i + k), Some(Tok::Word(n)) if n.eq_ignore_ascii_case(s));
            match lower.as_str() {
                "or" if next_is(1, "later") || (next_is(1, "any") && next_is(2, "later")) => {
                    let skip = if next_is(1, "later") { 2 } else { 3 };
                    let skip = if next_is(skip, "version") { skip + 1 } else { skip };
                    if let Some(Tok::Word(prev)) = out.last_mut() {
                        prev.push('+');
                        warnings.push("\"or later\" read as \"+\"".to_owned());
                    }
                    i += skip;
                    continue;
                }
                // SBOM generators' artifacts: the word AND/OR turned into a
                // license reference (`MPL-2.0 AND LicenseRef-AND AND MIT`).
                "licenseref-and" | "licenseref-or" => {
                    let op = if lower.ends_with("and") { Tok::And } else { Tok::Or };
                    warnings.push(format!(
                        "generator artifact {w:?} in {input:?} read as {}",
                        if op == Tok::And { "AND" } else { "OR" }
                    ));
                    // `X AND LicenseRef-AND AND Y`: the operators around the
                    // artifact are the same conjunction, keep one.
                    if !matches!(out.last(), Some(Tok::And | Tok::Or)) {
                        out.push(op);
                    }
                    i += 1;
                    while matches!(raw.get(i), Some(Tok::Word(n)) if n.eq_ignore_ascii_case("and") || n.eq_ignore_ascii_case("or"))
                    {
                        i += 1;
                    }
                    continue;
                }
                // `NOASSERTION` is a whole value, not a license: inside an
                // expression it is dropped with the operator that joined it.
                "noassertion" if raw.len() > 1 => {
                    warnings.push(format!("NOASSERTION inside the expression {input:?} dropped"));
                    if matches!(out.last(), Some(Tok::And | Tok::Or)) {
                        out.pop();
                    } else if matches!(raw.get(i + 1), Some(Tok::Word(n)) if matches!(n.to_ascii_lowercase().as_str(), "and" | "or"))
                    {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                "and" | "or" | "with" => {
                    if w != "AND" && w != "OR" && w != "WITH" {
                        warnings.push(format!("operator {w:?} in {input:?} read as {}", lower.to_ascii_uppercase()));
                    }
                    out.push(match lower.as_str() {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        _ => Tok::With,
                    });
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        out.push(tok.clone());
        i += 1;
    }
    out
}

/// Nesting bound: fuzzed inputs of `((((…` must not overflow the stack.
const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
    warnings: Vec<String>,
    unidentified: bool,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn parse_or(&mut self) -> Option<LicenseExpr> {
        let mut items = Vec::new();
        loop {
            if let Some(e) = self.parse_and() {
                items.push(e);
            }
            match self.peek() {
                Some(Tok::Or) => {
                    self.pos += 1;
                }
                _ => break,
            }
        }
        combine(items, false)
    }

    fn parse_and(&mut self) -> Option<LicenseExpr> {
        let mut items = Vec::new();
        loop {
            if let Some(e) = self.parse_with() {
                items.push(e);
            }
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                }
                _ => break,
            }
        }
        combine(items, true)
    }

    fn parse_with(&mut self) -> Option<LicenseExpr> {
        let mut base = self.parse_atom()?;
        if let Some(Tok::With) = self.peek() {
            self.pos += 1;
            let words = self.take_words();
            if words.is_empty() {
                self.warnings.push("WITH without an exception ignored".to_owned());
                return Some(base);
            }
            let exception = self.resolve_exception(&words.join(" "));
            match &mut base {
                LicenseExpr::Term(t) if t.exception.is_none() => t.exception = Some(exception),
                _ => {
                    self.warnings.push(format!("WITH {exception} applied to a compound expression was ignored"));
                }
            }
        }
        Some(base)
    }

    fn parse_atom(&mut self) -> Option<LicenseExpr> {
        match self.peek()? {
            Tok::Open => {
                self.pos += 1;
                if self.depth >= MAX_DEPTH {
                    self.warnings.push("expression nested too deeply; inner parentheses ignored".to_owned());
                    return self.parse_atom();
                }
                self.depth += 1;
                let inner = self.parse_or();
                self.depth -= 1;
                if let Some(Tok::Close) = self.peek() {
                    self.pos += 1;
                } else {
                    self.warnings.push("missing \")\" added".to_owned());
                }
                inner
            }
            Tok::Close => {
                self.pos += 1;
                self.warnings.push("unmatched \")\" ignored".to_owned());
                self.parse_atom()
            }
            Tok::Word(_) => {
                let words = self.take_words();
                // "Name (ABBR)": a parenthesised abbreviation after a name.
                if let (Some(Tok::Open), Some(Tok::Word(abbr)), Some(Tok::Close)) =
                    (self.tokens.get(self.pos), self.tokens.get(self.pos + 1), self.tokens.get(self.pos + 2))
                {
                    let abbr = abbr.clone();
                    self.pos += 3;
                    let phrase = words.join(" ");
                    for candidate in [phrase.as_str(), abbr.as_str()] {
                        if let Resolved::Exact(t) | Resolved::Lenient(t, _) = resolve_license(candidate) {
                            self.warnings.push(format!("\"{phrase} ({abbr})\" read as {t}"));
                            return Some(LicenseExpr::Term(t));
                        }
                    }
                    let mut all = words;
                    all.push(format!("({abbr})"));
                    return Some(self.resolve_phrase(&all));
                }
                Some(self.resolve_phrase(&words))
            }
            Tok::And | Tok::Or | Tok::With => {
                self.warnings.push("operator without an operand ignored".to_owned());
                None
            }
        }
    }

    fn take_words(&mut self) -> Vec<String> {
        let mut words = Vec::new();
        while let Some(Tok::Word(w)) = self.peek() {
            words.push(w.clone());
            self.pos += 1;
        }
        words
    }

    fn resolve_phrase(&mut self, words: &[String]) -> LicenseExpr {
        let phrase = words.join(" ");
        let phrase = phrase.trim_matches(|c: char| matches!(c, ',' | ';' | '"' | '\'' | '“' | '”'));
        match resolve_license(phrase) {
            Resolved::Exact(term) => LicenseExpr::Term(term),
            Resolved::Lenient(term, why) => {
                self.warnings.push(why);
                LicenseExpr::Term(term)
            }
            Resolved::Unknown => {
                let id = license_ref(phrase);
                self.warnings.push(format!("unknown license {phrase:?} kept as {id}"));
                self.unidentified = true;
                LicenseExpr::id(id)
            }
        }
    }

    fn resolve_exception(&mut self, phrase: &str) -> String {
        if let Some(e) = spdx::exception_id(phrase) {
            return e.name.to_owned();
        }
        let addition_ref = match phrase.split_once(':') {
            Some((doc, add)) if doc.starts_with("DocumentRef-") && add.starts_with("AdditionRef-") => Some(format!(
                "DocumentRef-{}:AdditionRef-{}",
                sanitise_ref(&doc["DocumentRef-".len()..]),
                sanitise_ref(&add["AdditionRef-".len()..])
            )),
            _ => phrase.strip_prefix("AdditionRef-").map(|rest| format!("AdditionRef-{}", sanitise_ref(rest))),
        };
        if let Some(id) = addition_ref {
            if id != phrase {
                self.warnings.push(format!("exception {phrase:?} read as {id}"));
            }
            return id;
        }
        let key = phrase.to_ascii_lowercase();
        if let Some(e) = lower_exceptions().get(key.as_str()) {
            self.warnings.push(format!("exception {phrase:?} read as {}", e.name));
            return e.name.to_owned();
        }
        let alias = match key.replace(['-', '_'], " ").trim() {
            "classpath exception" | "classpath exception 2.0" => Some("Classpath-exception-2.0"),
            "llvm exception" => Some("LLVM-exception"),
            "gcc exception 3.1" | "gcc runtime library exception 3.1" => Some("GCC-exception-3.1"),
            _ => None,
        };
        if let Some(a) = alias {
            self.warnings.push(format!("exception {phrase:?} read as {a}"));
            return a.to_owned();
        }
        let id = format!("AdditionRef-{}", sanitise_ref(phrase));
        self.warnings.push(format!("unknown exception {phrase:?} kept as {id}"));
        self.unidentified = true;
        id
    }
}

fn combine(mut items: Vec<LicenseExpr>, and: bool) -> Option<LicenseExpr> {
    match items.len() {
        0 => None,
        1 => items.pop(),
        _ if and => Some(LicenseExpr::And(items)),
        _ => Some(LicenseExpr::Or(items)),
    }
}

enum Resolved {
    Exact(LicenseTerm),
    Lenient(LicenseTerm, String),
    Unknown,
}

fn lower_licenses() -> &'static HashMap<String, spdx::LicenseId> {
    static MAP: OnceLock<HashMap<String, spdx::LicenseId>> = OnceLock::new();
    MAP.get_or_init(|| {
        spdx::identifiers::LICENSES
            .iter()
            .filter_map(|l| spdx::license_id(l.name).map(|id| (l.name.to_ascii_lowercase(), id)))
            .collect()
    })
}

fn lower_exceptions() -> &'static HashMap<String, spdx::ExceptionId> {
    static MAP: OnceLock<HashMap<String, spdx::ExceptionId>> = OnceLock::new();
    MAP.get_or_init(|| {
        spdx::identifiers::EXCEPTIONS
            .iter()
            .filter_map(|e| spdx::exception_id(e.name).map(|id| (e.name.to_ascii_lowercase(), id)))
            .collect()
    })
}

/// Builds a term for an SPDX id, folding GNU "or later" into the id and
/// replacing deprecated bare GNU ids (`GPL-2.0`) with their `-only` form.
fn spdx_term(id: spdx::LicenseId, plus: bool) -> LicenseTerm {
    if id.is_gnu() {
        let base = id.name.trim_end_matches("-only").trim_end_matches("-or-later");
        let already_later = id.name.ends_with("-or-later");
        let wanted = if plus || already_later { format!("{base}-or-later") } else { format!("{base}-only") };
        if spdx::license_id(&wanted).is_some() {
            return LicenseTerm::new(wanted);
        }
        return LicenseTerm::new(id.name);
    }
    LicenseTerm { id: id.name.to_owned(), or_later: plus, exception: None }
}

fn resolve_license(phrase: &str) -> Resolved {
    // 1. Exactly an SPDX id or a LicenseRef as written.
    let (body, plus) = match phrase.strip_suffix('+') {
        Some(b) => (b, true),
        None => (phrase, false),
    };
    if let Some(id) = spdx::license_id(body) {
        let term = spdx_term(id, plus);
        let exact_spelling = term.id == id.name && (term.or_later == plus);
        return if exact_spelling && !id.is_deprecated() {
            Resolved::Exact(term)
        } else {
            Resolved::Lenient(term.clone(), format!("{phrase:?} read as {term}"))
        };
    }
    if let Some(rest) = phrase.strip_prefix("LicenseRef-") {
        let clean = sanitise_ref(rest);
        return if clean == rest {
            Resolved::Exact(LicenseTerm::new(phrase))
        } else {
            let id = format!("LicenseRef-{clean}");
            Resolved::Lenient(LicenseTerm::new(id.clone()), format!("{phrase:?} read as {id}"))
        };
    }
    if let Some((doc, lic)) = phrase.split_once(':')
        && let (Some(d), Some(l)) = (doc.strip_prefix("DocumentRef-"), lic.strip_prefix("LicenseRef-"))
    {
        let id = format!("DocumentRef-{}:LicenseRef-{}", sanitise_ref(d), sanitise_ref(l));
        return if id == phrase {
            Resolved::Exact(LicenseTerm::new(id))
        } else {
            Resolved::Lenient(LicenseTerm::new(id.clone()), format!("{phrase:?} read as {id}"))
        };
    }
    // 2. Case-insensitive SPDX id.
    let lower = body.to_ascii_lowercase();
    if let Some(id) = lower_licenses().get(lower.as_str()) {
        let term = spdx_term(*id, plus);
        return Resolved::Lenient(term.clone(), format!("{phrase:?} read as {term}"));
    }
    // 3. Common names and spellings.
    if let Some(term) = resolve_alias(phrase) {
        return Resolved::Lenient(term.clone(), format!("{phrase:?} read as {term}"));
    }
    Resolved::Unknown
}

/// Lower-cases, drops filler words ("the", "license", "version") and
/// punctuation, and splits a trailing `+`.
fn simplify(phrase: &str) -> (String, bool) {
    let mut s = phrase.to_ascii_lowercase();
    let mut plus = false;
    for suffix in ["+", "-or-later", " or later", " or newer"] {
        if let Some(b) = s.strip_suffix(suffix) {
            s = b.to_owned();
            plus = true;
        }
    }
    let s = s.replace([',', '"', '\'', '“', '”', '_'], " ");
    let words: Vec<&str> = s
        .split_whitespace()
        .filter(|w| {
            !matches!(
                *w,
                "the" | "license" | "licence" | "licensed" | "version" | "ver" | "ver." | "software" | "public"
            )
        })
        .collect();
    (words.join(" "), plus)
}

fn resolve_alias(phrase: &str) -> Option<LicenseTerm> {
    let (s, plus) = simplify(phrase);
    if s.is_empty() {
        return None;
    }
    let fixed = |id: &str| Some(LicenseTerm { id: id.to_owned(), or_later: false, exception: None });
    match s.as_str() {
        "mit" | "expat" | "mit/x11" | "the mit" | "mit-style" => return fixed("MIT"),
        "apache" | "apache 2" | "apache2" | "apache v2" | "apache-2" | "asl" | "asl 2" | "asl 2.0" | "asl2" | "al2"
        | "al 2.0" | "apache 2.0" | "apache v2.0" | "apache2.0" => {
            return fixed("Apache-2.0");
        }
        "bsd" | "bsd-style" | "bsd style" | "bsd-like" => return fixed("LicenseRef-BSD"),
        "bsd 2-clause" | "bsd-2" | "bsd 2" | "2-clause bsd" | "simplified bsd" | "bsd simplified" | "freebsd"
        | "bsd2" | "bsd 2 clause" | "bsd-2-clause" => {
            return fixed("BSD-2-Clause");
        }
        "bsd 3-clause" | "bsd-3" | "bsd 3" | "3-clause bsd" | "new bsd" | "modified bsd" | "revised bsd" | "bsd3"
        | "bsd new" | "bsd 3 clause" | "bsd-3-clause" => {
            return fixed("BSD-3-Clause");
        }
        "isc" | "iscl" => return fixed("ISC"),
        "mpl" | "mpl2" | "mpl 2" | "mpl 2.0" | "mpl-2" | "mozilla 2.0" | "mozilla" => {
            return fixed("MPL-2.0");
        }
        "mpl 1.1" | "mozilla 1.1" => return fixed("MPL-1.1"),
        "cc0" | "cc0 1.0" | "cc0-1" | "cc-0" => return fixed("CC0-1.0"),
        "unlicense" | "the unlicense" => return fixed("Unlicense"),
        "boost" | "bsl" | "boost 1.0" | "boost software" => return fixed("BSL-1.0"),
        "zlib" | "zlib/libpng" | "zlib-libpng" => return fixed("Zlib"),
        "wtfpl" => return fixed("WTFPL"),
        "psf" | "psfl" | "python foundation" | "python software foundation" | "psf-2" | "psf 2.0" => {
            return fixed("PSF-2.0");
        }
        "python" | "python-2" | "python 2.0" => return fixed("Python-2.0"),
        "artistic" | "artistic 2.0" | "artistic-2" => return fixed("Artistic-2.0"),
        "epl" | "epl 2.0" | "eclipse 2.0" | "epl-2" => return fixed("EPL-2.0"),
        "epl 1.0" | "eclipse 1.0" | "epl-1" => return fixed("EPL-1.0"),
        "cddl" | "cddl 1.0" => return fixed("CDDL-1.0"),
        "sspl"
        | "sspl v1"
        | "sspl 1"
        | "sspl 1.0"
        | "server side"
        | "server side 1.0"
        | "server side v1"
        | "mongodb server side" => return fixed("SSPL-1.0"),
        "busl" | "busl 1.1" | "bsl 1.1" | "bsl-1.1" | "business source" | "business source 1.1" | "mariadb bsl" => {
            return fixed("BUSL-1.1");
        }
        "elastic" | "elastic 2.0" | "elastic v2" | "elv2" | "el-2.0" | "elastic-2" => {
            return fixed("Elastic-2.0");
        }
        "rsal"
        | "rsalv2"
        | "rsal-2"
        | "rsal 2"
        | "rsal 2.0"
        | "rsal-2.0"
        | "redis source available"
        | "redis source available 2.0"
        | "redis source available v2"
        | "redis source available (rsalv2)"
        | "redis source available 2.0 (rsalv2)" => return fixed("LicenseRef-RSAL-2.0"),
        "commons clause" | "commons-clause" | "commons clause condition v1.0" | "commons clause condition 1.0" => {
            return fixed("LicenseRef-Commons-Clause");
        }
        "public domain" | "public-domain" | "publicdomain" | "pd" => {
            return fixed("LicenseRef-public-domain");
        }
        "unlicensed" => return fixed("LicenseRef-UNLICENSED"),
        "proprietary" | "commercial" | "all rights reserved" | "closed source" | "private" => {
            return fixed("LicenseRef-proprietary");
        }
        _ => {}
    }
    if let Some(t) = resolve_gnu(&s, plus) {
        return Some(t);
    }
    // "apache 2.0" → "apache-2.0", "mplv2" → "mpl-2", then with ".0".
    let dashed = s.replace(' ', "-").replace("-v", "-");
    let mut candidates = vec![dashed.clone()];
    if let Some(pos) = dashed.find(|c: char| c.is_ascii_digit())
        && pos > 0
        && !dashed[..pos].ends_with('-')
    {
        let mut head = dashed[..pos].trim_end_matches('v').to_owned();
        head.push('-');
        candidates.push(format!("{head}{}", &dashed[pos..]));
    }
    let with_zero: Vec<String> = candidates.iter().map(|c| format!("{c}.0")).collect();
    candidates.extend(with_zero);
    for c in candidates {
        if let Some(id) = lower_licenses().get(c.as_str()) {
            return Some(spdx_term(*id, plus));
        }
    }
    None
}

/// GNU families: `GPLv2+`, `GNU GPL v3`, `LGPL-2.1 or later`,
/// `GNU Lesser General Public License v3`, `AGPLv3`, unversioned `GPL`.
fn resolve_gnu(simplified: &str, plus: bool) -> Option<LicenseTerm> {
    let mut s = simplified.replace("gnu ", "").replace("gnu-", "");
    for (long, short) in
        [("affero general", "agpl"), ("lesser general", "lgpl"), ("library general", "lgpl"), ("general", "gpl")]
    {
        if let Some(rest) = s.strip_prefix(long) {
            s = format!("{short}{rest}");
        }
    }
    // Parenthesised abbreviations: "lgpl v3 (lgplv3)".
    if let Some(p) = s.find(" (") {
        s.truncate(p);
    }
    let (family, rest) = ["agpl", "lgpl", "gpl"].iter().find_map(|f| s.strip_prefix(f).map(|r| (*f, r)))?;
    let mut rest = rest.trim().trim_start_matches(['-', ' ']).trim_start_matches('v').trim().to_owned();
    let mut plus = plus;
    let mut only = false;
    for (suffix, is_plus) in [("+", true), ("-or-later", true), (" or later", true), ("-only", false), (" only", false)]
    {
        if let Some(b) = rest.strip_suffix(suffix) {
            rest = b.trim().to_owned();
            if is_plus {
                plus = true;
            } else {
                only = true;
            }
        }
    }
    let version = match rest.as_str() {
        "" => None,
        "1" | "1.0" => Some("1.0"),
        "2" | "2.0" => Some("2.0"),
        "2.1" => Some("2.1"),
        "3" | "3.0" => Some("3.0"),
        _ => return None,
    };
    let family_id = family.to_ascii_uppercase();
    let id = match version {
        // An unversioned GPL lets the recipient pick any version: the
        // licenses' own rule, so the earliest version "or later".
        None => {
            let earliest = match family {
                "lgpl" => "2.0",
                "agpl" => "1.0",
                _ => "1.0",
            };
            format!("{family_id}-{earliest}-or-later")
        }
        Some(v) => format!("{family_id}-{v}-{}", if plus && !only { "or-later" } else { "only" }),
    };
    spdx::license_id(&id).map(|_| LicenseTerm::new(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        parse_lenient(s).unwrap().value.to_string()
    }

    #[test]
    fn spellings() {
        assert_eq!(norm("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(norm("Apache 2.0"), "Apache-2.0");
        assert_eq!(norm("GPLv2+"), "GPL-2.0-or-later");
        assert_eq!(norm("GPL-2.0+"), "GPL-2.0-or-later");
        assert_eq!(norm("mit or apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(norm("(MIT AND CC-BY-3.0)"), "MIT AND CC-BY-3.0");
        assert_eq!(norm("Apache-2.0 WITH LLVM-exception"), "Apache-2.0 WITH LLVM-exception");
        assert_eq!(norm("BSD"), "LicenseRef-BSD");
        assert_eq!(norm("NOASSERTION"), "NOASSERTION");
    }

    fn repaired(input: &str) -> (String, Vec<String>) {
        let p = parse_lenient(input).unwrap();
        (p.value.to_string(), p.warnings)
    }

    #[test]
    fn sbom_generator_artifacts_are_repaired_with_a_warning() {
        let (v, w) = repaired("MPL-2.0 AND LicenseRef-AND AND MIT");
        assert_eq!(v, "MPL-2.0 AND MIT");
        assert!(
            w.iter().any(|w| w.contains("\"LicenseRef-AND\"") && w.contains("MPL-2.0 AND LicenseRef-AND AND MIT")),
            "{w:?}"
        );
        let (v, w) = repaired("GPL-2.0-only LicenseRef-OR MIT");
        assert_eq!(v, "GPL-2.0-only OR MIT");
        assert!(w.iter().any(|w| w.contains("LicenseRef-OR")), "{w:?}");
        let (v, w) = repaired("MIT AND NOASSERTION");
        assert_eq!(v, "MIT");
        assert!(w.iter().any(|w| w.contains("NOASSERTION inside")), "{w:?}");
        let (v, _) = repaired("NOASSERTION OR Apache-2.0");
        assert_eq!(v, "Apache-2.0");
        let (v, w) = repaired("mit and apache-2.0");
        assert_eq!(v, "MIT AND Apache-2.0");
        assert!(w.iter().any(|w| w.contains("\"and\"") && w.contains("mit and apache-2.0")), "{w:?}");
        let (v, w) = repaired("MIT, BSD-3-Clause, ISC");
        assert_eq!(v, "MIT AND BSD-3-Clause AND ISC");
        assert!(w.iter().any(|w| w.contains("comma-separated list \"MIT, BSD-3-Clause, ISC\"")), "{w:?}");
        // A comma inside a license's name is no list.
        assert_eq!(repaired("Apache License, Version 2.0").0, "Apache-2.0");
        // Exact SPDX stays exact.
        assert!(parse_lenient("MPL-2.0 AND MIT").unwrap().is_exact());
        assert_eq!(repaired("NOASSERTION").0, "NOASSERTION");
    }
}
