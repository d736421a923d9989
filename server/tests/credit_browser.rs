//! The Leaderboard and contributor pages in headless Chromium at phone and
//! laptop widths, with real credit (policy awards from a merged pull
//! request, manual awards, a correction, a redemption): nothing overflows
//! sideways, and the server-rendered SVG charts (category balance, balance
//! over time) are drawn with a real size. Also checked with CSS selectors:
//! every award names its evidence, rule, policy revision and ledger entry.
//! Skipped (with a note) when `chromium` is not installed.

mod common;

use common::browser::{allow_same_origin_frames, chromium, dump_dom};
mod credit_support;

use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use credit_support::{PullsForge, credit_state};
use std::collections::HashMap;
use steward::app::credit::{self, ChangeEvidence, ContributorSpec, ManualAward};
use steward::app::jobs::CreditJob;

/// A same-origin wrapper that frames a page at a width and reports what
/// the browser laid out, in `<pre id=result>` for `--dump-dom`.
async fn measure(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let page = q.get("page").cloned().unwrap_or_else(|| "/".into());
    let width = q.get("w").cloned().unwrap_or_else(|| "390".into());
    Html(format!(
        r#"<!doctype html><html><body style="margin:0">
<iframe id="f" src="{page}" style="width:{width}px;height:900px;border:0"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var d = this.contentDocument, e = d.documentElement;
  var svgs = Array.prototype.map.call(d.querySelectorAll('main svg'), function (s) {{
    var r = s.getBoundingClientRect();
    return {{ cls: s.getAttribute('class'), w: r.width, h: r.height,
             shapes: s.querySelectorAll('rect, polyline, circle').length }};
  }});
  var r = {{ overflow: e.scrollWidth - e.clientWidth, svgs: svgs,
            font: getComputedStyle(d.body).fontFamily, h1: (d.querySelector('h1') || {{}}).textContent }};
  var out = document.createElement('pre');
  out.id = 'result';
  out.textContent = JSON.stringify(r);
  document.body.appendChild(out);
}});
</script></body></html>"#
    ))
}

