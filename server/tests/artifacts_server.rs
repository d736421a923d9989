//! Artifact checks on the server (issue 13, phase 2) against a real
//! docker-registry (CNCF distribution 2.8.2), images pushed with skopeo:
//!
//! - a registry configured to notify Steward: a push is checked by itself
//!   (the check appears with its verdict, in the store and the ledger),
//!   and a replayed notification queues nothing new: one check;
//! - `POST /api/v1/artifacts/check`: exit-code-like verdicts, stored and
//!   recorded; signatures judged at the time Steward first saw them (an
//!   expired key denies a new signature while an old release signed in its
//!   window stays allowed); nothing stored when the registry is down or a
//!   blob's digest does not match;
//! - the notification endpoint refuses what does not carry the secret.
//!
//! On SQLite always, and on PostgreSQL when `STEWARD_TEST_POSTGRES_URL` is set.

// `oci_support` includes `common/skip.rs` by path (so OCI tests without
// `common` can skip); this file uses both, so the one file is loaded twice.
#![allow(clippy::duplicate_mod)]

mod common;
mod oci_support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use http_body_util::BodyExt as _;
use oci_support::{Desc, Registry, TestKey, payload, spdx};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use steward::app::AppState;
use steward::auth::Role;
use steward::config::{ArtifactsFile, JobsConfig};
use steward::store::{ArtifactFilter, JobKind};
use tower::ServiceExt as _;

const REPO: &str = "steward/demo";
const SECRET: &str = "registry-notify-secret-0123456789";

/// A test's server: state, router, workers, served on a loopback port.
struct Server {
    rt: tokio::runtime::Handle,
    state: AppState,
    app: axum::Router,
    url: String,
    ci_token: String,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Server {
    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Body::from(body)).unwrap();
        self.rt.block_on(async {
            let response = self.app.clone().oneshot(req).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        })
    }

    fn check(&self, reference: &str) -> (StatusCode, Value) {
        let body = serde_json::to_vec(&json!({ "reference": reference })).unwrap();
        self.request("POST", "/api/v1/artifacts/check", Some(&self.ci_token), &[], body)
    }

    fn checks(&self) -> Vec<steward::store::ArtifactCheck> {
        self.rt
            .block_on(self.state.store.list_artifact_checks(&ArtifactFilter { limit: 500, ..Default::default() }))
            .unwrap()
    }
}

/// Starts the app on `db` with `[artifacts]` (the notification secret, the
/// trusted keys in `keys`) and fast workers, served on a loopback port.
fn server(rt: &tokio::runtime::Runtime, db: &TestDb, keys: &std::path::Path) -> Server {
    let config = db.config_with(|l| {
        l.artifacts = Some(ArtifactsFile {
            trusted_keys: Some(keys.to_path_buf()),
            notification_secret: Some(SECRET.into()),
            timeout_secs: Some(10),
            ..Default::default()
        });
        l.body_limit = Some(steward::config::ByteSize::Bytes(1 << 20));
        l.jobs =
            Some(JobsConfig { workers: 2, lease_seconds: 30, max_attempts: 3, poll_millis: 50, backoff_seconds: 1 });
    });
    let (state, app, url, stop) = rt.block_on(async {
        let state = db.state_with(config).await;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        steward::jobs::spawn_workers(state.clone(), stop_rx);
        let app = steward::http::router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = app.clone();
        tokio::spawn(async move { axum::serve(listener, served).await });
        (state, app, url, stop)
    });
    let ci_token = rt.block_on(steward::app::tokens::issue_token(&state.store, "ci", Role::Ci)).unwrap().secret;
    Server { rt: rt.handle().clone(), state, app, url, ci_token, _stop: stop }
}

