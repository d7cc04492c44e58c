//! Start-up behaviour: the demo tenant, configured admin credentials, persistence.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_demo_tenant_is_loaded_once_into_an_empty_database() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    let resp = app.get("/v3/access-profiles?count=true").await;
    assert_eq!(resp.headers()["X-Total-Count"], "12");
    let sources: Vec<Value> = app.get("/v3/sources").await.json().await.unwrap();
    assert_eq!(sources.len(), 3);
    let groups: Vec<Value> = app.get("/beta/workgroups").await.json().await.unwrap();
    assert_eq!(groups.len(), 2);
    // The demo source app holds two Salesforce profiles, which are therefore in use.
    let apps: Vec<Value> = app.get("/beta/source-apps").await.json().await.unwrap();
    assert_eq!(apps.len(), 1, "{apps:?}");
    let held = app
        .get_json(&format!(
            "/beta/source-apps/{}/access-profiles",
            apps[0]["id"].as_str().unwrap()
        ))
        .await;
    let held = held.as_array().unwrap();
    assert_eq!(held.len(), 2);
    let resp = app
        .delete(&format!(
            "/v3/access-profiles/{}",
            held[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_isc_error(resp, 400, "400.2.1.0 Object in use by another").await;
    let app = app.restart().await;
    let resp = app.get("/v3/access-profiles?count=true").await;
    assert_eq!(resp.headers()["X-Total-Count"], "12", "not loaded twice");
}

#[tokio::test]
async fn configured_admin_credentials_work() {
    let app = TestApp::spawn_with(|c| {
        c.admin_client_id = Some("ci-admin".into());
        c.admin_client_secret = Some("ci-secret-0123456789abcdef".into());
    })
    .await;
    let token = app
        .fetch_token("ci-admin", "ci-secret-0123456789abcdef")
        .await;
    let resp = app
        .http
        .get(app.url("/v3/sources"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Three instances started together on one new database (as a container orchestrator
/// would): every one starts, the tenant gets one signing key and one demo tenant, and a
/// token from any instance works on all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_started_together_on_a_new_database_share_one_tenant() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let url = fresh_database_url(dir.path()).await;
    let config = || {
        let mut c = test_config(&url);
        c.demo = true;
        c.admin_client_id = Some("ops-admin".into());
        c.admin_client_secret = Some("ops-secret-0123456789abcdef".into());
        c
    };
    let clock = accessd::domain::Clock::system();
    let (a, b, c) = tokio::join!(
        TestApp::start(config(), dir.clone(), clock.clone()),
        TestApp::start(config(), dir.clone(), clock.clone()),
        TestApp::start(config(), dir.clone(), clock.clone()),
    );
    let apps = [&a, &b, &c];
    let export = a.store.export_tenant().await.unwrap();
    let rows = |name: &str| {
        export
            .tables
            .iter()
            .find(|t| t.name == name)
            .map_or(0, |t| t.rows.len())
    };
    assert_eq!(rows("signing_keys"), 1, "one key for the tenant");
    assert_eq!(rows("access_profiles"), 12, "the demo tenant, once");
    assert_eq!(rows("sources"), 3);
    for from in apps {
        let token = from
            .fetch_token("ops-admin", "ops-secret-0123456789abcdef")
            .await;
        for to in apps {
            let resp = to
                .http
                .get(to.url("/v3/access-profiles?count=true"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(
                resp.status(),
                200,
                "a token of {} on {}",
                from.base,
                to.base
            );
            assert_eq!(resp.headers()["X-Total-Count"], "12");
        }
    }
}
