//! Starting the real `steward serve` on port 0 for the hardening tests.
#![allow(dead_code)] // each test binary uses a different part

use crate::common::server::{Server, steward};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Starts `steward serve --listen 127.0.0.1:0` in `dir` with JSON logs and
/// extra environment, and reads the bound address from its "steward is
/// serving" line (the readiness signal: the socket is bound and the state
/// built before that line is written).
pub fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
    let log = dir.join(format!("serve-{}.log", crate::common::random_hex(4)));
    let child = steward(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STEWARD_LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn steward serve");
    let mut server = Server { child, addr: "127.0.0.1:1".parse().unwrap(), dir: dir.to_path_buf(), log };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("steward serve exited ({status}):\n{}", server.log_text());
        }
        let serving = server.log_text().lines().find(|l| l.contains("steward is serving")).map(str::to_owned);
        if let Some(line) = serving {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            server.addr = v["address"].as_str().unwrap().parse().unwrap();
            assert_ne!(server.addr.port(), 0, "the log names the bound port");
            return server;
        }
        assert!(Instant::now() < deadline, "no 'steward is serving' line:\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
}