/// A keys file trusting `key` as `release` in `[not_before, not_after)`.
fn keys_file(dir: &std::path::Path, key: &TestKey, not_before: &str, not_after: Option<&str>) -> std::path::PathBuf {
    let end = not_after.map(|t| format!("not_after = \"{t}\"\n")).unwrap_or_default();
    let text = format!(
        "[[keys]]\nid = \"release\"\nowner = \"release-team\"\nnot_before = \"{not_before}\"\n{end}public_key = \"\"\"\n{}\"\"\"\n",
        key.public().to_pem()
    );
    let path = dir.join("keys.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Pushes `tag` (one dependency under `license`), its SBOM and, with
/// `key`, a signature by it (as a referrer).
fn publish(reg: &Registry, tag: &str, license: &str, key: Option<&TestKey>) -> Desc {
    let image = reg.push_image(REPO, tag, tag);
    reg.attach_sbom(REPO, &image, "application/spdx+json", &spdx("demo-app", &[("left-pad", "1.3.0", license)]));
    if let Some(key) = key {
        let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
        reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
    }
    image
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rules(v: &Value) -> Vec<String> {
    v["ledger_entry"]["payload"]["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn on_both(test: fn(&tokio::runtime::Runtime, &TestDb)) {
    let rt = runtime();
    let db = rt.block_on(TestDb::sqlite());
    test(&rt, &db);
    rt.block_on(db.cleanup());
    match rt.block_on(TestDb::postgres()) {
        Some(db) => {
            test(&rt, &db);
            rt.block_on(db.cleanup());
        }
        None => eprintln!("skipped on PostgreSQL: {} is not set", common::POSTGRES_ENV),
    }
}

#[test]
fn a_push_is_checked_by_itself_and_a_replay_is_one_check() {
    on_both(push_is_checked_by_itself);
}

fn push_is_checked_by_itself(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::p256(21);
    let keys = keys_file(dir.path(), &key, "2020-01-01T00:00:00Z", None);
    let s = server(rt, db, &keys);
    let Some(reg) =
        Registry::notifying(&format!("{}/api/v1/registry/notifications", s.url), &format!("Bearer {SECRET}"))
    else {
        return;
    };
    let image = publish(&reg, "v1.0.0", "MIT", Some(&key));
    let digest = image.digest.to_string();

    // No one asked: the registry's notifications queue the checks, and the
    // last one (after the signature's referrers index) allows.
    let check = wait_for("an allowed check of the pushed image", || {
        s.checks().into_iter().find(|c| c.digest == digest && c.verdict.as_str() == "allow")
    });
    assert_eq!(check.source, steward::store::ArtifactSource::Notification);
    assert_eq!(check.repository, format!("{}/{REPO}", reg.host));
    // A re-check queued by a referrer push names only the digest; it waits
    // for the tag push's check and checks under its tag (for the drift).
    assert_eq!(check.tag.as_deref(), Some("v1.0.0"));
    let index = wait_for("the check's ledger entry", || {
        s.rt.block_on(s.state.store.artifact_check(check.id)).unwrap().and_then(|c| c.ledger_index)
    });
    let entry = s.rt.block_on(s.state.store.ledger_entry(index as u64)).unwrap().unwrap();
    assert_eq!(entry.kind, "artifact-verdict");

    // The Artifacts page lists the repository with its newest check's
    // verdict, once every queued check has run.
    wait_for("every artifact job to finish", || {
        let jobs = s.rt.block_on(s.state.store.list_jobs(500)).unwrap();
        jobs.iter().all(|j| j.state == steward::store::JobState::Done).then_some(())
    });
    let newest = s.checks().into_iter().next().unwrap();
    assert!(s.checks().iter().all(|c| c.tag.as_deref() == Some("v1.0.0")), "every check under the pushed tag");
    let page = s.rt.block_on(async {
        let req = Request::builder().uri("/artifacts").body(Body::empty()).unwrap();
        let response = s.app.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    });
    let repository_row = page
        .split("<tr>")
        .find(|row| row.contains(&format!(">{}/{REPO}</a>", reg.host)))
        .unwrap_or_else(|| panic!("the repository is listed:\n{page}"));
    assert!(repository_row.contains(&format!("verdict-{}", newest.verdict)), "{repository_row}");
    assert!(repository_row.contains(&format!("/artifacts/{}", newest.id)), "{repository_row}");

    // A replay of the tag push (the registry retries, or someone resends
    // the body): nothing new is queued, so one check.
    let jobs_before = s.rt.block_on(s.state.store.list_jobs(500)).unwrap();
    let tag_jobs = |jobs: &[steward::store::Job]| {
        jobs.iter().filter(|j| j.kind == JobKind::Artifact && j.payload["tag"] == "v1.0.0").count()
    };
    assert_eq!(tag_jobs(&jobs_before), 1, "the tag push queued one job");
    let envelope = json!({"events": [{
        "id": "replayed-event", "action": "push",
        "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": image.size, "digest": digest,
                   "repository": REPO, "url": format!("http://{}/v2/{REPO}/manifests/{digest}", reg.host), "tag": "v1.0.0"},
        "request": {"host": reg.host, "method": "PUT"}
    }]});
    for _ in 0..3 {
        let (status, v) = s.request(
            "POST",
            "/api/v1/registry/notifications",
            None,
            &[("authorization", &format!("Bearer {SECRET}"))],
            serde_json::to_vec(&envelope).unwrap(),
        );
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["queued"], json!([]), "{v}");
        assert_eq!(v["duplicate"].as_array().unwrap().len(), 1, "{v}");
    }
    let jobs_after = s.rt.block_on(s.state.store.list_jobs(500)).unwrap();
    assert_eq!(tag_jobs(&jobs_after), 1);
    let tag_job = jobs_after.iter().find(|j| j.kind == JobKind::Artifact && j.payload["tag"] == "v1.0.0").unwrap();
    let of_job = s.checks().into_iter().filter(|c| c.job_id == Some(tag_job.id)).count();
    assert!(of_job <= 1, "one job, at most one check");
}

#[test]
fn the_api_records_verdicts_and_records_nothing_it_could_not_decide() {
    on_both(api_checks);
}

fn api_checks(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::p256(22);
    // The key's window ended in 2026-07: signatures first seen after that do not count.
    let keys = keys_file(dir.path(), &key, "2026-01-01T00:00:00Z", Some("2026-07-01T00:00:00Z"));
    let s = server(rt, db, &keys);
    let Some(reg) = Registry::distribution() else { return };
    let old = publish(&reg, "v1.0.0", "MIT", Some(&key));
    let new = publish(&reg, "v1.1.0", "MIT", Some(&key));
    let ssl = publish(&reg, "v1.2.0", "SSPL-1.0", Some(&key));
    let bare = reg.push_image(REPO, "v0.9.0", "v0.9.0"); // no SBOM, no signature

    // Steward saw v1.0.0's signature in March, inside the window (as if it
    // had checked it then): the old release stays allowed.
    let p = payload(&format!("{}/{REPO}", reg.host), &old.digest);
    let sig_id = {
        use sha2::Digest as _;
        let payload_digest = steward::oci::Digest::sha256(p.as_bytes());
        hex::encode(sha2::Sha256::digest(format!("{payload_digest}\n{}", key.sign(&p)).as_bytes()))
    };
    s.rt.block_on(async {
        let seen = steward::store::SeenSignature {
            id: sig_id.clone(),
            repository: format!("{}/{REPO}", reg.host),
            artifact_digest: old.digest.to_string(),
        };
        s.state.store.signatures_first_seen(&[seen]).await.unwrap();
        let march = time::macros::datetime!(2026-03-01 00:00 UTC);
        const SQL: &str = "UPDATE artifact_signatures SET first_seen = $1 WHERE signature_id = $2";
        let n = match s.state.store.pool() {
            steward::store::Pool::Sqlite(p) => {
                sqlx::query(SQL).bind(march).bind(&sig_id).execute(p).await.map(|r| r.rows_affected())
            }
            steward::store::Pool::Postgres(p) => {
                sqlx::query(SQL).bind(march).bind(&sig_id).execute(p).await.map(|r| r.rows_affected())
            }
        };
        assert_eq!(n.unwrap(), 1);
    });

    let (status, v) = s.check(&reg.reference(&format!("{REPO}:v1.0.0")));
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["verdict"].as_str(), v["exit_code"].as_u64()), (Some("allow"), Some(0)), "{v}");
    assert!(v["check_id"].as_i64().is_some() && v["ledger_index"].as_u64().is_some(), "{v}");
    assert_eq!(v["facts"]["signatures"][0]["first_seen"], "2026-03-01T00:00:00Z", "{v}");

    // v1.1.0's signature is first seen now, after the key's window: deny.
    let (status, v) = s.check(&reg.reference(&format!("{REPO}:v1.1.0")));
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["verdict"].as_str(), v["exit_code"].as_u64()), (Some("deny"), Some(1)), "{v}");
    assert_eq!(v["facts"]["signatures"][0]["problem"], "key-expired", "{v}");
    assert!(rules(&v).contains(&"signature.required".to_string()), "{v}");
    // Checked again later, the first-seen time has not moved.
    let first = v["facts"]["signatures"][0]["first_seen"].clone();
    let (_, again) = s.check(&reg.reference(&format!("{REPO}:v1.1.0")));
    assert_eq!(again["facts"]["signatures"][0]["first_seen"], first);

    // v1.2.0 relicensed left-pad to SSPL since v1.1.0: denied drift with its path.
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v1.2.0")));
    assert_eq!(v["verdict"], "deny", "{v}");
    assert!(rules(&v).contains(&"drift.license".to_string()), "{v}");
    assert_eq!(v["facts"]["drift"]["findings"][0]["new_license"], "SSPL-1.0", "{v}");
    assert!(v["facts"]["drift"]["findings"][0]["path"].as_str().unwrap().contains("left-pad"), "{v}");
    let _ = ssl;

    // No SBOM: deny.
    let (_, v) = s.check(&reg.reference(&format!("{REPO}@{}", bare.digest)));
    assert!(rules(&v).contains(&"sbom.required".to_string()), "{v}");

    let stored = s.checks();
    assert_eq!(stored.len(), 5);
    for c in &stored {
        assert!(c.ledger_index.is_some(), "check {} is recorded", c.id);
    }

    // The configured key was recorded in the ledger once, however many checks.
    let kinds = |s: &Server| -> Vec<String> {
        let rt = s.rt.clone();
        rt.block_on(s.state.store.ledger_entries(0, 1000)).unwrap().into_iter().map(|e| e.kind).collect()
    };
    assert_eq!(kinds(&s).iter().filter(|k| *k == "trusted-key-added").count(), 1);
    // The operator ends the key's window in February: a retirement in the
    // ledger, and v1.0.0's March signature no longer counts.
    keys_file(dir.path(), &key, "2026-01-01T00:00:00Z", Some("2026-02-01T00:00:00Z"));
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v1.0.0")));
    assert_eq!(v["verdict"], "deny", "{v}");
    assert_eq!(v["facts"]["signatures"][0]["problem"], "key-expired", "{v}");
    assert_eq!(kinds(&s).iter().filter(|k| *k == "trusted-key-retired").count(), 1);
    keys_file(dir.path(), &key, "2026-01-01T00:00:00Z", Some("2026-07-01T00:00:00Z"));
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v1.0.0")));
    assert_eq!(v["verdict"], "deny", "a later end in the file does not undo a retirement in the ledger: {v}");
    assert_eq!(kinds(&s).iter().filter(|k| k.starts_with("trusted-key")).count(), 2);

    // A blob whose bytes no longer match its digest: an error, nothing stored.
    // Same length, one license changed on disk behind the registry's back.
    let sbom = spdx("demo-app", &[("left-pad", "1.3.0", "MIT")]);
    let tampered = sbom.replace("\"MIT\"", "\"BSD\"");
    assert_eq!(tampered.len(), sbom.len());
    std::fs::write(reg.blob_file(&steward::oci::Digest::sha256(sbom.as_bytes())), tampered).unwrap();
    let _ = new;
    let (status, v) = s.check(&reg.reference(&format!("{REPO}:v1.1.0")));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!((v["verdict"].as_str(), v["exit_code"].as_u64()), (Some("error"), Some(2)), "{v}");
    assert_eq!(v["error"]["code"], "digest-mismatch", "{v}");
    assert_eq!(s.checks().len(), 7, "nothing stored for a digest mismatch");

    // The registry is down: an error, nothing stored.
    let host = reg.host.clone();
    drop(reg);
    let (status, v) = s.check(&format!("oci://{host}/{REPO}:v1.0.0"));
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{v}");
    assert_eq!((v["verdict"].as_str(), v["exit_code"].as_u64()), (Some("error"), Some(2)), "{v}");
    assert_eq!(v["error"]["code"], "registry-unreachable", "{v}");
    assert_eq!(s.checks().len(), 7, "nothing stored while the registry is down");

    // A bad reference names the field.
    let (status, v) = s.check("oci://127.0.0.1:1/UPPER:v1");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"].as_str().unwrap().starts_with("reference:"), "{v}");
}

