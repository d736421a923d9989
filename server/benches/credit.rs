//! Contributor credit benchmarks (docs/BENCHMARKS.md, "Credit"):
//!
//! 1. **Awards per second, webhook → ledger**: signed `pull_request`
//!    closed (merged) deliveries through the real router, then the
//!    workers run the credit jobs (pull request files and commits read
//!    from a local forge stand-in, the shipped credit policy, a ledger
//!    entry and the projection per award) until every job is done.
//! 2. **Leaderboard with 10,000 contributors and 1,000,000 awards**: the
//!    credit tables are seeded in bulk with SQL (the projection only: the
//!    page reads no ledger entry), then `GET /leaderboard` is rendered
//!    through the real router for each period; p50/p99 over the requests.
//!
//! SQLite always; PostgreSQL when `STEWARD_BENCH_POSTGRES_URL` names an
//! empty database.
//!
//!     cargo bench -p steward-server --bench credit
//!     STEWARD_BENCH_PRS=400 STEWARD_BENCH_AWARDS=1000000 STEWARD_BENCH_CONTRIBUTORS=10000 cargo bench …
//!     STEWARD_BENCH_ONLY=leaderboard STEWARD_BENCH_SQLITE=0 STEWARD_BENCH_POSTGRES_URL=… STEWARD_BENCH_POSTGRES_URL2=… cargo bench …
//!
//! `STEWARD_BENCH_POSTGRES_URL` is used by the awards part,
//! `STEWARD_BENCH_POSTGRES_URL2` (another empty database) by the leaderboard.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use std::time::{Duration, Instant};
use steward::config::{Config, JobsConfig, Layer, RepositoryFile, Secret};
use steward::store::{JobState, Pool};
use tower::ServiceExt as _;

