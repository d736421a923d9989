//! Splitting a license file into blocks, and reading what its prose says
//! about how the licenses in it combine.
//!
//! A LICENSE file often holds more than one license: a vendor's statement
//! followed by two full texts (Redis 7.4), a fork's concatenation of its
//! parents' licenses (BoringSSL and *ring*), an Apache-2.0 text with the
//! Commons Clause in front. [`blocks`] cuts the text where a new block
//! visibly starts (a rule of `-`/`=`/`*`, a title underlined by one, a
//! Markdown heading, the end of a `/* … */` comment, a new `Copyright` line
//! after a long block); the detector then joins neighbouring blocks back
//! while the join matches a license better than either part, so a license
//! whose own sections are underlined is not torn apart.
//!
//! [`choice`] finds the sentence that offers a choice ("at your option",
//! "dual-licensed under", "you may choose", "either … or", "your choice of
//! … or …") and [`all_apply`] the one that says every license applies.
//!
//! Pure text functions, no I/O.

/// A block: lines `[start, end)` of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub start: usize,
    pub end: usize,
}

/// At most this many blocks per text; beyond it neighbours are joined so
/// that hostile input (a file of 100,000 rules) stays bounded in time.
pub const MAX_BLOCKS: usize = 48;

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && t.chars().all(|c| matches!(c, '-' | '=' | '*' | '_' | '~' | '#' | ' ' | '/'))
        // A line of a `/* … */` comment (`/*`, ` *`, `*/`) is no rule.
        && t.chars().filter(|c| matches!(c, '-' | '=' | '_' | '~')).count() >= 3
}

fn stripped(line: &str) -> &str {
    let t = line.trim();
    let t = t.trim_start_matches("/*").trim_start_matches("//").trim_start_matches('*').trim_start_matches('#');
    t.trim_end_matches("*/").trim()
}

fn is_title(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.len() <= 90 && t.split_whitespace().count() <= 12 && !t.ends_with('.') && !t.ends_with(',')
}

fn starts_copyright(line: &str) -> bool {
    let t = stripped(line).to_ascii_lowercase();
    t.starts_with("copyright") || t.starts_with("(c)") || t.starts_with("©")
}