#[test]
fn the_notification_endpoint_refuses_without_the_secret_before_reading() {
    let rt = runtime();
    let db = rt.block_on(TestDb::sqlite());
    let dir = tempfile::tempdir().unwrap();
    let keys = keys_file(dir.path(), &TestKey::p256(23), "2020-01-01T00:00:00Z", None);
    let s = server(&rt, &db, &keys);
    let body = std::fs::read(oci_support::data("notifications/push-image-tag-v1.skopeo.json")).unwrap();
    for (headers, what) in [
        (vec![], "no header"),
        (vec![("authorization", "Bearer wrong-secret-0123456789")], "a wrong secret"),
        (vec![("authorization", SECRET.strip_suffix('9').unwrap())], "a prefix of the secret"),
        (vec![("x-other", SECRET)], "the secret in another header"),
    ] {
        let (status, v) = s.request("POST", "/api/v1/registry/notifications", None, &headers, body.clone());
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {v}");
    }
    let (status, v) = s.request(
        "POST",
        "/api/v1/registry/notifications",
        None,
        &[("authorization", SECRET)],
        b"{\"events\": 3}".to_vec(),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // The plain secret and the bearer form are both accepted; one job per manifest push.
    let (status, v) = s.request("POST", "/api/v1/registry/notifications", None, &[("authorization", SECRET)], body);
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["queued"].as_array().unwrap().len(), 1, "{v}");
    drop(s);
    rt.block_on(db.cleanup());
}

