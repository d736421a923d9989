//! Headless Chromium for the dashboard layout tests (`browser.rs`,
//! `credit_browser.rs`): finding it, dumping a page's DOM after its
//! scripts ran, and letting a same-origin wrapper frame the dashboard.

use super::server::OutputWithin as _;
use std::process::Command;
use std::time::Duration;

/// The Chromium binary on this machine, if any.
pub fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c).arg("--version").output_within(Duration::from_secs(60)).is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

/// The DOM of `url` after its scripts ran (`--dump-dom`), with a profile
/// of its own in `profile`; at most 90 seconds.
pub fn dump_dom(browser: &str, url: &str, profile: &std::path::Path) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output_within(Duration::from_secs(90))
        .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The measuring wrapper frames each page, which the dashboard forbids
/// (`frame-ancestors 'none'`, `X-Frame-Options: DENY`): this middleware
/// allows same-origin framing and keeps the rest of the real policy, so the
/// pages are still measured under their Content-Security-Policy.
pub async fn allow_same_origin_frames(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.remove("x-frame-options");
    let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(csp) = csp {
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let relaxed = csp.replace("frame-ancestors 'none'", "frame-ancestors 'self'");
        headers.insert("content-security-policy", relaxed.parse().unwrap());
    }
    response
}
