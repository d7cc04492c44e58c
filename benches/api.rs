//! `cargo bench --bench api`: end-to-end latency and throughput of hot read paths
//! through the real server (release build, SQLite in a temp dir, or a fresh schema of
//! the PostgreSQL database named by `BENCH_DATABASE_URL`), with 10,000 access
//! profiles in the store. `BENCH_RATE_LIMIT_STORE=memory|database` picks where the
//! rate limits are counted. Prints one line per scenario; nothing here asserts timing.

// Tests, benchmarks and tools may panic (the `[lints]` table denies it for the server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

use std::time::{Duration, Instant};

use accessd::domain::access_profile::AccessProfileDraft;
use accessd::domain::model::*;
use accessd::domain::new_id;

mod common;

const PROFILES: usize = 10_000;
const REQUESTS: usize = 2_000;
const CONCURRENCY: usize = 8;

#[tokio::main]
async fn main() {
    let common::Bench {
        app,
        clock,
        owner,
        source,
        cleanup,
        ..
    } = common::start().await;
    let store = app.state().store.clone();
    let now = clock.now();
    let ent = Entitlement {
        id: new_id(),
        source: NamedRef {
            id: source.id.clone(),
            name: source.name.clone(),
        },
        name: "bench".into(),
        attribute: "memberOf".into(),
        value: "bench".into(),
        entitlement_type: "group".into(),
        description: None,
        privileged: false,
        requestable: true,
        owner: None,
        created: now,
        modified: now,
    };
    store.insert_entitlement(&ent).await.expect("entitlement");
    let seeding = Instant::now();
    for i in 0..PROFILES {
        let draft = AccessProfileDraft {
            name: accessd::domain::text::Name::parse(Some(format!("Profile {i:05}")), "name")
                .unwrap(),
            description: accessd::domain::text::Description::parse_optional(Some("bench".into()))
                .unwrap(),
            owner_id: owner.id.clone(),
            owner_name: None,
            source_id: source.id.clone(),
            source_name: None,
            entitlement_ids: vec![ent.id.clone()],
            segment_ids: Vec::new(),
            enabled: true,
            requestable: i % 2 == 0,
            doc: Default::default(),
        };
        store
            .insert_access_profile(&accessd::domain::scope::Scope::All, &draft, clock.now())
            .await
            .expect("profile");
    }
    println!(
        "seeded {PROFILES} access profiles in {:.1?}",
        seeding.elapsed()
    );

    let base = format!("http://{}", app.addr());
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "bench"),
            ("client_secret", "bench-secret-0123456789abcdef"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();

    for (label, path) in [
        ("list limit=50 sorters=name", "/v3/access-profiles?limit=50&sorters=name"),
        ("list limit=250 count=true", "/v3/access-profiles?limit=250&count=true"),
        ("list filter name sw + requestable", "/v3/access-profiles?filters=name%20sw%20%22Profile%2001%22%20and%20requestable%20eq%20true&count=true"),
        ("list offset=9000 sorters=-modified", "/beta/access-profiles?limit=50&offset=9000&sorters=-modified"),
        ("get by id (via list of 1)", "/access-profiles/v1?limit=1"),
    ] {
        run(label, &http, &format!("{base}{path}"), &token).await;
    }
    app.shutdown().await;
    cleanup.finish().await;
}

async fn run(label: &str, http: &reqwest::Client, url: &str, token: &str) {
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..CONCURRENCY {
        let (http, url, token) = (http.clone(), url.to_string(), token.to_string());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in (worker..REQUESTS).step_by(CONCURRENCY) {
                let t = Instant::now();
                let resp = http
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(resp.status(), 200, "{url}");
                resp.bytes().await.expect("body");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for h in handles {
        all.extend(h.await.expect("worker"));
    }
    let total = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{label:<40} {:>7.0} req/s  p50 {:>7.2?}  p99 {:>7.2?}  ({} requests, {} concurrent)",
        all.len() as f64 / total.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        all.len(),
        CONCURRENCY
    );
}