#[test]
fn artifact_check_record_stores_the_check_and_its_ledger_entry() {
    let Some(reg) = Registry::distribution() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::p256(24);
    keys_file(dir.path(), &key, "2020-01-01T00:00:00Z", None);
    publish(&reg, "v1.0.0", "MIT", Some(&key));
    let reference = reg.reference(&format!("{REPO}:v1.0.0"));
    let steward = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("STEWARD_OFFLINE", "true") // tests never reach the public package registries
            .args(args)
            .output()
            .unwrap()
    };
    let out = steward(&[
        "artifact",
        "check",
        &reference,
        "--trusted-keys",
        "keys.toml",
        "--record",
        "--data-dir",
        "data",
        "--format",
        "markdown",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Steward artifact check: **allow**"));
    assert!(stderr.contains("recorded artifact check 1 at ledger index"), "{stderr}");

    // In the data directory's database, with its ledger entry; the
    // signature's first-seen time is stored.
    let rt = runtime();
    rt.block_on(async {
        let url =
            steward::config::DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("data/steward.db").display()))
                .unwrap();
        let store = steward::store::Store::open(&url).await.unwrap();
        let checks = store.list_artifact_checks(&ArtifactFilter { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].source, steward::store::ArtifactSource::Cli);
        let index = checks[0].ledger_index.expect("recorded");
        assert_eq!(store.ledger_entry(index as u64).await.unwrap().unwrap().kind, "artifact-verdict");
        store.close().await;
    });

    // The database decides first-seen times and the evaluation time.
    let out = steward(&[
        "artifact",
        "check",
        &reference,
        "--record",
        "--data-dir",
        "data",
        "--first-seen",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: --record takes first-seen times from the database")
    );
}

