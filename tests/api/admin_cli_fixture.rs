//! `accessd admin fixture export|load` against the fixture endpoints of the admin API
//! (`GET /_accessd/fixture`, `POST /_accessd/reset` with a fixture): a tenant exported
//! in either format and loaded back is the same tenant.

use serde_json::Value;

use crate::admin_cli::admin;
use crate::helpers::TestApp;

/// The access profiles' names, sorted: what a round trip must give back.
async fn profile_names(app: &TestApp) -> Vec<String> {
    let list = app.get_json("/v3/access-profiles").await;
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_json_fixture_exported_to_a_file_loads_back_as_the_same_tenant() {
    let app = TestApp::spawn().await;
    assert!(admin(&app, &["reset", "--demo"]).await.ok);
    let demo = profile_names(&app).await;
    assert_eq!(demo.len(), 12);
    let file = app.dir.path().join("tenant.json");
    let export = admin(&app, &["fixture", "export", "-o", file.to_str().unwrap()]).await;
    assert!(export.ok, "{}", export.err);
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(document.is_object(), "{document}");
    assert!(admin(&app, &["reset"]).await.ok);
    assert!(profile_names(&app).await.is_empty());
    let load = admin(&app, &["fixture", "load", file.to_str().unwrap()]).await;
    assert!(load.ok, "{}", load.err);
    assert_eq!(profile_names(&app).await, demo);
}

#[tokio::test]
async fn a_yaml_fixture_from_standard_output_loads_back_as_the_same_tenant() {
    let app = TestApp::spawn().await;
    assert!(admin(&app, &["reset", "--demo"]).await.ok);
    let demo = profile_names(&app).await;
    let export = admin(&app, &["fixture", "export", "--format", "yaml"]).await;
    assert!(export.ok, "{}", export.err);
    assert!(
        serde_json::from_str::<Value>(&export.out).is_err(),
        "YAML, not JSON: {}",
        export.out
    );
    let file = app.dir.path().join("tenant.yaml");
    std::fs::write(&file, &export.out).unwrap();
    assert!(admin(&app, &["reset"]).await.ok);
    let load = admin(&app, &["fixture", "load", file.to_str().unwrap()]).await;
    assert!(load.ok, "{}", load.err);
    assert_eq!(profile_names(&app).await, demo);
}

#[tokio::test]
async fn a_broken_fixture_is_refused_with_the_servers_message() {
    let app = TestApp::spawn().await;
    assert!(admin(&app, &["reset", "--demo"]).await.ok);
    let file = app.dir.path().join("broken.yaml");
    std::fs::write(&file, "accessProfiles: [ {name: 1\n").unwrap();
    let load = admin(&app, &["fixture", "load", file.to_str().unwrap()]).await;
    assert!(!load.ok, "{}", load.out);
    assert!(load.err.contains("400"), "{}", load.err);
    let missing = admin(&app, &["fixture", "load", "/nonexistent/tenant.json"]).await;
    assert!(
        !missing.ok && missing.err.contains("/nonexistent/tenant.json"),
        "{}",
        missing.err
    );
}
