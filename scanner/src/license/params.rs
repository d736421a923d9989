//! Parameter blocks of parameterised source-available licenses.
//!
//! BUSL-1.1 (and the vendors' copies of it: HashiCorp, MariaDB, Sentry,
//! CockroachDB…) starts with a `Parameters` block whose values differ per
//! product: `Licensor`, `Licensed Work`, `Additional Use Grant`, `Change
//! Date`, `Change License`. The Commons Clause ends with `Software:`,
//! `License:`, `Licensor:` lines. Those values say nothing about which
//! license the text is, and a long Additional Use Grant drags the text's
//! score below any threshold, so they are set aside before matching and kept
//! as evidence. A source header that names BUSL with a `Change Date:` line
//! (MariaDB MaxScale's `COPYRIGHT`) gives its date the same way.
//!
//! Pure text functions, no I/O.

use std::collections::BTreeMap;

/// Keys of the BUSL-1.1 parameter block (and of licenses that copy it).
pub const PARAMETER_KEYS: &[&str] =
    &["Licensor", "Licensed Work", "Additional Use Grant", "Change Date", "Change License"];

/// Keys a vendor may add to the block; kept like the others.
const EXTRA_KEYS: &[&str] = &["Licensed Work(s)", "Change Licence", "Use Limitation"];

/// A parameter block found in a text: its lines `[start, end)` and values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterBlock {
    pub start: usize,
    pub end: usize,
    pub params: BTreeMap<String, String>,
}

/// Longest parameter value kept (a vendor's Additional Use Grant runs to a
/// few kilobytes; hostile input must not make evidence unbounded).
const MAX_VALUE: usize = 8 * 1024;

fn strip_decoration(line: &str) -> &str {
    let t = line.trim();
    let t = t.trim_start_matches("/*").trim_start_matches("//").trim_start_matches('*').trim_start_matches('#');
    t.trim_end_matches("*/").trim()
}

fn is_header(line: &str) -> bool {
    let t = strip_decoration(line).trim_end_matches(':').trim();
    t.eq_ignore_ascii_case("parameters")
}

fn key_of(trimmed: &str) -> Option<(String, &str)> {
    let (key, value) = trimmed.split_once(':')?;
    let key = key.trim();
    PARAMETER_KEYS
        .iter()
        .chain(EXTRA_KEYS)
        .find(|k| k.eq_ignore_ascii_case(key))
        .map(|k| ((*k).to_owned(), value.trim()))
}

/// Finds the `Parameters` block in `lines`: from its header to the first
/// line that ends it (`Notice`, `Terms`, a `Business Source License` title,
/// a rule, a Markdown heading, or a line at the left margin that is no key).
pub fn find_parameter_block(lines: &[&str]) -> Option<ParameterBlock> {
    let start = lines.iter().position(|l| is_header(l))?;
    let mut end = start + 1;
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    while end < lines.len() {
        let line = lines[end];
        let trimmed = line.trim();
        if trimmed.eq_ignore_ascii_case("notice")
            || trimmed.eq_ignore_ascii_case("terms")
            || trimmed.starts_with("Business Source License")
            || trimmed.starts_with("-----")
            || trimmed.starts_with('#')
        {
            break;
        }
        if let Some((key, value)) = key_of(trimmed) {
            params.insert(key.clone(), value.to_owned());
            current = Some(key);
        } else if !trimmed.is_empty()
            && line.starts_with(char::is_whitespace)
            && let Some(k) = &current
            && let Some(v) = params.get_mut(k)
        {
            if v.len() < MAX_VALUE {
                if !v.is_empty() {
                    v.push(' ');
                }
                v.push_str(trimmed);
            }
        } else if !trimmed.is_empty() && !line.starts_with(char::is_whitespace) {
            // A line at the margin that is no key: the block is over unless
            // it continues a value written without indentation.
            if current.is_none() {
                break;
            }
            current = None;
        }
        end += 1;
    }
    if params.is_empty() {
        return None;
    }
    // Trailing blank lines belong to the text after the block.
    while end > start + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    for v in params.values_mut() {
        v.truncate(floor_char_boundary(v, MAX_VALUE));
    }
    normalise_dates(&mut params);
    Some(ParameterBlock { start, end, params })
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// Sets a `Parameters` block aside: returns the text without it, and its
/// `Key: value` pairs (continuation lines joined; a Change Date that is a
/// date written as `YYYY-MM-DD`). Texts without such a block come back
/// unchanged.
pub fn split_parameter_block(text: &str) -> (String, BTreeMap<String, String>) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(block) = find_parameter_block(&lines) else {
        return (text.to_owned(), BTreeMap::new());
    };
    let mut body: Vec<&str> = lines[..block.start].to_vec();
    body.extend_from_slice(&lines[block.end..]);
    (body.join("\n"), block.params)
}