#[test]
fn a_check_stored_without_its_ledger_entry_is_recorded_by_the_sweep_after_a_grace() {
    on_both(sweep_records_unrecorded);
}

fn sweep_records_unrecorded(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let hex = |c: char| c.to_string().repeat(64);
    let payload = json!({
        "schema": 1, "repository": "127.0.0.1:5000/steward/demo", "reference": "oci://127.0.0.1:5000/steward/demo:v1",
        "digest": format!("sha256:{}", hex('a')), "artifact_kind": "image", "policy_revision": hex('b'),
        "verdict": "deny", "rules": ["sbom.required"], "facts_sha256": hex('c'), "sbom_digests": [], "signature_keys": []
    });
    let doc =
        json!({"schema": "steward.artifact/v1", "ledger_entry": {"kind": "artifact-verdict", "payload": payload}});
    let new = steward::store::NewArtifactCheck {
        source: steward::store::ArtifactSource::Api,
        job_id: None,
        registry: "127.0.0.1:5000".into(),
        repository: "127.0.0.1:5000/steward/demo".into(),
        reference: "oci://127.0.0.1:5000/steward/demo:v1".into(),
        tag: Some("v1".into()),
        digest: format!("sha256:{}", hex('a')),
        kind: "image".into(),
        verdict: "deny".parse().unwrap(),
        rules: vec!["sbom.required".into()],
        summary: "deny: sbom.required".into(),
        policy_revision: format!("sha256:{}", hex('b')),
        evaluated_at: "2026-12-03T08:00:00Z".into(),
        report: doc.to_string(),
    };
    rt.block_on(async {
        let state = db.state().await;
        let check = state.store.insert_artifact_check(&new).await.unwrap();
        // Just stored: its request may still be recording it.
        assert_eq!(steward::app::artifacts::record_unrecorded(&state).await.unwrap(), 0);
        let earlier = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
        const SQL: &str = "UPDATE artifact_checks SET created_at = $1 WHERE id = $2";
        match state.store.pool() {
            steward::store::Pool::Sqlite(p) => {
                sqlx::query(SQL).bind(earlier).bind(check.id).execute(p).await.map(|_| ())
            }
            steward::store::Pool::Postgres(p) => {
                sqlx::query(SQL).bind(earlier).bind(check.id).execute(p).await.map(|_| ())
            }
        }
        .unwrap();
        assert_eq!(steward::app::artifacts::record_unrecorded(&state).await.unwrap(), 1);
        let index = state.store.artifact_check(check.id).await.unwrap().unwrap().ledger_index.expect("linked");
        let entry = state.store.ledger_entry(index as u64).await.unwrap().unwrap();
        assert_eq!(entry.kind, "artifact-verdict");
        assert_eq!(steward::app::artifacts::record_unrecorded(&state).await.unwrap(), 0, "recorded once");
    });
}

