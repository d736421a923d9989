//! The Kubernetes manifests in `docker/kubernetes/` against the code they
//! deploy, and against the Kubernetes API schemas.
//!
//! - Schemas: `kubernetes-validate --strict` (PyPI; it ships the schemas,
//!   so it runs offline) over every file. Skipped with a note when it is not
//!   installed, a failure under `STEWARD_REQUIRE_ALL=1` (`.ci/run`
//!   installs it).
//! - What no schema knows, checked here: the selectors match the pod
//!   labels; the probe paths answer 200 from the real router and the
//!   liveness probe does not depend on the database; the container port is
//!   the Dockerfile's and the listen address's; every environment variable
//!   is one `config.rs` documents; the ConfigMap's `steward.toml` loads; the
//!   Secrets referenced exist in the example; the pod runs as the
//!   Dockerfile's user with a read-only root and writable data and /tmp;
//!   and the init container's copy of the signing key really gives a file
//!   `keys::load` accepts, from a Secret volume file it would refuse.

mod common;

use serde::Deserialize as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use steward::config::{Config, Layer};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifests_dir() -> PathBuf {
    repo().join("docker/kubernetes")
}

/// Every document of every `*.yaml` file, with its file name.
fn documents() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifests_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", manifests_dir().display());
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for doc in yaml_serde::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{name}: not YAML: {e}"));
            docs.push((name.clone(), value));
        }
    }
    docs
}

fn one<'a>(docs: &'a [(String, Value)], kind: &str, name: &str) -> &'a Value {
    let found: Vec<_> =
        docs.iter().filter(|(_, d)| d["kind"] == kind && d["metadata"]["name"] == name).map(|(_, d)| d).collect();
    assert_eq!(found.len(), 1, "exactly one {kind} {name}");
    found[0]
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap_or_else(|| panic!("labels must be a map: {v}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// The environment variables `config.rs` documents in its header table.
fn documented_variables() -> Vec<String> {
    let source = std::fs::read_to_string(repo().join("server/src/config.rs")).unwrap();
    source
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .filter_map(|l| l.strip_prefix("//! | `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_manifests_pass_the_kubernetes_schemas() {
    let files: Vec<PathBuf> = std::fs::read_dir(manifests_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    let output = match Command::new("kubernetes-validate").arg("--strict").arg("--quiet").args(&files).output() {
        Ok(o) => o,
        Err(e) => {
            common::skip(&format!("kubernetes-validate is not installed ({e}): pip install kubernetes-validate"));
            return;
        }
    };
    assert!(
        output.status.success(),
        "kubernetes-validate --strict refused the manifests:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn selectors_ports_probes_and_variables_match_the_code() {
    let docs = documents();
    let deployment = one(&docs, "Deployment", "steward");
    let service = one(&docs, "Service", "steward");
    let pdb = one(&docs, "PodDisruptionBudget", "steward");
    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2, "several replicas");

    // Selectors: the Deployment's, the Service's and the PDB's all pick
    // exactly the pods the template makes.
    let pod_labels = labels(&spec["template"]["metadata"]["labels"]);
    let selector = labels(&spec["selector"]["matchLabels"]);
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)), "{selector:?} ⊄ {pod_labels:?}");
    assert_eq!(labels(&service["spec"]["selector"]), selector, "the Service selects the Deployment's pods");
    assert_eq!(labels(&pdb["spec"]["selector"]["matchLabels"]), selector, "the PDB covers the Deployment's pods");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);

    let pod = &spec["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];

    // The port: named `http`, the Dockerfile's EXPOSE, the listen address's,
    // and the Service's target.
    let dockerfile = std::fs::read_to_string(repo().join("docker/Dockerfile")).unwrap();
    let exposed: u64 = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .and_then(|p| p.trim().parse().ok())
        .expect("Dockerfile EXPOSE");
    let port = c["ports"].as_array().unwrap().iter().find(|p| p["name"] == "http").expect("a port named http");
    assert_eq!(port["containerPort"].as_u64(), Some(exposed));
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    let env: BTreeMap<String, &Value> =
        c["env"].as_array().unwrap().iter().map(|e| (e["name"].as_str().unwrap().to_string(), e)).collect();
    let listen = env["STEWARD_LISTEN"]["value"].as_str().unwrap();
    assert!(listen.ends_with(&format!(":{exposed}")), "{listen}");

    // Every variable is one config.rs reads (HOME is for git and the shell).
    let documented = documented_variables();
    assert!(documented.len() > 10 && documented.contains(&"DATABASE_URL".to_string()), "{documented:?}");
    for name in env.keys().filter(|n| n.as_str() != "HOME") {
        assert!(documented.contains(name), "{name} is not a variable config.rs documents: {documented:?}");
    }

    // Probes: readiness on /readyz, liveness on /healthz (never the
    // database), both on the named port.
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["startupProbe"]["httpGet"]["path"], "/healthz");
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        assert_eq!(c[probe]["httpGet"]["port"], "http", "{probe}");
    }
    // The grace period covers the preStop pause, the request drain and a
    // running job (runtime::SHUTDOWN_GRACE each).
    let grace = steward::runtime::SHUTDOWN_GRACE.as_secs();
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 2 * grace, "grace period too short");

    // Secrets: DATABASE_URL and the signing key come from Secrets that the
    // example defines with those keys.
    let db = &env["DATABASE_URL"]["valueFrom"]["secretKeyRef"];
    let db_secret = one(&docs, "Secret", db["name"].as_str().unwrap());
    assert!(db_secret["stringData"][db["key"].as_str().unwrap()].is_string());
    let volumes = pod["volumes"].as_array().unwrap();
    let key_volume = volumes.iter().find(|v| v["name"] == "signing-key").unwrap();
    let key_secret = one(&docs, "Secret", key_volume["secret"]["secretName"].as_str().unwrap());
    assert!(key_secret["stringData"]["signing-key"].is_string());
    assert!(
        !c["volumeMounts"].as_array().unwrap().iter().any(|m| m["name"] == "signing-key"),
        "the server container reads the key only from its data directory copy"
    );

    // Resource requests on every container, init containers included.
    for c in containers.iter().chain(pod["initContainers"].as_array().unwrap()) {
        assert!(c["resources"]["requests"]["cpu"].is_string(), "{}: cpu request", c["name"]);
        assert!(c["resources"]["requests"]["memory"].is_string(), "{}: memory request", c["name"]);
    }
}