/// `Key: value` lines of a source header outside any block (`Change Date:
/// 2027-04-10` under a BUSL notice), for texts that name a parameterised
/// license without carrying it.
pub fn loose_parameters(text: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for line in text.lines().take(400) {
        if let Some((key, value)) = key_of(strip_decoration(line))
            && !value.is_empty()
        {
            params.entry(key).or_insert_with(|| value.chars().take(512).collect::<String>());
        }
    }
    normalise_dates(&mut params);
    params
}

/// Keys of the Commons Clause's parameters.
pub const COMMONS_CLAUSE_KEYS: &[&str] = &["Software", "License", "Licensor"];

/// The Commons Clause's parameters: the `Software:`, `License:` and
/// `Licensor:` lines its template ends with (a `[placeholder]` is no
/// value), or the sentence some vendors wrote instead (RediSearch, 2018:
/// `the “Licensor” is Redis Labs Ltd., the “License” is the Apache License,
/// Version 2.0, and the Software is the <module name> software provided
/// with this notice`). Values are bounded and their whitespace collapsed.
pub fn commons_clause_parameters(text: &str) -> BTreeMap<String, String> {
    const MAX: usize = 512;
    let clean = |v: &str| -> Option<String> {
        let v: String = v.split_whitespace().collect::<Vec<_>>().join(" ");
        let v = v.trim();
        let placeholder = v.starts_with('[') && v.ends_with(']');
        (!v.is_empty() && !placeholder).then(|| v.chars().take(MAX).collect())
    };
    let mut params = BTreeMap::new();
    for line in text.lines() {
        let Some((key, value)) = strip_decoration(line).split_once(':') else { continue };
        if let Some(k) = COMMONS_CLAUSE_KEYS.iter().find(|k| k.eq_ignore_ascii_case(key.trim()))
            && let Some(v) = clean(value)
        {
            params.entry((*k).to_owned()).or_insert(v);
        }
    }
    if !params.is_empty() {
        return params;
    }
    // The sentence form: `the “Licensor” is X, the “License” is Y, and the
    // Software is Z provided with this notice.`
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for key in COMMONS_CLAUSE_KEYS {
        // Quoted, as the clause defines them (`the License is distributed
        // "AS IS"` in an Apache notice is no definition); the Software also
        // as `the Software is the X` (the value keeps `the X`).
        let quoted = [format!("“{key}” is "), format!("\"{key}\" is ")];
        let mut found: Vec<usize> = quoted.iter().filter_map(|q| flat.find(q.as_str()).map(|i| i + q.len())).collect();
        if *key == "Software" {
            found.extend(flat.find("the Software is the ").map(|i| i + "the Software is ".len()));
        }
        let Some(at) = found.into_iter().min() else { continue };
        let rest = &flat[at..];
        let value = match [", the “", ", the \"", ", and the ", " provided with", ". "]
            .iter()
            .filter_map(|s| rest.find(s))
            .min()
        {
            Some(end) => &rest[..end],
            None => rest.trim_end_matches('.'),
        };
        if let Some(v) = clean(value) {
            params.insert((*key).to_owned(), v);
        }
    }
    params
}

