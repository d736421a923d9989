//! Lowercase hexadecimal, for hashes and key ids in messages and JSON.
//! Private helper: no dependencies.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        assert_eq!(super::encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(super::decode("00ABff"), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(super::decode("0"), None);
        assert_eq!(super::decode("zz"), None);
    }

    #[test]
    fn every_byte_and_every_digit() {
        let all: Vec<u8> = (0..=255).collect();
        let text: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::encode(&all), text);
        assert_eq!(super::decode(&text), Some(all.clone()));
        assert_eq!(super::decode(&text.to_uppercase()), Some(all));
        assert_eq!(super::encode(&[]), "");
        assert_eq!(super::decode(""), Some(vec![]));
        for c in 0..=255u8 {
            let hex = c.is_ascii_hexdigit();
            let value = char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
            assert_eq!(super::nibble(c), value, "{c}");
            let pair = [c, b'0'];
            let text = std::str::from_utf8(&pair).ok();
            if let Some(text) = text {
                assert_eq!(super::decode(text).is_some(), hex, "{text:?}");
            }
        }
        for odd in ["a", "abc", "00000", "0g0"] {
            assert_eq!(super::decode(odd), None, "{odd}");
        }
        assert_eq!(super::decode("0g"), None);
        assert_eq!(super::decode("g0"), None);
        assert_eq!(super::decode("1f2E"), Some(vec![0x1f, 0x2e]));
    }
}
