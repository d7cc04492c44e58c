//! Rate limits (CONTRACT §8): per client id and route family, and on the
//! token endpoint per client id. Every server here runs on a frozen clock, so no
//! budget refills while a test sends its requests, and the tests move time instead of
//! sleeping.

use accessd::config::{GatewayArgs, RateLimitStore};
use accessd::domain::Clock;
use accessd::Config;

use crate::helpers::*;

const EXACT_BODY: &str = r#"{"message":" Rate Limit Exceeded "}"#;

/// A server on a frozen clock with this limit (`requests` per `window_secs`).
async fn limited(requests: u32, window_secs: u64) -> TestApp {
    TestApp::spawn_with_clock(Clock::frozen(), |c: &mut Config| {
        c.gateway.rate_limit_requests = requests;
        c.gateway.rate_limit_window_secs = window_secs;
    })
    .await
}

async fn get_with(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Sends `n` GETs of `path` with `token`, asserting each is answered 200.
async fn spend(app: &TestApp, token: &str, path: &str, n: usize) {
    for i in 0..n {
        let resp = get_with(app, token, path).await;
        assert_eq!(resp.status(), 200, "request {} of {n} to {path}", i + 1);
    }
}

/// Asserts the 429 of CONTRACT §8 and returns its `Retry-After` seconds.
async fn assert_rate_limited(resp: reqwest::Response) -> i64 {
    assert_eq!(resp.status(), 429);
    let retry_after = resp
        .headers()
        .get("Retry-After")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse::<i64>()
        .expect("Retry-After in whole seconds");
    assert_eq!(
        resp.headers()["content-type"],
        "application/json",
        "429 content type"
    );
    assert_eq!(resp.text().await.unwrap(), EXACT_BODY);
    retry_after
}

async fn client_secret(app: &TestApp) -> (String, String) {
    let identity = app.seed_identity(&["ORG_ADMIN"]).await;
    accessd::auth::clients::provision_client(
        app.store.as_ref(),
        None,
        None,
        "rate-limited",
        Some(identity.id),
        vec!["sp:scopes:all".into()],
        app.clock.now(),
    )
    .await
    .unwrap()
}

async fn token_request(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_101st_request_in_a_window_gets_429_and_retry_after_is_truthful() {
    let defaults = GatewayArgs::default();
    assert_eq!(
        (
            defaults.rate_limit_requests,
            defaults.rate_limit_window_secs
        ),
        (100, 10),
        "the default is 100 requests per 10 s"
    );
    let app = limited(
        defaults.rate_limit_requests,
        defaults.rate_limit_window_secs,
    )
    .await;
    spend(&app, &app.token, "/v3/access-profiles", 100).await;
    let retry_after = assert_rate_limited(app.get("/v3/access-profiles").await).await;
    // The budget refills one request per 100 ms: 1 s rounded up.
    assert_eq!(retry_after, 1);
    assert_rate_limited(app.get("/v3/access-profiles").await).await;
    app.clock.advance(retry_after);
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
}

#[tokio::test]
async fn another_client_and_another_family_keep_their_own_budget() {
    let app = limited(100, 10).await;
    spend(&app, &app.token, "/v3/access-profiles", 100).await;
    assert_rate_limited(app.get("/v3/sources").await).await;
    // The same client on the other families.
    spend(&app, &app.token, "/beta/access-profiles", 1).await;
    spend(&app, &app.token, "/access-profiles/v1", 1).await;
    spend(&app, &app.token, "/roles/v1", 1).await;
    for year in ["/v2024", "/v2025", "/v2026"] {
        spend(&app, &app.token, &format!("{year}/access-profiles"), 1).await;
    }
    // Another client on the same family.
    let (id, secret) = client_secret(&app).await;
    let other = app.fetch_token(&id, &secret).await;
    spend(&app, &other, "/v3/access-profiles", 1).await;
    // The per-service v1 paths are one family: 98 more requests spend it.
    spend(&app, &app.token, "/task-status/v1", 98).await;
    assert_rate_limited(get_with(&app, &app.token, "/identities/v1").await).await;
}

#[tokio::test]
async fn a_smaller_configured_limit_answers_the_exact_wait() {
    // 3 per 60 s: after the budget, one request each 20 s.
    let app = limited(3, 60).await;
    spend(&app, &app.token, "/beta/access-profiles", 3).await;
    assert_eq!(
        assert_rate_limited(app.get("/beta/access-profiles").await).await,
        20
    );
    app.clock.advance(19);
    assert_eq!(
        assert_rate_limited(app.get("/beta/access-profiles").await).await,
        1
    );
    app.clock.advance(1);
    spend(&app, &app.token, "/beta/access-profiles", 1).await;
    assert_rate_limited(app.get("/beta/access-profiles").await).await;
}

#[tokio::test]
async fn zero_requests_switches_rate_limiting_off() {
    // More than the default budget, on a clock that does not refill it.
    let app = limited(0, 10).await;
    spend(&app, &app.token, "/v3/access-profiles", 150).await;
    let (id, secret) = app.admin_client();
    for _ in 0..110 {
        assert_eq!(token_request(&app, &id, &secret).await.status(), 200);
    }
}

#[tokio::test]
async fn the_token_endpoint_is_limited_per_client_id() {
    let app = limited(3, 30).await;
    let (id, secret) = client_secret(&app).await;
    for _ in 0..3 {
        assert_eq!(token_request(&app, &id, &secret).await.status(), 200);
    }
    let retry_after = assert_rate_limited(token_request(&app, &id, &secret).await).await;
    assert_eq!(retry_after, 10);
    // Its API budget is separate from its token budget.
    let (other_id, other_secret) = client_secret(&app).await;
    assert_eq!(
        token_request(&app, &other_id, &other_secret).await.status(),
        200,
        "another client still gets tokens"
    );
    app.clock.advance(retry_after);
    assert_eq!(token_request(&app, &id, &secret).await.status(), 200);
}

#[tokio::test]
async fn failed_attempts_do_not_spend_a_clients_budget() {
    let app = limited(3, 60).await;
    // Wrong secrets for a client's id: refused, but not counted against it.
    let (id, secret) = client_secret(&app).await;
    for _ in 0..10 {
        assert_eq!(token_request(&app, &id, "wrong").await.status(), 401);
    }
    for _ in 0..3 {
        assert_eq!(token_request(&app, &id, &secret).await.status(), 200);
    }
    // Tokens that do not verify (here: the admin's token with a broken signature,
    // claiming the admin's client id): 401 every time, never 429, and not counted.
    let forged = format!("{}x", app.token);
    for _ in 0..10 {
        let resp = get_with(&app, &forged, "/v3/access-profiles").await;
        assert_eq!(resp.status(), 401);
    }
    for _ in 0..10 {
        let resp = app
            .http
            .get(app.url("/v3/access-profiles"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    spend(&app, &app.token, "/v3/access-profiles", 3).await;
    assert_rate_limited(app.get("/v3/access-profiles").await).await;
}

#[tokio::test]
async fn a_refused_operation_still_counts_and_health_never_does() {
    let app = limited(3, 60).await;
    // A token without the right: 403s spend the budget like any verified request.
    let (reader, _) = app.token_for(&[], &["sp:scopes:all"]).await;
    for _ in 0..3 {
        let resp = get_with(&app, &reader, "/v3/access-profiles").await;
        assert_eq!(resp.status(), 403);
    }
    assert_rate_limited(get_with(&app, &reader, "/v3/access-profiles").await).await;
    // /health is outside every family.
    for _ in 0..10 {
        assert_eq!(get_with(&app, &app.token, "/health").await.status(), 200);
    }
    spend(&app, &app.token, "/v3/access-profiles", 3).await;
}

/// Two servers on one database, sharing `clock`, with `store` counting the limits and a
/// budget of 10 requests per 10 s.
async fn two_instances(store: RateLimitStore) -> (TestApp, TestApp) {
    let configure = |c: &mut Config| {
        c.gateway.rate_limit_requests = 10;
        c.gateway.rate_limit_window_secs = 10;
        c.gateway.rate_limit_store = store;
    };
    let a = TestApp::spawn_with_clock(Clock::frozen(), configure).await;
    let mut config = test_config(&a.database_url);
    configure(&mut config);
    let b = TestApp::start(config, a.dir.clone(), a.clock.clone()).await;
    (a, b)
}

#[tokio::test]
async fn instances_on_one_database_spend_one_budget_per_client() {
    let (a, b) = two_instances(RateLimitStore::Database).await;
    let token = a.token.clone();
    spend(&a, &token, "/v3/access-profiles", 5).await;
    spend(&b, &token, "/v3/access-profiles", 5).await;
    // The budget is spent on both: each instance saw only five of the ten.
    assert_eq!(
        assert_rate_limited(get_with(&a, &token, "/v3/access-profiles").await).await,
        1
    );
    assert_eq!(
        assert_rate_limited(get_with(&b, &token, "/v3/access-profiles").await).await,
        1
    );
    // Another client still has its whole budget, on either instance.
    let (other, _) = b.token_for(&["ORG_ADMIN"], &["sp:scopes:all"]).await;
    spend(&a, &other, "/v3/access-profiles", 5).await;
    spend(&b, &other, "/v3/access-profiles", 5).await;
    // One request's worth refills in a second, and either instance may spend it once.
    a.clock.advance(1);
    spend(&b, &token, "/v3/access-profiles", 1).await;
    assert_rate_limited(get_with(&a, &token, "/v3/access-profiles").await).await;
}

#[tokio::test]
async fn with_memory_limits_each_instance_counts_alone() {
    // The documented limit of `--rate-limit-store memory` (SQLite's default): a client
    // spreading requests over N instances gets N budgets.
    let (a, b) = two_instances(RateLimitStore::Memory).await;
    let token = a.token.clone();
    spend(&a, &token, "/v3/access-profiles", 10).await;
    spend(&b, &token, "/v3/access-profiles", 10).await;
    assert_rate_limited(get_with(&a, &token, "/v3/access-profiles").await).await;
    assert_rate_limited(get_with(&b, &token, "/v3/access-profiles").await).await;
}