#[test]
fn a_notification_without_the_secret_is_refused_before_its_body_arrives() {
    use std::io::Write as _;
    let rt = runtime();
    let db = rt.block_on(TestDb::sqlite());
    let dir = tempfile::tempdir().unwrap();
    let keys = keys_file(dir.path(), &TestKey::p256(25), "2020-01-01T00:00:00Z", None);
    let s = server(&rt, &db, &keys);
    let addr: std::net::SocketAddr = s.url.trim_start_matches("http://").parse().unwrap();
    for (label, header) in [("no secret", None), ("a wrong secret", Some("Bearer not-the-secret-0123456789"))] {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut head = format!(
            "POST /api/v1/registry/notifications HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/vnd.docker.distribution.events.v1+json\r\nContent-Length: 60000\r\nConnection: close\r\n"
        );
        if let Some(h) = header {
            head.push_str(&format!("Authorization: {h}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap(); // and no body at all
        let start = Instant::now();
        let response =
            common::server::read_response(&mut stream).unwrap_or_else(|e| panic!("{label}: no answer ({e})"));
        assert_eq!(response.status, 401, "{label}: {}", response.text());
        assert!(start.elapsed() < Duration::from_secs(3), "{label}: answered without waiting for the body");
    }
    // With the secret, the body is awaited (nothing is answered before it).
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let head = format!(
        "POST /api/v1/registry/notifications HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {SECRET}\r\n\
         Content-Length: 60000\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    assert!(common::server::read_response(&mut stream).is_err(), "an authenticated request waits for its body");
    drop(s);
    rt.block_on(db.cleanup());
}

#[test]
fn a_rotation_signed_by_the_old_key_moves_trust_to_the_new_key() {
    on_both(rotation_by_old_key);
}

/// The old key signs the rotation message; after the rotation a release
/// signed by the new key is allowed, a new signature by the old key is not,
/// and a rotation with a wrong signature records nothing.
fn rotation_by_old_key(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let old = TestKey::p256(41);
    let new = TestKey::p256(42);
    let keys = keys_file(dir.path(), &old, "2026-01-01T00:00:00Z", None);
    let s = server(rt, db, &keys);
    let admin = rt.block_on(steward::app::tokens::issue_token(&s.state.store, "admin", Role::Admin)).unwrap().secret;
    let Some(reg) = Registry::distribution() else { return };

    // Before the rotation, the new key is not trusted.
    publish(&reg, "v2.0.0", "MIT", Some(&new));
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v2.0.0")));
    assert_eq!(v["verdict"], "deny", "{v}");

    // The next whole second: strictly after v2.0.0's signature was first seen.
    let effective_at = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::seconds(1);
    let effective = steward::oci::trust::format_time(effective_at);
    let message = steward::oci::trust::rotation_message("release", "release-2", &new.public(), &effective);
    let message = String::from_utf8(message).unwrap();
    let body = |signature: Option<&str>| {
        serde_json::to_vec(&json!({
            "old_key_id": "release", "new_key_id": "release-2", "owner": "release-team",
            "new_public_key": new.public().to_pem(), "effective_at": effective,
            "old_key_signature": signature,
        }))
        .unwrap()
    };
    let rotations = || {
        rt.block_on(s.state.store.ledger_entries(0, 10_000))
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "trusted-key-rotated")
            .count()
    };
    let path = "/api/v1/artifacts/keys/rotations";
    // Signed by the new key instead of the old one: refused, nothing recorded.
    let (status, v) = s.request("POST", path, Some(&admin), &[], body(Some(&new.sign(&message))));
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    // Neither a signature nor a proposal: refused.
    let (status, v) = s.request("POST", path, Some(&admin), &[], body(None));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A CI token may not rotate keys.
    let (status, _) = s.request("POST", path, Some(&s.ci_token), &[], body(Some(&old.sign(&message))));
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(rotations(), 0);

    let (status, v) = s.request("POST", path, Some(&admin), &[], body(Some(&old.sign(&message))));
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["approved_by"], "old-key-signature", "{v}");
    assert_eq!(rotations(), 1);
    wait_for("the rotation to take effect", || (time::OffsetDateTime::now_utc() > effective_at).then_some(()));

    // v2.0.0's signature was seen before the new key was trusted: it stays
    // untrusted (a rotation does not reach back). A release signed by the
    // new key now: allowed. A new signature by the old key, first seen
    // after the rotation: denied as expired.
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v2.0.0")));
    assert_eq!(v["verdict"], "deny", "{v}");
    assert_eq!(v["facts"]["signatures"][0]["problem"], "key-not-yet-valid", "{v}");
    publish(&reg, "v2.0.1", "MIT", Some(&new));
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v2.0.1")));
    assert_eq!(v["verdict"], "allow", "{v}");
    assert_eq!(v["facts"]["signatures"][0]["key"]["id"], "release-2", "{v}");
    publish(&reg, "v2.1.0", "MIT", Some(&old));
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v2.1.0")));
    assert_eq!(v["verdict"], "deny", "{v}");
    assert_eq!(v["facts"]["signatures"][0]["problem"], "key-expired", "{v}");

    // Offline, `steward governance verify` re-checks the old key's
    // signature over the rotation: valid as recorded; a stored rotation
    // whose signature was swapped for the new key's is found.
    let verify = || {
        let out = common::server::run(
            dir.path(),
            &["governance", "verify", "--database", db.url.as_str(), "--format", "json"],
        );
        let report: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::server::stderr(&out)));
        (out.status.code(), report)
    };
    let (code, report) = verify();
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["report"]["rotations_by_old_key"], 1, "{report}");
    let (index, body) = rt
        .block_on(s.state.store.ledger_entry_bodies(0, 10_000))
        .unwrap()
        .into_iter()
        .find(|(_, b)| b.windows(19).any(|w| w == b"trusted-key-rotated"))
        .unwrap();
    let entry = steward_ledger::entry::Entry::from_canonical_bytes(&body).unwrap();
    let steward_ledger::entry::Payload::TrustedKeyRotated(mut rotated) = entry.typed_payload().unwrap() else {
        panic!("not a rotation")
    };
    rotated.old_key_signature = Some(new.sign(&message));
    let payload = steward_ledger::entry::Payload::TrustedKeyRotated(rotated);
    let forged = steward_ledger::entry::Entry::new(&payload, entry.time.clone(), &entry.actor).unwrap();
    let forged = forged.canonical_bytes().unwrap();
    rt.block_on(overwrite_ledger_body(db, index, forged));
    let (code, report) = verify();
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(
        (report["index"].as_u64(), report["code"].as_str()),
        (Some(index), Some("trusted-key-history")),
        "{report}"
    );
    assert!(report["reason"].as_str().unwrap().contains("not signed by that key"), "{report}");
}

