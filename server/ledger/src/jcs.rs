//! RFC 8785 JSON Canonicalization Scheme (JCS) for the values ledger
//! entries may hold: objects, arrays, strings, integers, booleans, null.
//!
//! Written by hand rather than taken from a crate: `serde_jcs` (0.2)
//! serializes every integer through an `f64`, so integers above 2^53
//! silently change value, and it accepts floats, whose canonical form is
//! easy to get subtly wrong across implementations. Entries here admit no
//! floats at all and only integers in the I-JSON safe range
//! (|n| ≤ 2^53 − 1), where RFC 8785's number rule is plain decimal. For
//! that domain the output is byte-identical to any conforming JCS
//! implementation (the interop tests compare with `serde_jcs`).
//!
//! Rules applied: no insignificant whitespace; object members sorted by
//! the UTF-16 code units of their names; strings escaped as ECMAScript's
//! `JSON.stringify` does (`\b \t \n \f \r \" \\`, other controls as
//! lowercase `\u00xx`, everything else literal UTF-8).
//!
//! **Must not depend on:** storage, HTTP, async, the filesystem.

use serde_json::Value;

/// Largest integer magnitude allowed (2^53 − 1, I-JSON's safe range).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Maximum nesting depth of arrays and objects.
pub const MAX_DEPTH: usize = 64;

/// A value that has no canonical form in Steward's JSON subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A floating-point number (or an integer too large for i64/u64).
    #[error("{path}: floating-point numbers are not allowed in ledger JSON")]
    Float {
        /// JSON pointer to the value.
        path: String,
    },
    /// An integer outside ±(2^53 − 1).
    #[error("{path}: integer {value} is outside the safe range ±(2^53 - 1)")]
    IntegerOutOfRange {
        /// JSON pointer to the value.
        path: String,
        /// The integer, as text.
        value: String,
    },
    /// Bytes that are not exactly the canonical serialization of a value.
    #[error("byte {offset}: not RFC 8785 canonical JSON ({reason})")]
    NotCanonical {
        /// Where the bytes first differ from canonical form.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("{path}: nested deeper than {max} levels")]
    TooDeep {
        /// JSON pointer to the value.
        path: String,
        /// The limit.
        max: usize,
    },
}

/// The canonical (RFC 8785) bytes of `value`.
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out, &mut String::new(), 0)?;
    Ok(out)
}

/// Checks that a value is in the allowed subset, without serializing it.
pub fn check(value: &Value) -> Result<(), CanonicalError> {
    to_canonical_vec(value).map(|_| ())
}

/// What [`validate_canonical`] saw besides canonical form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Whether a `null` literal occurs anywhere.
    pub contains_null: bool,
}

/// Checks, in one pass and without building a value, that `bytes` are
/// exactly what [`to_canonical_vec`] produces for some allowed value:
/// UTF-8, no whitespace, members sorted by UTF-16 code units without
/// duplicates, minimal string escapes, canonical safe-range integers, no
/// floats, nesting within [`MAX_DEPTH`].
pub fn validate_canonical(bytes: &[u8]) -> Result<ScanSummary, CanonicalError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(CanonicalError::NotCanonical { offset: e.valid_up_to(), reason: "invalid UTF-8" });
    }
    let mut scanner = Scanner { b: bytes, pos: 0, summary: ScanSummary::default() };
    scanner.value(0)?;
    if scanner.pos != bytes.len() {
        return Err(scanner.err("trailing bytes after the value"));
    }
    Ok(scanner.summary)
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    summary: ScanSummary,
}

/// Orders two member names (raw, still escaped, already validated) by
/// their UTF-16 code units. Without escapes and without characters at or
/// above U+E000 (UTF-8 lead bytes 0xEE and up), UTF-8 byte order is the
/// same as UTF-16 order, so the common case compares bytes directly.
fn compare_keys(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let simple = |k: &[u8]| k.iter().all(|&x| x != b'\\' && x < 0xee);
    if simple(a) && simple(b) {
        return a.cmp(b);
    }
    decode_key(a).cmp(&decode_key(b))
}

fn decode_key(raw: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        let run = rest.iter().position(|&x| x == b'\\').unwrap_or(rest.len());
        let (text, tail) = rest.split_at(run);
        out.extend(std::str::from_utf8(text).unwrap_or("").encode_utf16());
        rest = tail;
        if rest.is_empty() {
            break;
        }
        let (unit, used) = match rest.get(1) {
            Some(b'"') => (0x22, 2),
            Some(b'\\') => (0x5c, 2),
            Some(b'b') => (0x08, 2),
            Some(b't') => (0x09, 2),
            Some(b'n') => (0x0a, 2),
            Some(b'f') => (0x0c, 2),
            Some(b'r') => (0x0d, 2),
            _ => {
                let hex = rest.get(2..6).and_then(|h| std::str::from_utf8(h).ok());
                (hex.and_then(|h| u16::from_str_radix(h, 16).ok()).unwrap_or(0), 6)
            }
        };
        out.push(unit);
        rest = rest.get(used..).unwrap_or(&[]);
    }
    out
}