const SECRET: &str = "bench-credit-secret-0123456789";
const REPO: &str = "octo/app";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Forge stand-in: every pull request changed one workflow and one source
/// file, one commit with a co-author.
async fn forge() -> String {
    use axum::routing::get;
    let files = || async {
        axum::Json(serde_json::json!([{"filename": ".github/workflows/ci.yml"}, {"filename": "src/lib.rs"}]))
    };
    let commits = || async {
        axum::Json(serde_json::json!([{"commit": {"message":
            "Fix\n\nCo-authored-by: Hubot <2+hubot@users.noreply.github.com>"}}]))
    };
    let app = axum::Router::new()
        .route("/repos/{o}/{r}/pulls/{n}/files", get(files))
        .route("/repos/{o}/{r}/pulls/{n}/commits", get(commits));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

fn config(url: &str, dir: &std::path::Path, forge: &str, workers: u32) -> Config {
    let layer = Layer {
        data_dir: Some(dir.join("data")),
        database_url: Some(url.to_string()),
        repositories: Some(vec![RepositoryFile {
            name: REPO.into(),
            url: "file:///nonexistent".into(),
            webhook_secret: Some(SECRET.into()),
            api_url: Some(forge.to_string()),
            ..Default::default()
        }]),
        jobs: Some(JobsConfig { workers, lease_seconds: 60, max_attempts: 3, poll_millis: 20, backoff_seconds: 1 }),
        // The benches measure answers, not the write limiter (`[limits]`,
        // on by default since issue 14): off.
        limits: Some(steward::config::LimitsFile { writes_per_minute: Some(0), burst: None }),
        ..Layer::default()
    };
    Config::load(None, &layer, &|_| None).unwrap()
}

fn delivery(n: u64) -> Vec<u8> {
    let labels = if n.is_multiple_of(3) {
        vec!["E-easy"]
    } else if n % 3 == 1 {
        vec!["docs-example"]
    } else {
        vec![]
    };
    serde_json::to_vec(&serde_json::json!({
        "action": "closed", "number": n,
        "pull_request": {"number": n, "merged": true, "merged_at": "2026-11-27T12:00:00Z",
            "html_url": format!("https://github.com/{REPO}/pull/{n}"), "title": "Change", "body": "",
            "user": {"login": format!("dev{}", n % 50), "id": 1000 + n % 50, "type": "User"},
            "labels": labels.iter().map(|l| serde_json::json!({"name": l})).collect::<Vec<_>>(),
            "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6"},
        "repository": {"full_name": REPO, "name": "app", "id": 1}
    }))
    .unwrap()
}

async fn awards_per_second(url: &str, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let forge = forge().await;
    let prs = env_num("STEWARD_BENCH_PRS", 300);
    let workers = env_num("STEWARD_BENCH_WORKERS", 4) as u32;
    let store =
        steward::store::Store::open(&config(url, dir.path(), &forge, workers).database_url.value).await.unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let state =
        steward::app::AppState::build(store.clone(), config(url, dir.path(), &forge, workers), key).await.unwrap();
    let app = steward::http::router(state.clone());
    let entries_before = store.ledger_entry_count().await.unwrap();
    let started = Instant::now();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let handles = steward::jobs::spawn_workers(state.clone(), stop_rx);
    for n in 1..=prs {
        let body = delivery(n);
        let sig = steward::forge::sign(&Secret::new(SECRET), &body);
        let req = Request::post("/api/v1/webhooks/github")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", format!("d-{n}"))
            .header("x-hub-signature-256", sig)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 202);
    }
    let queued = started.elapsed();
    loop {
        let counts = store.job_counts().await.unwrap();
        let open: i64 =
            counts.iter().filter(|(s, _)| matches!(s, JobState::Queued | JobState::Running)).map(|c| c.1).sum();
        if open == 0 {
            let failed: i64 = counts.iter().filter(|(s, _)| *s == JobState::Failed).map(|c| c.1).sum();
            assert_eq!(failed, 0, "credit jobs failed");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = started.elapsed();
    let _ = stop.send(true);
    for h in handles {
        let _ = h.await;
    }
    let awards = store.ledger_entry_count().await.unwrap() - entries_before;
    println!(
        "{label}: {prs} merged pull requests → {awards} awards (ledger entries) in {:.2} s ({:.0} awards/s, \
         {:.0} PRs/s; deliveries answered in {:.2} s; {workers} workers)",
        total.as_secs_f64(),
        awards as f64 / total.as_secs_f64(),
        prs as f64 / total.as_secs_f64(),
        queued.as_secs_f64()
    );
    let report = steward::app::credit::verify(&store).await.unwrap();
    assert!(report.ok(), "{:?}", report.first_break);
    store.close().await;
}

/// Seeds `contributors` contributors and `awards` awards (spread over 365
/// days and four categories) straight into the credit tables.
async fn seed(pool: &Pool, contributors: u64, awards: u64) {
    let c = contributors as i64;
    let a = awards as i64;
    match pool {
        Pool::Postgres(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query(
                "INSERT INTO credit_contributors (forge, forge_user_id, login, login_seen_at, created_at) \
                 SELECT 'github', g, 'dev' || g, now(), now() FROM generate_series(1, $1::bigint) g",
            )
            .bind(c)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO credit_awards (award_id, contributor_id, kind, source, repository, change, rule, \
                 category, points, policy_revision, evidence_url, actor, awarded_at, ledger_index) \
                 SELECT 'bench:' || g, 1 + (g * 7919) % $2, 'award', 'github', 'octo/app', g::text, \
                 (ARRAY['fix-e-easy','docs-example','ci-template','merged-change'])[1 + g % 4], \
                 (ARRAY['code','docs','ci','code'])[1 + g % 4], (ARRAY[5,20,50,1])[1 + g % 4], NULL, NULL, \
                 'bench', now() - ((g % 365) || ' days')::interval, g FROM generate_series(1, $1::bigint) g",
            )
            .bind(a)
            .bind(c)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        Pool::Sqlite(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1) \
                 INSERT INTO credit_contributors (forge, forge_user_id, login, login_seen_at, created_at) \
                 SELECT 'github', n, 'dev' || n, '2026-12-01 00:00:00.0 +00:00:00', \
                 '2026-12-01 00:00:00.0 +00:00:00' FROM g",
            )
            .bind(c)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1) \
                 INSERT INTO credit_awards (award_id, contributor_id, kind, source, repository, change, rule, \
                 category, points, actor, awarded_at, ledger_index) \
                 SELECT 'bench:' || n, 1 + (n * 7919) % $2, 'award', 'github', 'octo/app', n, \
                 CASE n % 4 WHEN 0 THEN 'fix-e-easy' WHEN 1 THEN 'docs-example' WHEN 2 THEN 'ci-template' ELSE 'merged-change' END, \
                 CASE n % 4 WHEN 0 THEN 'code' WHEN 1 THEN 'docs' WHEN 2 THEN 'ci' ELSE 'code' END, \
                 CASE n % 4 WHEN 0 THEN 5 WHEN 1 THEN 20 WHEN 2 THEN 50 ELSE 1 END, \
                 'bench', strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (n % 365) || ' days') || '.0 +00:00:00', n FROM g",
            )
            .bind(a)
            .bind(c)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
    }
    // The precomputed totals, as the store maintains them award by award.
    let totals = "UPDATE credit_contributors SET earned = t.p, balance = t.p, awards = t.n FROM \
         (SELECT contributor_id, SUM(points) AS p, COUNT(*) AS n FROM credit_awards GROUP BY contributor_id) t \
         WHERE t.contributor_id = credit_contributors.id";
    let daily_pg = "INSERT INTO credit_daily (day, category, contributor_id, points, awards) \
         SELECT to_char(awarded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), category, contributor_id, SUM(points), COUNT(*) \
         FROM credit_awards GROUP BY 1, 2, 3";
    let daily_sqlite = "INSERT INTO credit_daily (day, category, contributor_id, points, awards) \
         SELECT substr(awarded_at, 1, 10), category, contributor_id, SUM(points), COUNT(*) \
         FROM credit_awards GROUP BY 1, 2, 3";
    let rest = [
        "INSERT INTO credit_monthly (month, category, contributor_id, points, awards) \
         SELECT substr(day, 1, 7), category, contributor_id, SUM(points), SUM(awards) FROM credit_daily GROUP BY 1, 2, 3",
        "INSERT INTO credit_contributor_categories (category, contributor_id, points, awards) \
         SELECT category, contributor_id, SUM(points), SUM(awards) FROM credit_daily GROUP BY 1, 2",
        "INSERT INTO credit_category_daily (day, category, points, awards) \
         SELECT day, category, SUM(points), SUM(awards) FROM credit_daily GROUP BY 1, 2",
    ];
    // The rolling 90-day window, as the store keeps it.
    let from = (time::OffsetDateTime::now_utc().date() - time::Duration::days(89)).to_string();
    let rolling = format!(
        "INSERT INTO credit_rolling (contributor_id, points, awards) SELECT contributor_id, SUM(points), SUM(awards) \
         FROM credit_daily WHERE day >= '{from}' GROUP BY contributor_id"
    );
    let head = format!("UPDATE credit_rolling_head SET from_day = '{from}' WHERE id = 1");
    let rest: Vec<String> = rest.iter().map(|s| s.to_string()).chain([rolling, head, "ANALYZE".to_string()]).collect();
    match pool {
        Pool::Postgres(p) => {
            sqlx::query(totals).execute(p).await.unwrap();
            sqlx::query(daily_pg).execute(p).await.unwrap();
            for sql in &rest {
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).execute(p).await.unwrap();
            }
        }
        Pool::Sqlite(p) => {
            sqlx::query(totals).execute(p).await.unwrap();
            sqlx::query(daily_sqlite).execute(p).await.unwrap();
            for sql in &rest {
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).execute(p).await.unwrap();
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn leaderboard(url: &str, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let contributors = env_num("STEWARD_BENCH_CONTRIBUTORS", 10_000);
    let awards = env_num("STEWARD_BENCH_AWARDS", 1_000_000);
    let cfg = config(url, dir.path(), "http://127.0.0.1:9/", 1);
    let store = steward::store::Store::open(&cfg.database_url.value).await.unwrap();
    let t = Instant::now();
    seed(store.pool(), contributors, awards).await;
    let seeded = t.elapsed();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let state = steward::app::AppState::build(store.clone(), cfg, key).await.unwrap();
    let app = steward::http::router(state);
    let requests = env_num("STEWARD_BENCH_REQUESTS", 200) as usize;
    println!("{label}: seeded {contributors} contributors and {awards} awards in {:.1} s", seeded.as_secs_f64());
    for page in [
        "/leaderboard",
        "/leaderboard?period=90d",
        "/leaderboard?period=this-month",
        "/leaderboard?category=ci",
        "/api/v1/credit/leaderboard?format=csv&limit=1000",
    ] {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 10 {
            let t = Instant::now();
            let resp = app.clone().oneshot(Request::get(page).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(resp.status(), 200, "{page}");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert!(body.len() > 1000);
            if i >= 10 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        println!(
            "{label}: GET {page}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({requests} requests)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3
        );
    }
    store.close().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // `awards` or `leaderboard` runs one part; `STEWARD_BENCH_SQLITE=0`
    // skips SQLite.
    let only = std::env::var("STEWARD_BENCH_ONLY").unwrap_or_default();
    let sqlite_on = std::env::var("STEWARD_BENCH_SQLITE").map_or(true, |v| v != "0");
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
        if sqlite_on && (only.is_empty() || only == "awards") {
            awards_per_second(&sqlite("awards.db"), "sqlite").await;
        }
        if sqlite_on && (only.is_empty() || only == "leaderboard") {
            leaderboard(&sqlite("board.db"), "sqlite").await;
        }
        if let Ok(url) = std::env::var("STEWARD_BENCH_POSTGRES_URL") {
            if only.is_empty() || only == "awards" {
                awards_per_second(&url, "postgres").await;
            }
            if let Ok(url2) = std::env::var("STEWARD_BENCH_POSTGRES_URL2")
                && (only.is_empty() || only == "leaderboard")
            {
                leaderboard(&url2, "postgres").await;
            }
        }
    });
}
