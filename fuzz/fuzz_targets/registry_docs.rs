//! Registry documents (npm per-version JSON, PyPI version JSON, a crate's
//! Cargo.toml) never panic the parsers; every answer names the URL it came
//! from, survives the disk cache's JSON round trip, and leaves the resolver
//! a non-empty value to read. Document URLs built from arbitrary names stay
//! under the registry's base.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_scanner::Ecosystem;
use steward_scanner::license::registry::{
    RegistryAnswer, RegistryConfig, RegistryError, RegistryLicense, parse_crate_manifest, parse_npm_version,
    parse_pypi_version,
};

const URL: &str = "https://registry.example/doc";

fn check(result: Result<RegistryAnswer, RegistryError>) {
    match result {
        Ok(answer) => {
            let json = serde_json::to_string(&answer).expect("answers serialize");
            let back: RegistryAnswer = serde_json::from_str(&json).expect("answers read back");
            assert_eq!(back, answer, "the cache round trip changes nothing");
            if let RegistryAnswer::Found(r) = &answer {
                assert_eq!(r.url, URL);
                assert!(!r.field.is_empty());
                match &r.license {
                    RegistryLicense::Declared { expression } => assert!(!expression.trim().is_empty()),
                    RegistryLicense::Text { text } => assert!(text.len() <= 256 << 10),
                }
            }
        }
        Err(e) => assert!(e.to_string().starts_with(URL), "errors name the URL: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    check(parse_npm_version(URL, data));
    check(parse_pypi_version(URL, data));
    let mut files = |path: &str| (path == "LICENSE").then(|| data.to_vec());
    check(parse_crate_manifest(URL, "x-1.0.0/Cargo.toml", data, &mut files));

    if let Ok(text) = std::str::from_utf8(data) {
        let (name, version) = text.split_once('\n').unwrap_or((text, "1.0.0"));
        let config = RegistryConfig::default();
        for eco in [Ecosystem::Npm, Ecosystem::Cargo, Ecosystem::Pypi] {
            let base = config.base_url(eco).expect("a base URL");
            let url = config.document_url(eco, name, version).expect("a URL");
            let rest = url.strip_prefix(base).expect("under the base URL");
            assert!(!rest.split('/').any(|seg| seg == ".." || seg == "."), "{url}");
            assert!(!rest.contains(['?', '#', ' ', '\n']), "{url}");
        }
    }
});