#[test]
fn the_pod_runs_as_the_images_user_on_a_read_only_root_with_writable_data() {
    let docs = documents();
    let pod = &one(&docs, "Deployment", "steward")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let uid = pod["securityContext"]["runAsUser"].as_u64().unwrap();
    let dockerfile = std::fs::read_to_string(repo().join("docker/Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("--uid {uid} ")), "the Dockerfile's steward user has uid {uid}");
    let volumes = pod["volumes"].as_array().unwrap();
    let c = &pod["containers"][0];
    let env = |name: &str| {
        c["env"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["value"].as_str().unwrap().to_string()
    };
    for c in pod["containers"].as_array().unwrap().iter().chain(pod["initContainers"].as_array().unwrap()) {
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{}", c["name"]);
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{}", c["name"]);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]), "{}", c["name"]);
    }
    // With a read-only root, the data directory and /tmp must be on
    // writable volumes (emptyDir), not read-only mounts.
    let writable = |path: &str| {
        c["volumeMounts"].as_array().unwrap().iter().any(|m| {
            let mount = m["mountPath"].as_str().unwrap();
            let volume = volumes.iter().find(|v| v["name"] == m["name"]).unwrap();
            Path::new(path).starts_with(mount) && m["readOnly"] != true && volume["emptyDir"].is_object()
        })
    };
    assert!(writable(&env("STEWARD_DATA_DIR")), "the data directory is writable");
    assert!(writable("/tmp"), "/tmp is writable");

    // The ConfigMap's steward.toml, with the Deployment's environment, is
    // a configuration steward loads (unknown keys are refused).
    let dir = tempfile::tempdir().unwrap();
    let config_path = Path::new(&env("STEWARD_CONFIG")).to_path_buf();
    let toml = one(&docs, "ConfigMap", "steward-config")["data"][config_path.file_name().unwrap().to_str().unwrap()]
        .as_str()
        .expect("the ConfigMap holds the file STEWARD_CONFIG names")
        .to_string();
    let file = dir.path().join("steward.toml");
    std::fs::write(&file, toml).unwrap();
    let data_dir = env("STEWARD_DATA_DIR");
    let vars: BTreeMap<&str, String> = [
        ("STEWARD_LISTEN", env("STEWARD_LISTEN")),
        ("STEWARD_DATA_DIR", data_dir.clone()),
        ("STEWARD_PUBLIC_URL", env("STEWARD_PUBLIC_URL")),
        ("STEWARD_LEDGER_ORIGIN", env("STEWARD_LEDGER_ORIGIN")),
        ("DATABASE_URL", "postgres://steward@db.invalid/steward".to_string()),
    ]
    .into_iter()
    .collect();
    let config = Config::load(Some(&file), &Layer::default(), &|k| vars.get(k).cloned())
        .unwrap_or_else(|e| panic!("the ConfigMap's steward.toml does not load: {e}"));
    assert_eq!(config.limits.value.writes_per_minute, 600);

    // The init container copies the key to exactly where the server reads it.
    let init = &pod["initContainers"][0];
    let script = init["command"].as_array().unwrap().last().unwrap().as_str().unwrap().to_string();
    let key_path = config.signing_key_path();
    assert!(script.contains(&format!("install -m 0600 /run/steward/signing-key/signing-key {}", key_path.display())));
    let key_mount = init["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == "signing-key").unwrap();
    assert_eq!(key_mount["mountPath"], "/run/steward/signing-key");
    let key_volume = volumes.iter().find(|v| v["name"] == "signing-key").unwrap();
    let mode = key_volume["secret"]["defaultMode"].as_u64().unwrap() as u32;
    assert_eq!(mode, 0o440, "what kubelet makes of a Secret file under fsGroup");

    // Run the init container's script for real, with its two mount points
    // moved into a temporary directory: the Secret's file (mode 0440, as
    // kubelet leaves it) is refused by keys::load, the copy is accepted.
    let secret_dir = dir.path().join("run/steward/signing-key");
    let data_root = dir.path().join("var/lib/steward");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::create_dir_all(&data_root).unwrap();
    let seed = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let secret_file = secret_dir.join("signing-key");
    {
        use base64::Engine as _;
        std::fs::write(&secret_file, base64::engine::general_purpose::STANDARD.encode(seed.to_bytes())).unwrap();
    }
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(mode)).unwrap();
    assert!(
        matches!(steward::keys::load(&secret_file), Err(steward::keys::KeyError::TooOpen { .. })),
        "a group-readable key is refused, which is why the init container copies it"
    );
    let moved = script
        .replace("/run/steward/signing-key", &secret_dir.display().to_string())
        .replace("/var/lib/steward", &data_root.display().to_string());
    let status = Command::new("/bin/sh").arg("-c").arg(&moved).status().unwrap();
    assert!(status.success(), "the init script failed: {moved}");
    let copied = data_root.join(Path::new(&data_dir).strip_prefix("/var/lib/steward").unwrap()).join("signing-key");
    let loaded = steward::keys::load(&copied).unwrap_or_else(|e| panic!("the copied key is refused: {e}"));
    assert_eq!(loaded.to_bytes(), seed.to_bytes());
    let dir_mode = std::fs::metadata(copied.parent().unwrap()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700, "the data directory is the owner's only");
}

#[tokio::test]
async fn the_probe_paths_answer_and_liveness_does_not_need_the_database() {
    let docs = documents();
    let c = &one(&docs, "Deployment", "steward")["spec"]["template"]["spec"]["containers"][0];
    let db = common::TestDb::sqlite().await;
    let app = steward::http::router(db.state().await);
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let path = c[probe]["httpGet"]["path"].as_str().unwrap();
        let status = get(&app, path).await;
        assert_eq!(status, 200, "{probe} {path}");
    }
    // With the database gone, liveness (and the start-up probe) still
    // answer 200, so Kubernetes does not restart every replica during a
    // database outage; readiness answers 503 and the pod leaves the Service.
    db.store.close().await;
    assert_eq!(get(&app, c["livenessProbe"]["httpGet"]["path"].as_str().unwrap()).await, 200);
    assert_eq!(get(&app, c["readinessProbe"]["httpGet"]["path"].as_str().unwrap()).await, 503);
    db.cleanup().await;
}

async fn get(app: &axum::Router, path: &str) -> u16 {
    use tower::ServiceExt as _;
    let req = axum::http::Request::builder().uri(path).body(axum::body::Body::empty()).unwrap();
    app.clone().oneshot(req).await.unwrap().status().as_u16()
}