impl Scanner<'_> {
    fn err(&self, reason: &'static str) -> CanonicalError {
        CanonicalError::NotCanonical { offset: self.pos, reason }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), CanonicalError> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), CanonicalError> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => {
                self.summary.contains_null = true;
                self.literal(b"null")
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected byte")),
            None => Err(self.err("unexpected end")),
        }
    }

    fn number(&mut self) -> Result<(), CanonicalError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits_start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let digits = self.b.get(digits_start..self.pos).unwrap_or(&[]);
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(CanonicalError::Float { path: format!("byte {start}") });
        }
        if digits.is_empty() {
            return Err(self.err("invalid number"));
        }
        if digits.len() > 1 && digits.first() == Some(&b'0') {
            return Err(self.err("leading zero"));
        }
        if digits == b"0" && digits_start > start {
            return Err(self.err("negative zero"));
        }
        let text = std::str::from_utf8(digits).unwrap_or("");
        let value: Option<i64> = if digits.len() <= 16 { text.parse().ok() } else { None };
        if value.is_none_or(|v| v > MAX_SAFE_INTEGER) {
            return Err(CanonicalError::IntegerOutOfRange {
                path: format!("byte {start}"),
                value: String::from_utf8_lossy(self.b.get(start..self.pos).unwrap_or(&[])).into_owned(),
            });
        }
        Ok(())
    }

    /// Scans a string.
    fn string(&mut self) -> Result<(), CanonicalError> {
        self.pos += 1; // opening quote
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.escape()?;
                }
                Some(0x00..=0x1f) => return Err(self.err("unescaped control character")),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Scans one escape (at the backslash); returns the character.
    fn escape(&mut self) -> Result<u16, CanonicalError> {
        let unit = match self.b.get(self.pos + 1) {
            Some(b'"') => 0x22,
            Some(b'\\') => 0x5c,
            Some(b'b') => 0x08,
            Some(b't') => 0x09,
            Some(b'n') => 0x0a,
            Some(b'f') => 0x0c,
            Some(b'r') => 0x0d,
            Some(b'u') => {
                let hex = self.b.get(self.pos + 2..self.pos + 6).unwrap_or(&[]);
                let ok = hex.len() == 4 && hex.iter().all(|h| matches!(h, b'0'..=b'9' | b'a'..=b'f'));
                let value = std::str::from_utf8(hex).ok().and_then(|h| u16::from_str_radix(h, 16).ok());
                match value {
                    Some(v) if ok && v < 0x20 && !matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) => {
                        self.pos += 6;
                        return Ok(v);
                    }
                    _ => return Err(self.err("escape that canonical form does not use")),
                }
            }
            _ => return Err(self.err("escape that canonical form does not use")),
        };
        self.pos += 2;
        Ok(unit)
    }

    fn array(&mut self, depth: usize) -> Result<(), CanonicalError> {
        if depth >= MAX_DEPTH {
            return Err(CanonicalError::TooDeep { path: format!("byte {}", self.pos), max: MAX_DEPTH });
        }
        self.pos += 1;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected , or ]")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), CanonicalError> {
        if depth >= MAX_DEPTH {
            return Err(CanonicalError::TooDeep { path: format!("byte {}", self.pos), max: MAX_DEPTH });
        }
        self.pos += 1;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        let mut previous: Option<(usize, usize)> = None;
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a member name"));
            }
            let key_start = self.pos;
            self.string()?;
            let key = (key_start + 1, self.pos - 1);
            if let Some(prev) = previous {
                let raw = |(a, b): (usize, usize)| self.b.get(a..b).unwrap_or(&[]);
                if compare_keys(raw(key), raw(prev)) != std::cmp::Ordering::Greater {
                    self.pos = key_start;
                    return Err(self.err("member names not sorted by UTF-16 code units, or duplicated"));
                }
            }
            previous = Some(key);
            if self.peek() != Some(b':') {
                return Err(self.err("expected :"));
            }
            self.pos += 1;
            self.value(depth + 1)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected , or }")),
            }
        }
    }
}