/// Replaces a stored ledger entry's bytes, as a tampered database would.
async fn overwrite_ledger_body(db: &TestDb, index: u64, body: Vec<u8>) {
    let sql = "UPDATE ledger_entries SET body = $1 WHERE idx = $2";
    let updated = match db.store.pool() {
        steward::store::Pool::Sqlite(p) => {
            sqlx::query(sql).bind(body).bind(index as i64).execute(p).await.unwrap().rows_affected()
        }
        steward::store::Pool::Postgres(p) => {
            sqlx::query(sql).bind(body).bind(index as i64).execute(p).await.unwrap().rows_affected()
        }
    };
    assert_eq!(updated, 1);
}

#[test]
fn a_referrer_pushed_by_digest_re_checks_its_subject() {
    on_both(referrer_by_digest);
}

/// On a registry with the OCI 1.1 referrers API (ferro-oci-server) an SBOM
/// arrives as a manifest pushed by digest, with no tag-schema index: its
/// notification re-checks the subject. ferro-oci-server sends no
/// notifications, so the test posts the envelope the distribution registry
/// would send for that push (the shape of the captured ones).
fn referrer_by_digest(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key = TestKey::p256(51);
    let keys = keys_file(dir.path(), &key, "2020-01-01T00:00:00Z", None);
    let s = server(rt, db, &keys);
    let Some(reg) = Registry::ferro() else { return };
    let image = reg.push_image(REPO, "v3.0.0", "v3.0.0");
    let p = payload(&format!("{}/{REPO}", reg.host), &image.digest);
    reg.attach_signature(REPO, &image, &p, &key.sign(&p), false);
    let (_, v) = s.check(&reg.reference(&format!("{REPO}:v3.0.0")));
    assert_eq!(v["verdict"], "deny", "no SBOM yet: {v}");

    let sbom =
        reg.attach_sbom(REPO, &image, "application/spdx+json", &spdx("demo-app", &[("left-pad", "1.3.0", "MIT")]));
    let notify = |digest: &str, media_type: &str| {
        let envelope = json!({"events": [{
            "id": format!("push-{digest}"), "action": "push",
            "target": {"mediaType": media_type, "size": 1, "digest": digest, "repository": REPO,
                       "url": format!("http://{}/v2/{REPO}/manifests/{digest}", reg.host)},
            "request": {"host": reg.host, "method": "PUT"}
        }]});
        let headers = [("authorization", format!("Bearer {SECRET}"))];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        s.request("POST", "/api/v1/registry/notifications", None, &headers, serde_json::to_vec(&envelope).unwrap())
    };
    let (status, v) = notify(&sbom.digest.to_string(), "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["queued"].as_array().unwrap().len(), 1, "{v}");
    let digest = image.digest.to_string();
    let check = wait_for("the subject's re-check", || {
        s.checks().into_iter().find(|c| c.digest == digest && c.source == steward::store::ArtifactSource::Notification)
    });
    assert_eq!(check.verdict.as_str(), "allow", "the SBOM referrer is found through the referrers API");
    assert_eq!(check.tag.as_deref(), Some("v3.0.0"), "checked under the tag it was last checked under");

    // The image itself pushed by digest (no subject): nothing is checked.
    let before = s.checks().len();
    let (status, _) = notify(&digest, "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for("every artifact job to finish", || {
        let jobs = s.rt.block_on(s.state.store.list_jobs(500)).unwrap();
        jobs.iter().all(|j| j.state == steward::store::JobState::Done).then_some(())
    });
    assert_eq!(s.checks().len(), before, "a manifest without a subject asks for no check");
}
