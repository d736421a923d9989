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
    fn whitespace_and_literals() {
        assert_eq!(
            canon(&json!({"b": [true, false, null], "a": {}, "c": []})),
            r#"{"a":{},"b":[true,false,null],"c":[]}"#
        );
    }
}
