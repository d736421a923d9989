//! License text detection over the real-file corpus
//! (`tests/data/license-corpus/`): throughput in MB/s of the detector
//! with its content cache bypassed, and a scoreboard (precision and recall
//! per license family) against the corpus's expected expressions.
//!
//! The SPDX texts listed as controls in `corpus.toml` are part of both.
//!
//! `cargo bench -p steward-scanner --bench detect`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;
use steward_scanner::license::detect::{DEFAULT_THRESHOLD, detect_text};
use steward_scanner::license::parse_lenient;

struct Entry {
    file: String,
    expected: String,
    family: String,
    text: String,
}

fn corpus() -> Vec<Entry> {
    let dir = format!("{}/tests/data/license-corpus", env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(format!("{dir}/corpus.toml")).unwrap()).unwrap();
    let files = manifest["file"].as_array().unwrap();
    let controls = manifest["control"].as_array().unwrap().iter().map(|c| {
        let id = c["id"].as_str().unwrap();
        let text = spdx::text::LICENSE_TEXTS.iter().find(|(i, _)| *i == id).unwrap().1;
        Entry {
            file: format!("SPDX {id}"),
            expected: id.to_owned(),
            family: c["family"].as_str().unwrap().to_owned(),
            text: text.to_owned(),
        }
    });
    files
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap().to_owned();
            let text = String::from_utf8_lossy(&std::fs::read(format!("{dir}/{file}")).unwrap()).into_owned();
            Entry {
                expected: f["expected"].as_str().unwrap().to_owned(),
                family: f["family"].as_str().unwrap().to_owned(),
                file,
                text,
            }
        })
        .chain(controls)
        .collect()
}

fn canonical(expr: &str) -> String {
    parse_lenient(expr).and_then(|p| p.value.expr().map(|e| e.canonical().to_string())).unwrap_or_default()
}

fn main() {
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(|e| e.text.len()).sum();
    // Load the store outside the timing.
    let _ = detect_text("warm up", DEFAULT_THRESHOLD);

    // Scoreboard: per family, true positives, false positives (answers
    // claiming the family that are wrong) and false negatives.
    let mut tp: BTreeMap<&str, u32> = BTreeMap::new();
    let mut fp: BTreeMap<&str, u32> = BTreeMap::new();
    let mut fns: BTreeMap<&str, u32> = BTreeMap::new();
    let mut wrong = Vec::new();
    for e in &corpus {
        let got =
            detect_text(&e.text, DEFAULT_THRESHOLD).expression().map(|x| x.canonical().to_string()).unwrap_or_default();
        if got == canonical(&e.expected) {
            *tp.entry(&e.family).or_default() += 1;
        } else {
            *fns.entry(&e.family).or_default() += 1;
            // A wrong answer counts against the family it claims, when it claims one.
            let claimed =
                corpus.iter().find(|o| !got.is_empty() && canonical(&o.expected) == got).map(|o| o.family.as_str());
            if let Some(c) = claimed {
                *fp.entry(c).or_default() += 1;
            }
            wrong.push(format!(
                "{}: expected {}, got {}",
                e.file,
                e.expected,
                if got.is_empty() { "none" } else { &got }
            ));
        }
    }
    let families: std::collections::BTreeSet<&str> = corpus.iter().map(|e| e.family.as_str()).collect();
    println!("| family | files | correct | precision | recall |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for f in &families {
        let t = tp.get(f).copied().unwrap_or(0);
        let p = fp.get(f).copied().unwrap_or(0);
        let n = fns.get(f).copied().unwrap_or(0);
        let prec = if t + p == 0 { 1.0 } else { f64::from(t) / f64::from(t + p) };
        let rec = if t + n == 0 { 1.0 } else { f64::from(t) / f64::from(t + n) };
        println!("| {f} | {} | {t} | {:.0} % | {:.0} % |", t + n, prec * 100.0, rec * 100.0);
    }
    let total_ok: u32 = tp.values().sum();
    println!("| all | {} | {total_ok} | | {:.1} % |", corpus.len(), f64::from(total_ok) * 100.0 / corpus.len() as f64);
    for w in &wrong {
        println!("wrong: {w}");
    }

    // Throughput: every file once per round, with a threshold that differs
    // in the last bits each round so the detector's content cache never hits.
    let rounds = 5u32;
    let start = Instant::now();
    for r in 0..rounds {
        let threshold = DEFAULT_THRESHOLD + f32::EPSILON * (r + 1) as f32;
        for e in &corpus {
            black_box(detect_text(black_box(&e.text), threshold));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (bytes as f64 * f64::from(rounds)) / 1e6;
    println!(
        "throughput: {:.3} MB/s ({} files, {} bytes, {rounds} rounds in {secs:.2} s)",
        mb / secs,
        corpus.len(),
        bytes
    );
}