fn write_value(value: &Value, out: &mut Vec<u8>, path: &mut String, depth: usize) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let int = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
            let Some(int) = int.filter(|_| !n.is_f64()) else {
                return Err(CanonicalError::Float { path: path.clone() });
            };
            if int.abs() > i128::from(MAX_SAFE_INTEGER) {
                return Err(CanonicalError::IntegerOutOfRange { path: path.clone(), value: int.to_string() });
            }
            out.extend_from_slice(int.to_string().as_bytes());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(CanonicalError::TooDeep { path: path.clone(), max: MAX_DEPTH });
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                write_value(item, out, path, depth + 1)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Err(CanonicalError::TooDeep { path: path.clone(), max: MAX_DEPTH });
            }
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                let len = path.len();
                path.push('/');
                // JSON pointer escaping (RFC 6901).
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                write_value(item, out, path, depth + 1)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x09 => Some(b"\\t"),
            0x0a => Some(b"\\n"),
            0x0c => Some(b"\\f"),
            0x0d => Some(b"\\r"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or(&[]));
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or(&[]));
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        String::from_utf8(to_canonical_vec(v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // RFC 8785 §3.2.3 example keys (minus the float values).
        let v = json!({
            "\u{20ac}": "Euro Sign",
            "\r": "Carriage Return",
            "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\u{1f600}": "Emoji: Grinning Face",
            "\u{80}": "Control",
            "\u{f6}": "Latin Small Letter O With Diaeresis"
        });
        let out = canon(&v);
        let order: Vec<&str> = ["\\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"].to_vec();
        let mut last = 0;
        for key in order {
            let pos = out.find(&format!("\"{key}\":")).unwrap();
            assert!(pos >= last, "{key} out of order in {out}");
            last = pos;
        }
    }

    #[test]
    fn escapes_like_json_stringify() {
        let v = json!("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\"\\/\u{7f}\u{2028}é");
        assert_eq!(canon(&v), "\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\\"\\\\/\u{7f}\u{2028}é\"");
    }

    #[test]
    fn numbers() {
        assert_eq!(
            canon(&json!([0, -1, 9007199254740991i64, -9007199254740991i64])),
            "[0,-1,9007199254740991,-9007199254740991]"
        );
        assert!(matches!(to_canonical_vec(&json!(9007199254740992u64)), Err(CanonicalError::IntegerOutOfRange { .. })));
        assert!(
            matches!(to_canonical_vec(&json!({"a": [1.5]})), Err(CanonicalError::Float { path }) if path == "/a/0")
        );
        assert!(to_canonical_vec(&json!(1.0)).is_err());
    }

    #[test]
    fn nesting_limit() {
        let mut v = json!(1);
        for _ in 0..MAX_DEPTH {
            v = json!([v]);
        }
        assert!(to_canonical_vec(&v).is_ok());
        v = json!([v]);
        assert!(matches!(to_canonical_vec(&v), Err(CanonicalError::TooDeep { .. })));
    }

    #[test]
    fn scanner_accepts_exactly_the_canonical_form() {
        let values = [
            json!({"b": [true, false, null], "a": {}, "c": [], "\u{e000}": 1, "\u{1f600}": -5}),
            json!("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\"\\/\u{7f}\u{2028}é"),
            json!([0, -1, 9007199254740991i64, {"x": {"y": [[]]}}]),
        ];
        for v in &values {
            let bytes = to_canonical_vec(v).unwrap();
            validate_canonical(&bytes).unwrap();
            // Every single-byte mutation is accepted by the scanner iff it
            // is the canonical form of what it parses to.
            for i in 0..bytes.len() {
                for replacement in [b' ', b'0', b'"', b'\\', b'1', b'e', b'.', b'u', b'a', b'}', b',', 0x7f] {
                    let mut m = bytes.clone();
                    m[i] = replacement;
                    let reference = serde_json::from_slice::<Value>(&m)
                        .ok()
                        .and_then(|v| to_canonical_vec(&v).ok())
                        .is_some_and(|c| c == m);
                    assert_eq!(validate_canonical(&m).is_ok(), reference, "{}", String::from_utf8_lossy(&m));
                }
            }
        }
        for bad in [
            &b"{\"b\":1,\"a\":2}"[..],
            b"{\"a\":1,\"a\":2}",
            b"\"\\u00e9\"",
            b"\"\\/\"",
            b"-0",
            b"01",
            b"1.0",
            b"[1 ]",
            b"\"\\u000A\"",
        ] {
            assert!(validate_canonical(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(validate_canonical(b"null").unwrap().contains_null);
    }

    #[test]
    fn whitespace_and_literals() {
        assert_eq!(
            canon(&json!({"b": [true, false, null], "a": {}, "c": []})),
            r#"{"a":{},"b":[true,false,null],"c":[]}"#
        );
    }
}