/// Cuts `lines` into blocks (see the module documentation). Rules are left
/// out of every block; blank blocks are dropped.
pub fn blocks(lines: &[&str]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut start = 0usize;
    let mut words = 0usize;
    let close = |out: &mut Vec<Block>, s: usize, e: usize| {
        if lines[s..e].iter().any(|l| !l.trim().is_empty() && !is_rule(l)) {
            out.push(Block { start: s, end: e });
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_rule(line) {
            // A title underlined by the rule starts the next block.
            let underlined = i > 0
                && is_title(lines[i - 1])
                && !is_rule(lines[i - 1])
                && (i < 2 || lines[i - 2].trim().is_empty() || is_rule(lines[i - 2]));
            if underlined && i - 1 > start {
                close(&mut out, start, i - 1);
                start = i - 1;
                words = 0;
                i += 1;
                continue;
            }
            if underlined {
                i += 1;
                continue;
            }
            close(&mut out, start, i);
            start = i + 1;
            words = 0;
            i += 1;
            continue;
        }
        let t = line.trim();
        let heading = t.starts_with('#') && t.trim_start_matches('#').starts_with(' ');
        let new_copyright = starts_copyright(line) && words >= 60 && i > 0 && lines[i - 1].trim().is_empty();
        if (heading || new_copyright) && i > start {
            close(&mut out, start, i);
            start = i;
            words = 0;
        }
        words += t.split_whitespace().count();
        if t.ends_with("*/") {
            close(&mut out, start, i + 1);
            start = i + 1;
            words = 0;
        }
        i += 1;
    }
    if start < lines.len() {
        close(&mut out, start, lines.len());
    }
    cap(join_small(lines, out))
}

/// Blocks of fewer words than this (a title, a Markdown heading, "Last
/// Update: …") are joined to the block after them: alone they match nothing
/// and only cost a ranking.
const SMALL_BLOCK_WORDS: usize = 12;

fn join_small(lines: &[&str], blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::with_capacity(blocks.len());
    let mut pending: Option<Block> = None;
    for b in blocks {
        let words: usize = lines[b.start..b.end].iter().map(|l| l.split_whitespace().count()).sum();
        let start = pending.take().map_or(b.start, |p| p.start);
        if words < SMALL_BLOCK_WORDS {
            pending = Some(Block { start, end: b.end });
            continue;
        }
        out.push(Block { start, end: b.end });
    }
    if let Some(p) = pending {
        match out.last_mut() {
            Some(last) => last.end = p.end,
            None => out.push(p),
        }
    }
    out
}

fn cap(mut blocks: Vec<Block>) -> Vec<Block> {
    if blocks.len() <= MAX_BLOCKS {
        return blocks;
    }
    let per = blocks.len().div_ceil(MAX_BLOCKS);
    let merged: Vec<Block> = blocks.chunks(per).map(|c| Block { start: c[0].start, end: c[c.len() - 1].end }).collect();
    blocks.clear();
    merged
}

/// True when a block that matched no license still reads like license
/// terms (a grant, conditions or a warranty disclaimer), so that it is
/// reported as an unknown part rather than taken for prose.
pub fn is_license_like(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let words = lower.split_whitespace().count();
    if words < 40 {
        return false;
    }
    let grant = [
        "hereby grant",
        "is hereby granted",
        "redistribution and use",
        "grants you",
        "you may not use",
        "permission to use",
    ]
    .iter()
    .any(|p| lower.contains(p));
    let disclaimer =
        ["without warrant", "\"as is\"", "“as is”", "disclaim", "no warranty", "not be liable", "in no event"]
            .iter()
            .any(|p| lower.contains(p));
    grant && disclaimer
}

/// Sentences of `text`, whitespace collapsed, as they could be quoted.
pub fn sentences(text: &str) -> Vec<String> {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = flat.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        cur.push(*c);
        // "v. 2.0", "e.g." and "i.e." do not end a sentence; a list item
        // "(i) …;" continues the sentence that opened it.
        let end = matches!(c, '.' | '!' | '?')
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace())
            && !cur.ends_with("v.")
            && !cur.ends_with("e.g.")
            && !cur.ends_with("i.e.")
            && !cur.ends_with("Inc.");
        if end {
            out.push(std::mem::take(&mut cur).trim().to_owned());
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

const CHOICE: &[&str] = &[
    "at your option",
    "at your choice",
    "dual-licensed under",
    "dual licensed under",
    "dual-licensing model",
    "you may choose",
    "your choice of",
    "user's choice of",
    "user’s choice of",
    "terms of either license",
    "under either",
    "either of",
    "choose either",
];

/// The first sentence of `text` that offers a choice between licenses, if
/// any. A sentence that says both apply ("dual license, i.e. both the
/// conditions … apply") offers none.
pub fn choice(text: &str) -> Option<String> {
    choices(text).into_iter().next()
}

/// Every sentence of `text` that offers a choice (see [`choice`]).
pub fn choices(text: &str) -> Vec<String> {
    sentences(text)
        .into_iter()
        .filter(|s| {
            let l = s.to_ascii_lowercase();
            let offers = CHOICE.iter().any(|p| l.contains(p))
                || (l.contains("either") && l.contains(" or "))
                || (l.contains("available under") && l.contains(" or "));
            offers && !says_all_apply(&l)
        })
        .collect()
}

fn says_all_apply(lower: &str) -> bool {
    (lower.contains("both") && lower.contains("apply")) || lower.contains("all of which apply")
}

/// The first sentence of `text` that says all the licenses apply together.
pub fn all_apply(text: &str) -> Option<String> {
    sentences(text).into_iter().find(|s| says_all_apply(&s.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> Vec<String> {
        let lines: Vec<&str> = text.lines().collect();
        blocks(&lines).iter().map(|b| lines[b.start..b.end].join("\n").trim().to_owned()).collect()
    }

    const WORDS: &str = "one two three four five six seven eight nine ten eleven twelve";

    #[test]
    fn rules_titles_and_comments_cut() {
        let text = format!(
            "intro {WORDS}\n\n  OpenSSL License\n  ---------------\n\n/* a {WORDS}\n * b\n */\n\nnext {WORDS}\n\n---\nlast {WORDS}"
        );
        assert_eq!(
            cut(&text),
            vec![
                format!("intro {WORDS}"),
                format!("OpenSSL License\n  ---------------\n\n/* a {WORDS}\n * b\n */"),
                format!("next {WORDS}"),
                format!("last {WORDS}"),
            ]
        );
    }

    #[test]
    fn a_markdown_heading_starts_a_block_and_a_lone_heading_joins_the_next() {
        let text = format!("# A\n{WORDS}\n## B\n{WORDS}\n## C\n## D\n{WORDS}");
        assert_eq!(cut(&text), vec![format!("# A\n{WORDS}"), format!("## B\n{WORDS}"), format!("## C\n## D\n{WORDS}")]);
    }

    #[test]
    fn hostile_input_is_capped() {
        let text = "a\n---\n".repeat(10_000);
        let lines: Vec<&str> = text.lines().collect();
        assert!(blocks(&lines).len() <= MAX_BLOCKS);
    }

    #[test]
    fn choices_and_conjunctions() {
        assert!(choice("Licensed under the Apache License, Version 2.0 or the MIT license, at your option.").is_some());
        assert!(choice("This project is dual-licensed under the Unlicense and MIT licenses.").is_some());
        let ring = "The OpenSSL toolkit stays under a dual license, i.e. both the conditions of the OpenSSL License and the original SSLeay license apply to the toolkit.";
        assert!(choice(ring).is_none());
        assert!(all_apply(ring).is_some());
        assert!(choice("Copyright (c) 2015 Google Inc. All rights reserved.").is_none());
    }

    #[test]
    fn license_like_needs_a_grant_and_a_disclaimer() {
        let isc = "Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted, provided that the above copyright notice and this permission notice appear in all copies. THE SOFTWARE IS PROVIDED \"AS IS\" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE.";
        assert!(is_license_like(isc));
        assert!(!is_license_like(
            "See LICENSE-BoringSSL for code that was sourced from BoringSSL under the Apache 2.0 license."
        ));
    }
}
