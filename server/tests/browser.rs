//! Dashboard layout in a real browser: every page at phone and laptop
//! widths in headless Chromium, checking that nothing overflows sideways
//! and the stylesheet applies. Skipped (with a note) when `chromium` is not
//! installed; `.ci/run` installs it.

mod common;

use common::browser::{allow_same_origin_frames, chromium, dump_dom};

use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use std::collections::HashMap;

const PAGES: &[&str] =
    &["/", "/scans", "/policies", "/artifacts", "/proposals", "/ledger", "/ledger/entries/0", "/leaderboard", "/nope"];

/// A same-origin wrapper that loads a page in an iframe of the given width
/// and writes measurements into `<pre id=result>` for `--dump-dom`.
async fn measure(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let page = q.get("page").cloned().unwrap_or_else(|| "/".into());
    let width = q.get("w").cloned().unwrap_or_else(|| "390".into());
    Html(format!(
        r#"<!doctype html><html><body style="margin:0">
<iframe id="f" src="{page}" style="width:{width}px;height:900px;border:0"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var d = this.contentDocument, e = d.documentElement;
  var nav = d.querySelector('header nav');
  var r = {{
    overflow: e.scrollWidth - e.clientWidth,
    font: getComputedStyle(d.body).fontFamily,
    navHeight: nav ? nav.getBoundingClientRect().height : 0,
    mainWidth: d.querySelector('main').getBoundingClientRect().width
  }};
  var out = document.createElement('pre');
  out.id = 'result';
  out.textContent = JSON.stringify(r);
  document.body.appendChild(out);
}});
</script></body></html>"#
    ))
}

/// Judges a real drift (Apache-2.0 → SSPL-1.0) and stores it as a scan.
async fn store_a_scan(state: &steward::app::AppState) -> i64 {
    use steward_scanner::MemoryTree;
    let side = |v: &str, l: &str| {
        let tree = MemoryTree::single("package-lock.json", common::git::npm_lock(v, l).into_bytes());
        steward_scanner::scan::scan(&tree, &Default::default()).unwrap()
    };
    let drift = steward_scanner::drift::diff(&side("1.0.0", "Apache-2.0"), &side("1.1.0", "SSPL-1.0"));
    let context = steward::gate::GateContext {
        repository: Some("octo/app".into()),
        base: "main".into(),
        head: "feature".into(),
        ..Default::default()
    };
    let report =
        steward::gate::judge(drift, &state.policy.current().engine, context, time::OffsetDateTime::now_utc()).unwrap();
    let row = steward::app::scans::scan_row(&report, steward::store::ScanSource::Api, None).unwrap();
    state.store.insert_scan(&row).await.unwrap().id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_phone_and_laptop_widths_in_chromium() {
    let Some(browser) = chromium() else {
        common::skip("chromium is not installed");
        return;
    };
    let db = common::TestDb::sqlite().await;
    let state = db.state().await;
    // One ledger entry, so the entry page has something to show.
    state.ledger.record(&steward_ledger::entry::examples::all()[0], "token:ci").await.unwrap();
    // One stored scan with drift, so the scan page shows findings.
    let scan_id = store_a_scan(&state).await;
    let revision = state.policy.current().revision.revision.clone();
    let mut pages: Vec<String> = PAGES.iter().map(|p| p.to_string()).collect();
    pages.push(format!("/scans/{scan_id}"));
    pages.push(format!("/policies/revisions/{revision}"));
    // The measuring wrapper frames each page, which the dashboard forbids
    // (`frame-ancestors 'none'`, `X-Frame-Options: DENY`); the test allows
    // same-origin framing and keeps the rest of the real policy, so the
    // pages are still measured under their Content-Security-Policy.
    let app = steward::http::router(state)
        .layer(axum::middleware::map_response(allow_same_origin_frames))
        .route("/__measure", get(measure));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let profile = tempfile::tempdir().unwrap();

    for width in [360, 1280] {
        for page in &pages {
            let url = format!("http://{addr}/__measure?page={page}&w={width}");
            let browser = browser.clone();
            let profile = profile.path().to_path_buf();
            let dom = tokio::task::spawn_blocking(move || dump_dom(&browser, &url, &profile)).await.unwrap();
            let json = dom
                .split("<pre id=\"result\">")
                .nth(1)
                .and_then(|rest| rest.split("</pre>").next())
                .unwrap_or_else(|| panic!("{page} at {width}px: no measurement in\n{dom}"));
            let m: serde_json::Value = serde_json::from_str(&json.replace("&quot;", "\"")).unwrap();
            assert!(m["overflow"].as_f64().unwrap() <= 0.0, "{page} overflows sideways at {width}px: {m}");
            assert!(m["font"].as_str().unwrap().contains("system-ui"), "{page}: stylesheet not applied: {m}");
            assert!(m["navHeight"].as_f64().unwrap() > 0.0, "{page}: navigation not visible at {width}px");
            assert!(m["mainWidth"].as_f64().unwrap() >= width as f64 * 0.85, "{page}: content squeezed: {m}");
        }
    }
    db.cleanup().await;
}
