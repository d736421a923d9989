//! Escaping untrusted strings for where a report puts them.
//!
//! Package names, versions, license strings, paths and policy messages come
//! from lockfiles and SBOMs, which anyone who opens a pull request controls.
//! Rendered as they are, they can paint a terminal (ANSI escapes), or turn a
//! pull request comment into a live link, a tracking image, an `@team`
//! mention or raw HTML. Every renderer passes such strings through one of
//! these functions:
//!
//! - [`terminal`]: control characters shown as `\u{…}` escapes.
//! - [`plain`]: the same, for JSON-free plain-text fields (SARIF messages).
//! - [`md_code`]: a GitHub-flavoured Markdown code span, inside which
//!   nothing is a link, image, mention, emphasis or HTML; safe in tables.
//!
//! Each also caps a value at [`MAX_CHARS`] characters.

/// The longest value a report shows; longer ones end in `…`.
pub const MAX_CHARS: usize = 200;

/// `s` with control characters (C0, DEL, C1, and the bidirectional
/// overrides that reorder what a reader sees) written as `\u{…}`, and at
/// most [`MAX_CHARS`] characters.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_CHARS * 2));
    for (n, c) in s.chars().enumerate() {
        if n == MAX_CHARS {
            out.push('…');
            break;
        }
        if is_hidden_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Plain text for fields other programs display as text (SARIF messages):
/// the same rules as [`terminal`].
pub fn plain(s: &str) -> String {
    terminal(s)
}

fn is_hidden_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// `s` as a Markdown code span: `` `s` ``, with a fence longer than any run
/// of backticks inside, `|` escaped (GitHub tables split on it even in code
/// spans), line breaks and other controls as in [`terminal`]. Empty for an
/// empty string.
pub fn md_code(s: &str) -> String {
    let text = terminal(&s.replace(['\n', '\r'], " ")).replace('|', "\\|");
    if text.is_empty() {
        return String::new();
    }
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A span that starts or ends with a backtick needs a space inside the fence.
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_shows_controls_and_caps_length() {
        assert_eq!(terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(terminal("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(terminal("ok 1.0 → 2.0"), "ok 1.0 → 2.0");
        let long = "x".repeat(500);
        assert_eq!(terminal(&long).chars().count(), MAX_CHARS + 1);
    }

    #[test]
    fn code_spans_hold_anything() {
        assert_eq!(md_code("lodash"), "`lodash`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x`"), "`` `x` ``");
        assert_eq!(md_code("a|b\nc"), "`a\\|b c`");
        assert_eq!(md_code(""), "");
    }
}
