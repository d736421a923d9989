//! SIGHUP reloads the policy bundle of a running `steward serve` (the real
//! binary, a real signal): a good bundle becomes the revision in force and
//! is recorded once; a broken one is rejected, logged, and the previous
//! revision keeps serving and judging.

mod common;

use common::server::OutputWithin as _;

use common::server::{Server, http, stderr, stdout};
use std::path::Path;
use std::time::{Duration, Instant};

fn current_revision(server: &Server) -> String {
    let r = http(server.addr, "GET", "/api/v1/policies", &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["revision"].as_str().unwrap().to_string()
}

fn revisions(server: &Server) -> Vec<String> {
    let r = http(server.addr, "GET", "/api/v1/policies/revisions", &[], b"").unwrap();
    r.json().as_array().unwrap().iter().map(|v| v["revision"].as_str().unwrap().to_string()).collect()
}

/// Waits for `done`, failing after 20 s with the server's log.
fn wait_until(server: &Server, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// A gate request judged by the revision in force: Apache-2.0 → MPL-2.0,
/// allowed by the shipped bundle (weak copyleft), `review` once MPL-2.0 is
/// listed for review. Returns (verdict, policy revision).
fn gate(server: &Server, token: &str) -> (String, String) {
    let lock = common::git::npm_lock;
    let body = serde_json::json!({
        "old": {"path": "package-lock.json", "content": lock("1.0.0", "Apache-2.0")},
        "new": {"path": "package-lock.json", "content": lock("1.1.0", "MPL-2.0")},
    });
    let auth = format!("Bearer {token}");
    let r = http(
        server.addr,
        "POST",
        "/api/v1/gate",
        &[("authorization", &auth), ("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let revision = v["policy_revision"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    (v["verdict"].as_str().unwrap().to_string(), revision)
}

fn bare(revision: &str) -> &str {
    revision.trim_start_matches("sha256:")
}

fn token(dir: &Path, env: &[(&str, &str)]) -> String {
    let out = common::server::steward(dir)
        .envs(env.iter().copied())
        .args(["token", "create", "--role", "ci", "--name", "ci"])
        .output_within(common::server::CHILD_TIMEOUT)
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().find(|l| l.starts_with("stw_")).unwrap_or_else(|| panic!("{}", stdout(&out))).to_string()
}

#[test]
fn sighup_reloads_a_good_bundle_and_a_rejected_one_leaves_the_old_revision_serving() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    common::copy_policies(&policies);
    let policies_s = policies.display().to_string();
    let env = [("STEWARD_POLICIES", policies_s.as_str())];
    let ci = token(dir.path(), &env);
    let server = Server::start(dir.path(), &env);
    let first = current_revision(&server);
    assert_eq!(revisions(&server), vec![first.clone()]);
    assert_eq!(gate(&server, &ci), ("allow".to_string(), bare(&first).to_string()));

    // A good change: MPL-2.0 now needs review. SIGHUP makes it the revision in force.
    let data = policies.join("data/licenses.yaml");
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(text.contains("review: []"), "the shipped data changed; adjust the edit");
    std::fs::write(&data, text.replace("review: []", "review: [MPL-2.0]")).unwrap();
    server.signal("HUP");
    wait_until(&server, "the reload", || current_revision(&server) != first);
    let second = current_revision(&server);
    assert_eq!(count(&server.log_text(), "policy reloaded (SIGHUP)"), 1, "{}", server.log_text());
    assert_eq!(revisions(&server).len(), 2, "the new revision is recorded once");
    assert_eq!(gate(&server, &ci), ("review".to_string(), bare(&second).to_string()));

    // A broken bundle: rejected and logged; the second revision keeps serving.
    std::fs::write(policies.join("broken.rego"), "package broken\nimport rego.v1\n\nx if {\n").unwrap();
    server.signal("HUP");
    wait_until(&server, "the rejection in the log", || server.log_text().contains("policy reload rejected"));
    assert!(server.log_text().contains("broken.rego"), "the log names the file:\n{}", server.log_text());
    assert_eq!(current_revision(&server), second);
    assert_eq!(revisions(&server).len(), 2, "a rejected bundle is not recorded");
    assert_eq!(gate(&server, &ci), ("review".to_string(), bare(&second).to_string()), "judged by the old revision");

    // Fixed again: the next SIGHUP swaps once more, and the process never died.
    std::fs::remove_file(policies.join("broken.rego")).unwrap();
    std::fs::write(&data, text).unwrap();
    server.signal("HUP");
    wait_until(&server, "the second reload", || count(&server.log_text(), "policy reloaded (SIGHUP)") == 2);
    assert_eq!(current_revision(&server), first, "the original content is the original revision");
    assert_eq!(revisions(&server).len(), 2, "content seen before is not recorded again");
    assert_eq!(gate(&server, &ci), ("allow".to_string(), bare(&first).to_string()));
}
