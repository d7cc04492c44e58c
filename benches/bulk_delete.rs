//! `cargo bench --bench bulk_delete`: bulk delete of 50 access profiles with 100,000
//! roles, 10,000 source apps and 100,000 access profiles in the database, through the
//! real server (release build, SQLite in a temp dir, or a fresh schema of the
//! PostgreSQL database named by `BENCH_DATABASE_URL`). Measures the
//! time from the request to the task's SUCCESS, as a client sees it, the 200 answer
//! when profiles are in use, and a source app's bulk remove of 50 of its 250
//! profiles. Nothing here asserts timing. `BENCH_APPS=0` seeds no apps (to compare).
//!
//! Seeding 200,000 rows through the API would take minutes, so the rows are written
//! with plain SQL (multi-row INSERTs, `common::seed`) in one transaction into the
//! migrated database before requests start.

// Tests, benchmarks and tools may panic (the `[lints]` table denies it for the server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

use std::time::{Duration, Instant};

use accessd::domain::new_id;
use serde_json::{json, Value};

mod common;

const ROLES: usize = 100_000;
/// Role `i` uses profile `i`; the profiles above `ROLES` are unused.
const PROFILES: usize = 100_000;
const UNUSED: usize = 1_000;
/// App `i` holds profile `i` (also used by role `i`), so in-use answers find both kinds.
const APPS: usize = 10_000;
/// The profiles of the app whose bulk remove is measured.
const HELD: usize = 250;
const ROUNDS: usize = 15;

#[tokio::main]
async fn main() {
    let common::Bench {
        app,
        clock,
        url,
        owner,
        source,
        cleanup,
    } = common::start().await;
    let now = clock.now();

    let seeding = Instant::now();
    let ts = accessd::query::format_timestamp(&now);
    let ap_ids: Vec<String> = (0..PROFILES + UNUSED).map(|_| new_id()).collect();
    let apps = std::env::var("BENCH_APPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(APPS);
    let (o, s) = (&owner.id, &source.id);
    let mut load = common::seed::Loader::open(&url).await;
    for (i, id) in ap_ids.iter().enumerate() {
        let name = format!("Profile {i:06}");
        load.access_profile(id, &name, None, o, s, false, false, &ts, &ts)
            .await;
    }
    let role_ids: Vec<String> = (0..ROLES).map(|_| new_id()).collect();
    for (i, id) in role_ids.iter().enumerate() {
        load.role(id, &format!("Role {i:06}"), o, &ts).await;
    }
    for (role, ap) in role_ids.iter().zip(&ap_ids) {
        load.role_access_profile(role, ap, 0).await;
    }
    let app_ids: Vec<String> = (0..apps).map(|_| new_id()).collect();
    for (i, id) in app_ids.iter().enumerate() {
        let n = i as u64 + 1;
        load.source_app(id, n, &format!("App {n:06}"), o, s, &ts)
            .await;
    }
    for (app, ap) in app_ids.iter().zip(&ap_ids) {
        load.source_app_access_profile(app, s, ap, 0).await;
    }
    load.finish().await;
    println!(
        "seeded {} access profiles, {ROLES} roles and {apps} source apps (each using one profile) in {:.1?}",
        PROFILES + UNUSED,
        seeding.elapsed()
    );

    let base = format!("http://{}", app.addr());
    let http = reqwest::Client::new();
    let token: Value = http
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
    let token = token["access_token"].as_str().expect("token").to_string();
    let post = |body: Value| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let resp = http
                .post(format!("{base}/v3/access-profiles/bulk-delete"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("bulk delete");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };

    // 50 unused profiles per round: request → 202 → poll until SUCCESS.
    let unused = &ap_ids[PROFILES..];
    let mut to_success = Vec::new();
    let mut to_answer = Vec::new();
    for round in 0..ROUNDS {
        let ids = &unused[round * 50..round * 50 + 50];
        let started = Instant::now();
        let (status, answer) = post(json!({"accessProfileIds": ids})).await;
        assert_eq!(status, 202, "{answer}");
        to_answer.push(started.elapsed());
        let task = answer["taskId"].as_str().expect("taskId").to_string();
        loop {
            let t: Value = http
                .get(format!("{base}/beta/task-status/{task}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("task status")
                .json()
                .await
                .expect("json");
            match t["completionStatus"].as_str() {
                Some("SUCCESS") => break,
                None => tokio::time::sleep(Duration::from_millis(1)).await,
                other => panic!("task ended {other:?}: {t}"),
            }
        }
        to_success.push(started.elapsed());
    }
    report("bulk delete 50 unused: request → 202", &mut to_answer);
    report("bulk delete 50 unused: request → SUCCESS", &mut to_success);

    // 50 used profiles without bestEffortOnly: 200 with inUse, nothing deleted.
    let mut in_use = Vec::new();
    for round in 0..ROUNDS {
        let ids = &ap_ids[round * 5000..round * 5000 + 50];
        let started = Instant::now();
        let (status, answer) = post(json!({"accessProfileIds": ids})).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["inUse"].as_array().map(Vec::len), Some(50));
        in_use.push(started.elapsed());
    }
    report("bulk delete 50 in use: request → 200", &mut in_use);

    // A source app holding 250 profiles: bulk remove 50 → 200 with the other 200
    // (AccessProfileDetails); the 50 are put back by a patch between rounds.
    let held: Vec<&String> = ap_ids[ROLES - HELD..ROLES].iter().collect();
    let created: Value = http
        .post(format!("{base}/beta/source-apps"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench app", "description": "bulk remove",
                      "accountSource": {"id": source.id}}))
        .send()
        .await
        .expect("create app")
        .json()
        .await
        .expect("json");
    let app_path = format!(
        "{base}/beta/source-apps/{}",
        created["id"].as_str().expect("id")
    );
    let put_back = |ids: Vec<&String>| {
        let (http, token, path) = (http.clone(), token.clone(), app_path.clone());
        let ops = json!([{"op": "replace", "path": "/accessProfiles", "value": ids}]);
        async move {
            let resp = http
                .patch(&path)
                .bearer_auth(&token)
                .header("Content-Type", "application/json-patch+json")
                .body(ops.to_string())
                .send()
                .await
                .expect("patch app");
            assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
        }
    };
    put_back(held.clone()).await;
    let mut removes = Vec::new();
    let mut lists = Vec::new();
    for round in 0..ROUNDS {
        let started = Instant::now();
        let resp = http
            .get(format!("{app_path}/access-profiles"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list");
        assert_eq!(resp.status(), 200);
        let all: Value = resp.json().await.expect("json");
        lists.push(started.elapsed());
        assert_eq!(all.as_array().map(Vec::len), Some(HELD));
        let ids = &held[(round % 5) * 50..(round % 5) * 50 + 50];
        let started = Instant::now();
        let resp = http
            .post(format!("{app_path}/access-profiles/bulk-remove"))
            .bearer_auth(&token)
            .json(&ids)
            .send()
            .await
            .expect("bulk remove");
        assert_eq!(resp.status(), 200);
        let remaining: Value = resp.json().await.expect("json");
        removes.push(started.elapsed());
        assert_eq!(remaining.as_array().map(Vec::len), Some(HELD - 50));
        put_back(held.clone()).await;
    }
    report("source app's 250 access profiles: → 200", &mut lists);
    report("source app bulk remove 50 of 250: → 200", &mut removes);
    app.shutdown().await;
    cleanup.finish().await;
}

fn report(label: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{label:<45} p50 {:>8.2?}  max {:>8.2?}  ({} rounds)",
        pct(0.5),
        samples[samples.len() - 1],
        samples.len()
    );
}
