//! A full artifact check against a local docker-registry: an image with an
//! SPDX SBOM (200 packages), a signature referrer and a legacy `.sig` tag,
//! and a previous semver tag whose SBOM the drift is measured against.
//!
//!     cargo bench -p steward-server --bench artifact
//!
//! `STEWARD_BENCH_PACKAGES=N` sets the SBOM size (default 200).
//! Prints min / median / p90 / max wall time over the runs for
//! (1) the library path: `oci::collect` (every HTTP request, digest check
//! and parse) then `oci::assess` (scanner, license policy on the SBOM and
//! on the drift, signatures, artifact policy) with the policy already
//! compiled; (2) the server's path, `app::artifacts::check_artifact` on
//! SQLite (also first-seen times, storing the check and its ledger entry);
//! and (3) `steward artifact check` end to end (process start, policy
//! compilation and its tests). Target: (1) and (2) ≤ 200 ms. Needs
//! docker-registry and skopeo.

#[path = "../tests/oci_support/mod.rs"]
mod oci_support;

use oci_support::{Registry, TestKey, payload, spdx};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use steward::oci::check::{AssessInputs, Previous};
use steward::oci::{Limits, Reference, RegistryClient, TrustedKey, TrustedKeys};

const RUNS: usize = 30;
/// Packages in each SBOM (`STEWARD_BENCH_PACKAGES`, default 200).
fn packages() -> usize {
    std::env::var("STEWARD_BENCH_PACKAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}
const REPO: &str = "steward/bench";

fn stats(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<48} min {:>7.1} ms  median {:>7.1} ms  p90 {:>7.1} ms  max {:>7.1} ms  ({} runs)",
        ms(times[0]),
        ms(p(0.5)),
        ms(p(0.9)),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() {
    let Some(reg) = Registry::distribution() else {
        println!("artifact bench skipped: docker-registry or skopeo is missing");
        return;
    };
    let key = TestKey::p256(11);
    for (tag, license) in [("v1.0.0", "MIT"), ("v1.1.0", "Apache-2.0")] {
        let names: Vec<String> = (0..packages()).map(|i| format!("pkg-{i}")).collect();
        let deps: Vec<(&str, &str, &str)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), "1.0.0", if i == 0 { license } else { "MIT" }))
            .collect();
        let image = reg.push_image(REPO, tag, tag);
        reg.attach_sbom(REPO, &image, "application/spdx+json", &spdx("bench-app", &deps));
        let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
        reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
        reg.attach_signature(REPO, &image, &p, &key.sign(&p), true);
    }
    let now = time::OffsetDateTime::now_utc();
    let keys = TrustedKeys {
        keys: vec![TrustedKey {
            id: "bench".into(),
            owner: "bench".into(),
            not_before: now - time::Duration::days(1),
            not_after: None,
            key: key.public(),
        }],
        transparency_logs: Vec::new(),
    };
    // `STEWARD_BENCH_POLICIES=DIR` times another bundle (say, an older license.rego).
    let source = match std::env::var("STEWARD_BENCH_POLICIES") {
        Ok(dir) => steward::config::PolicySource::Dir(dir.into()),
        Err(_) => steward::config::PolicySource::Embedded,
    };
    let compiled = steward::policy::compile(steward::policy::read_bundle(&source).unwrap()).unwrap();
    let licenses = steward_scanner::license::LicenseConfig::default().validate().unwrap();
    let reference = Reference::parse(&reg.reference(&format!("{REPO}:v1.1.0"))).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let (mut collect_t, mut assess_t, mut total_t) = (Vec::new(), Vec::new(), Vec::new());
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpu_start = cpu_seconds();
    for _ in 0..RUNS {
        // A fresh client each run: no warm token or connection from the last one.
        let client = RegistryClient::new(Vec::new(), Limits::default(), Duration::from_secs(10)).unwrap();
        let start = Instant::now();
        let collected = runtime.block_on(steward::oci::collect(&client, &reference, &Previous::Auto)).unwrap();
        let collected_at = Instant::now();
        let first_seen = BTreeMap::new();
        let inputs =
            AssessInputs { engine: &compiled.engine, licenses: &licenses, keys: &keys, now, first_seen: &first_seen };
        let report = steward::oci::assess(collected, &inputs).unwrap();
        let done = Instant::now();
        assert_eq!(report.verdict(), steward_policy::Verdict::Allow, "{:?}", report.evaluation.decisions);
        assert!(report.drift.is_some());
        collect_t.push(collected_at - start);
        assess_t.push(done - collected_at);
        total_t.push(done - start);
    }
    let check_cpu_ms = (cpu_seconds() - cpu_start) * 1000.0 / RUNS as f64;
    // Where assess's time goes: the three policy evaluations on the last report's inputs.
    let report = {
        let client = RegistryClient::new(Vec::new(), Limits::default(), Duration::from_secs(10)).unwrap();
        let collected = runtime.block_on(steward::oci::collect(&client, &reference, &Previous::Auto)).unwrap();
        let first_seen = BTreeMap::new();
        let inputs =
            AssessInputs { engine: &compiled.engine, licenses: &licenses, keys: &keys, now, first_seen: &first_seen };
        steward::oci::assess(collected, &inputs).unwrap()
    };
    let (mut sbom_t, mut drift_t, mut policy_t, mut convert_t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // CPU time as well as wall time: on a loaded machine the CPU this
    // process spends is the steadier measure.
    let cpu_start = cpu_seconds();
    for _ in 0..RUNS {
        let sbom = report.sbom_license.as_ref().unwrap();
        steward::gate::judge(sbom.drift.clone(), &compiled.engine, sbom.context.clone(), now).unwrap();
    }
    let sbom_cpu_ms = (cpu_seconds() - cpu_start) * 1000.0 / RUNS as f64;
    for _ in 0..RUNS {
        let sbom = report.sbom_license.as_ref().unwrap();
        let start = Instant::now();
        steward::gate::judge(sbom.drift.clone(), &compiled.engine, sbom.context.clone(), now).unwrap();
        sbom_t.push(start.elapsed());
        let drift = report.drift.as_ref().unwrap();
        let start = Instant::now();
        steward::gate::judge(drift.drift.clone(), &compiled.engine, drift.context.clone(), now).unwrap();
        drift_t.push(start.elapsed());
        let start = Instant::now();
        compiled.engine.evaluate_artifact(&report.input).unwrap();
        policy_t.push(start.elapsed());
        // The same input, a trivial rule: what handing the findings to regorus costs.
        let input = steward_policy::gate_input(sbom.drift_json.clone(), "2026-01-01T00:00:00Z", serde_json::json!({}));
        let start = Instant::now();
        compiled.engine.query(&input, "data.steward.license.severity").unwrap();
        convert_t.push(start.elapsed());
    }
    println!("artifact check of {reference} ({}-package SBOM, 2 signatures, previous tag):", packages());
    stats("collect (16 registry requests, digest checks)", collect_t);
    stats("assess (scan, license policy x2, signatures, policy)", assess_t);
    stats("full check, library (target ≤ 200 ms)", total_t);
    println!(
        "{:<48} {check_cpu_ms:>7.1} ms CPU per run in this process (the registry's own CPU not counted); load average at start {}",
        "full check, library",
        load_average.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    stats("  of which: license policy on the SBOM", sbom_t);
    println!("{:<48} {sbom_cpu_ms:>7.1} ms CPU per run (mean of {RUNS})", "  of which: license policy on the SBOM");
    stats("  of which: license policy on the drift", drift_t);
    stats("  of which: artifact policy", policy_t);
    stats("  (the findings handed to regorus, trivial rule)", convert_t);

    // (3) The server's path: `app::artifacts::check_artifact` on SQLite —
    // collect, first-seen times, assess on a blocking thread, store the
    // check, append its ledger entry (one fsync'd transaction each).
    let server_dir = tempfile::tempdir().unwrap();
    let keys_file = server_dir.path().join("keys.toml");
    std::fs::write(
        &keys_file,
        format!(
            "[[keys]]\nid = \"bench\"\nowner = \"bench\"\nnot_before = \"2020-01-01T00:00:00Z\"\npublic_key = \"\"\"\n{}\"\"\"\n",
            key.public().to_pem()
        ),
    )
    .unwrap();
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server_t = server_rt.block_on(async {
        let layer = steward::config::Layer {
            data_dir: Some(server_dir.path().join("data")),
            database_url: Some(format!("sqlite://{}", server_dir.path().join("bench.db").display())),
            policies: Some("embedded".into()),
            artifacts: Some(steward::config::ArtifactsFile {
                trusted_keys: Some(keys_file.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let config = steward::config::Config::load(None, &layer, &|_| None).unwrap();
        let store = steward::store::Store::open(&config.database_url.value).await.unwrap();
        let state = steward::app::AppState::build(store, config, ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]))
            .await
            .unwrap();
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let request = steward::app::artifacts::CheckRequest {
                reference: reference.clone(),
                previous: Previous::Auto,
                source: steward::store::ArtifactSource::Api,
                job_id: None,
            };
            let start = Instant::now();
            let checked = steward::app::artifacts::check_artifact(&state, request, "bench").await.unwrap();
            times.push(start.elapsed());
            assert_eq!(checked.verdict, steward_policy::Verdict::Allow);
        }
        times
    });
    stats("full check, server (+ first seen, store, ledger)", server_t);

    let dir = tempfile::tempdir().unwrap();
    let mut cli = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .current_dir(dir.path())
            .args(["artifact", "check", &reference.to_string(), "--format", "json", "--policies", "embedded"])
            .output()
            .unwrap();
        cli.push(start.elapsed());
        assert_eq!(out.status.code(), Some(1), "no trusted keys given: deny");
    }
    stats("steward artifact check, process end to end", cli);
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