fn normalise_dates(params: &mut BTreeMap<String, String>) {
    if let Some(v) = params.get_mut("Change Date")
        && let Some(d) = parse_date(v)
    {
        *v = d;
    }
}

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A date in `value`, as `YYYY-MM-DD`, when the value is one: `2027-04-10`,
/// `2027/04/10`, `April 10, 2027` or `10 April 2027`, possibly followed by
/// a sentence. Not a date ("four years from the date…") gives `None`.
pub fn parse_date(value: &str) -> Option<String> {
    let v = value.trim().trim_end_matches('.');
    // ISO-like at the start.
    let digits: String = v.chars().take(10).collect();
    let parts: Vec<&str> = digits.split(['-', '/']).collect();
    if parts.len() == 3
        && parts[0].len() == 4
        && let (Ok(y), Ok(m), Ok(d)) = (parts[0].parse::<u32>(), parts[1].parse::<u32>(), parts[2].parse::<u32>())
    {
        return valid(y, m, d);
    }
    // "April 10, 2027" / "10 April 2027".
    let words: Vec<String> = v
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .take(3)
        .map(str::to_ascii_lowercase)
        .collect();
    if words.len() == 3 {
        let month = |w: &str| MONTHS.iter().position(|m| *m == w).map(|i| i as u32 + 1);
        let num = |w: &str| w.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h']).parse::<u32>().ok();
        if let (Some(m), Some(d), Some(y)) = (month(&words[0]), num(&words[1]), num(&words[2])) {
            return valid(y, m, d);
        }
        if let (Some(d), Some(m), Some(y)) = (num(&words[0]), month(&words[1]), num(&words[2])) {
            return valid(y, m, d);
        }
    }
    None
}

fn valid(y: u32, m: u32, d: u32) -> Option<String> {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1900..=2999).contains(&y) && (1..=days).contains(&d)).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_vendors_write() {
        assert_eq!(parse_date("2027-04-10").as_deref(), Some("2027-04-10"));
        assert_eq!(parse_date("2027/04/10").as_deref(), Some("2027-04-10"));
        assert_eq!(parse_date("April 10, 2027").as_deref(), Some("2027-04-10"));
        assert_eq!(parse_date("10 April 2027.").as_deref(), Some("2027-04-10"));
        assert_eq!(parse_date("Four years from the date the Licensed Work is published."), None);
        assert_eq!(parse_date("2027-02-30"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn a_header_outside_a_block_gives_its_change_date() {
        let text = "/*\n * Copyright (c) 2023 MariaDB plc\n *\n * Change Date: 2027-04-10\n */";
        assert_eq!(loose_parameters(text).get("Change Date").map(String::as_str), Some("2027-04-10"));
    }

    #[test]
    fn commons_clause_parameters_from_its_template_lines() {
        let text = "\"Commons Clause\" License Condition v1.0\n\nThe Software is provided to you by the Licensor under the License, as\ndefined below, subject to the following condition.\n\nSoftware: Acme Search\n\nLicense: Apache 2.0\n\nLicensor: Acme, Inc.\n";
        let p = commons_clause_parameters(text);
        assert_eq!(p.get("Software").map(String::as_str), Some("Acme Search"));
        assert_eq!(p.get("License").map(String::as_str), Some("Apache 2.0"));
        assert_eq!(p.get("Licensor").map(String::as_str), Some("Acme, Inc."));
        // The template's placeholders are no values.
        let template = "Software: [name of software]\n\nLicense: [i.e. Apache 2.0]\n\nLicensor: [ABC company]\n";
        assert!(commons_clause_parameters(template).is_empty());
    }

    #[test]
    fn a_value_is_bounded() {
        let long =
            format!("Parameters\n\nLicensor: x\nAdditional Use Grant: a\n{}", "   more words here\n".repeat(2000));
        let lines: Vec<&str> = long.lines().collect();
        let b = find_parameter_block(&lines).unwrap();
        assert!(b.params["Additional Use Grant"].len() <= MAX_VALUE);
    }
}
