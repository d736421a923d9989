//! Version order within an ecosystem: semver (cargo, npm, Go; lenient
//! about a leading `v` or `=` and missing parts), PEP 440 for Python, and a
//! natural order (digit runs compared as numbers) for anything else. Drift
//! pairs versions with it; clarifications match version requirements with
//! [`parse_semver`]. Pure functions, no I/O.

use crate::model::Ecosystem;
use std::cmp::Ordering;

/// Parses a version as semver, leniently: a leading `v` or `=`, and
/// `1.2` / `1` padded to three parts.
pub fn parse_semver(v: &str) -> Option<semver::Version> {
    let v = v.trim().trim_start_matches(['=', 'v', 'V']);
    if let Ok(parsed) = semver::Version::parse(v) {
        return Some(parsed);
    }
    let (core, rest) = match v.find(['-', '+']) {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let parts = core.split('.').count();
    let padded = match parts {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => return None,
    };
    semver::Version::parse(&padded).ok()
}

/// Orders two versions of one package in its ecosystem's version order.
pub fn compare_versions(eco: Ecosystem, a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    match eco {
        Ecosystem::Pypi => pep440_cmp(a, b),
        _ => match (parse_semver(a), parse_semver(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => natural_cmp(a, b),
        },
    }
}

/// PEP 440 ordering for the common forms: epoch, release, pre (a/b/rc),
/// post, dev; local versions compared as text after the rest.
pub fn pep440_cmp(a: &str, b: &str) -> Ordering {
    match (Pep440::parse(a), Pep440::parse(b)) {
        (Some(x), Some(y)) => x.key().cmp(&y.key()).then_with(|| x.local.cmp(&y.local)),
        _ => natural_cmp(a, b),
    }
}

#[derive(Debug)]
struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: String,
}

impl Pep440 {
    fn parse(v: &str) -> Option<Self> {
        let v = v.trim().to_ascii_lowercase();
        let v = v.strip_prefix('v').unwrap_or(&v);
        let (v, local) = match v.split_once('+') {
            Some((a, l)) => (a, l.to_owned()),
            None => (v, String::new()),
        };
        let (epoch, v) = match v.split_once('!') {
            Some((e, r)) => (e.parse().ok()?, r),
            None => (0, v),
        };
        let bytes = v.as_bytes();
        let mut i = 0;
        let mut release = Vec::new();
        loop {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return None;
            }
            release.push(v[start..i].parse().ok()?);
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
            } else {
                break;
            }
        }
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let mut rest = v[i..].trim_start_matches(['.', '-', '_']);
        let num = |s: &str| -> (u64, usize) {
            let s2 = s.trim_start_matches(['.', '-', '_']);
            let skipped = s.len() - s2.len();
            let d = s2.bytes().take_while(u8::is_ascii_digit).count();
            (s2[..d].parse().unwrap_or(0), skipped + d)
        };
        let mut pre = None;
        for (tag, rank) in
            [("alpha", 0u8), ("beta", 1), ("preview", 2), ("pre", 2), ("rc", 2), ("a", 0), ("b", 1), ("c", 2)]
        {
            if let Some(r) = rest.strip_prefix(tag) {
                let (n, used) = num(r);
                pre = Some((rank, n));
                rest = r[used..].trim_start_matches(['.', '-', '_']);
                break;
            }
        }
        let mut post = None;
        for tag in ["post", "rev", "r"] {
            if let Some(r) = rest.strip_prefix(tag) {
                let (n, used) = num(r);
                post = Some(n);
                rest = r[used..].trim_start_matches(['.', '-', '_']);
                break;
            }
        }
        let mut dev = None;
        if let Some(r) = rest.strip_prefix("dev") {
            let (n, used) = num(r);
            dev = Some(n);
            rest = &r[used..];
        }
        if !rest.is_empty() {
            return None;
        }
        Some(Self { epoch, release, pre, post, dev, local })
    }

    /// Sort key: dev-only releases first, then pre-releases, the release,
    /// then post-releases; a dev marker sorts before its absence.
    #[allow(clippy::type_complexity)]
    fn key(&self) -> (u64, &[u64], (u8, u8, u64), (u8, u64), (u8, u64)) {
        let phase = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (0, 0, 0),
            (Some((rank, n)), _, _) => (1, rank, n),
            (None, _, _) => (2, 0, 0),
        };
        let post = match self.post {
            None => (0, 0),
            Some(n) => (1, n),
        };
        let dev = match self.dev {
            Some(n) => (0, n),
            None => (1, 0),
        };
        (self.epoch, &self.release, phase, post, dev)
    }
}

/// Compares strings chunk by chunk, digit runs numerically.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut x = a.as_bytes();
    let mut y = b.as_bytes();
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let xd = x[0].is_ascii_digit();
        let yd = y[0].is_ascii_digit();
        let xl = x.iter().take_while(|c| c.is_ascii_digit() == xd).count();
        let yl = y.iter().take_while(|c| c.is_ascii_digit() == yd).count();
        let (cx, cy) = (&x[..xl], &y[..yl]);
        let ord = if xd && yd {
            let tx = trim_zeros(cx);
            let ty = trim_zeros(cy);
            tx.len().cmp(&ty.len()).then(tx.cmp(ty))
        } else {
            cx.cmp(cy)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        x = &x[xl..];
        y = &y[yl..];
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_is_read_leniently() {
        let v = |s: &str| parse_semver(s).map(|v| v.to_string());
        assert_eq!(v("1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("v1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("=1.2").as_deref(), Some("1.2.0"));
        assert_eq!(v(" 7 ").as_deref(), Some("7.0.0"));
        assert_eq!(v("1.2-rc.1").as_deref(), Some("1.2.0-rc.1"));
        assert_eq!(v("v0.0.0-20230101000000-abcdef123456").as_deref(), Some("0.0.0-20230101000000-abcdef123456"));
        assert_eq!(v("1.2.3.4"), None);
        assert_eq!(v("2024a-r0"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn natural_order_compares_digit_runs_as_numbers() {
        assert_eq!(natural_cmp("1.3.7-r2", "1.3.10-r0"), Ordering::Less);
        assert_eq!(natural_cmp("2024a", "2023c"), Ordering::Greater);
        assert_eq!(natural_cmp("007", "7"), Ordering::Equal);
        assert_eq!(natural_cmp("a", "a1"), Ordering::Less);
        // Not semver on one side: the natural order decides.
        assert_eq!(compare_versions(Ecosystem::Other, "1.3.7.1", "1.3.10"), Ordering::Less);
    }
}