/// Real credit: a merged pull request judged by the shipped policy (with
/// a co-author), manual awards in three categories, a correction and a
/// redemption.
async fn seed(state: &steward::app::AppState) {
    let job: CreditJob = serde_json::from_value(serde_json::json!({
        "repository": "octo/app", "number": 12, "delivery": "d", "action": "merged",
        "labels": ["ci-template"], "author": {"id": 103, "login": "cy", "type": "User"},
        "merged_at": "2026-11-27T12:00:00Z", "url": "https://github.com/octo/app/pull/12"
    }))
    .unwrap();
    let evidence = ChangeEvidence {
        job: &job,
        changed_paths: vec![".github/workflows/release.yml".into()],
        co_authors: credit::co_authors(["Co-authored-by: Ana <101+ana@users.noreply.github.com>"]),
    };
    credit::apply_change(state, &evidence).await.unwrap();
    for (i, (id, login, category, points)) in [
        (101, "ana", "docs", 20),
        (102, "bo-with-a-rather-long-login-name", "code", 5),
        (102, "bo-with-a-rather-long-login-name", "code", 5),
        (104, "dee", "docs", 20),
        (105, "<script>alert(1)</script>", "code", 1),
    ]
    .into_iter()
    .enumerate()
    {
        let req = ManualAward {
            contributor: ContributorSpec { user_id: Some(id), login: Some(login.into()) },
            points,
            reason: format!("seeded award {i}"),
            evidence_url: format!("https://github.com/octo/app/pull/{}", 100 + i),
            category: Some(category.into()),
        };
        credit::manual_award(state, "test", &req).await.unwrap();
    }
    let spec = ContributorSpec { user_id: Some(103), login: None };
    credit::redeem(state, "test", &spec, "compute-quota", 1, None).await.unwrap_err(); // 33 points: refused
    let ana = state.store.credit_contributor("github", 101).await.unwrap().unwrap();
    let view = credit::contributor_view(&state.store, ana).await.unwrap();
    let manual = view.awards.iter().find(|a| a.rule == "manual").unwrap();
    credit::correct(state, "test", &manual.award_id, "awarded twice").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboard_and_contributor_pages_fit_phone_and_laptop_in_chromium() {
    let Some(browser) = chromium() else {
        common::skip("chromium is not installed");
        return;
    };
    let db = common::TestDb::sqlite().await;
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(&db, &url).await;
    seed(&state).await;
    let app = steward::http::router(state.clone())
        .layer(axum::middleware::map_response(allow_same_origin_frames))
        .route("/__measure", get(measure));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let profile = tempfile::tempdir().unwrap();
    let pages = [
        ("/leaderboard", vec!["category-chart"]),
        ("/leaderboard?period=90d", vec!["category-chart"]),
        ("/leaderboard?period=this-month%26category=code", vec!["category-chart"]),
        ("/leaderboard/contributors/103", vec!["balance-chart"]),
        ("/leaderboard/contributors/101", vec!["balance-chart"]),
        ("/leaderboard/contributors/105", vec!["balance-chart"]),
    ];
    for width in [360, 1280] {
        for (page, charts) in &pages {
            let url = format!("http://{addr}/__measure?page={page}&w={width}");
            let (b, p) = (browser.clone(), profile.path().to_path_buf());
            let dom = tokio::task::spawn_blocking(move || dump_dom(&b, &url, &p)).await.unwrap();
            let json = dom
                .split("<pre id=\"result\">")
                .nth(1)
                .and_then(|rest| rest.split("</pre>").next())
                .unwrap_or_else(|| panic!("{page} at {width}px: no measurement in\n{dom}"));
            let m: serde_json::Value =
                serde_json::from_str(&json.replace("&quot;", "\"").replace("&amp;", "&")).unwrap();
            assert!(m["overflow"].as_f64().unwrap() <= 0.0, "{page} overflows sideways at {width}px: {m}");
            assert!(m["font"].as_str().unwrap().contains("system-ui"), "{page}: stylesheet not applied: {m}");
            for chart in charts {
                let svg = m["svgs"].as_array().unwrap().iter().find(|s| s["cls"] == *chart);
                let svg = svg.unwrap_or_else(|| panic!("{page} at {width}px: no {chart}: {m}"));
                assert!(svg["w"].as_f64().unwrap() > 150.0, "{page} at {width}px: {chart} too narrow: {m}");
                assert!(svg["h"].as_f64().unwrap() > 30.0, "{page} at {width}px: {chart} too flat: {m}");
                assert!(svg["shapes"].as_u64().unwrap() >= 2, "{page} at {width}px: {chart} draws nothing: {m}");
            }
        }
    }
    db.cleanup().await;
}

#[tokio::test]
async fn every_award_names_evidence_rule_revision_and_ledger_entry() {
    let db = common::TestDb::sqlite().await;
    let (_forge, url) = PullsForge::start().await;
    let state = credit_state(&db, &url).await;
    seed(&state).await;
    let app = steward::http::router(state.clone());
    let (status, _, html) = credit_support::call(&app, "GET", "/leaderboard/contributors/cy", None, None).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let rows: Vec<_> = doc.select(&sel("table.awards tbody tr")).collect();
    assert_eq!(rows.len(), 2, "ci-template and ci-maintenance, split with ana");
    let revision = state.policy.current().revision.revision.clone();
    for row in &rows {
        let links: Vec<&str> = row.select(&sel("a")).filter_map(|a| a.value().attr("href")).collect();
        assert!(links.contains(&"https://github.com/octo/app/pull/12"), "{links:?}");
        assert!(links.contains(&format!("/policies/revisions/{revision}").as_str()), "{links:?}");
        assert!(links.iter().any(|l| l.starts_with("/ledger/entries/")), "{links:?}");
    }
    assert_eq!(doc.select(&sel("[data-test=balance]")).next().unwrap().text().collect::<String>(), "33", "25 + 8");
    // A hostile login is text, never markup.
    let (_, _, board) = credit_support::call(&app, "GET", "/leaderboard", None, None).await;
    assert!(!board.contains("<script>alert(1)</script>"));
    assert!(board.contains("&#60;script&#62;alert(1)"), "escaped as text");
    let doc = scraper::Html::parse_document(&board);
    let under: Vec<String> =
        doc.select(&sel("tr.under td:first-child")).map(|e| e.text().collect::<String>()).collect();
    assert!(under.iter().any(|t| t.starts_with("code")), "code work is under-rewarded: {under:?}");
    db.cleanup().await;
}
