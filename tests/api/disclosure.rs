//! 401 and 403 never reveal whether an object exists (CONTRACT §6, §7): for a caller
//! without a valid token, or without the right, an existing and an unknown id get the
//! same status and the same body (apart from the trackingId), and nothing changes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// Status and body of a request, with the per-request trackingId blanked out.
async fn answer(app: &TestApp, method: &Method, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.http.request(method.clone(), app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if *method == Method::PATCH {
        req = req
            .header("Content-Type", "application/json-patch+json")
            .body(json!([{"op": "replace", "path": "/description", "value": "leak?"}]).to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let mut body: Value = resp.json().await.unwrap_or(Value::Null);
    if body.get("trackingId").is_some() {
        body["trackingId"] = json!("<tracking id>");
    }
    (status, body)
}

#[tokio::test]
async fn refusals_look_the_same_for_existing_and_unknown_objects() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Secret profile"))
        .await;
    let ap_id = ap["id"].as_str().unwrap().to_string();
    let role = app
        .create_role("/v3/roles", &role_body("Secret role", &f.owner.id, &[]))
        .await;
    let role_id = role["id"].as_str().unwrap().to_string();
    let unknown = "0123456789abcdef0123456789abcdef";

    let (user, _) = app.token_for(&[], &["sp:scopes:all"]).await;
    let (wrong_scope, _) = app.token_for(&["ORG_ADMIN"], &["idn:identity:read"]).await;
    let bad_signature = format!("{}x", app.token);
    let callers: [(&str, Option<&str>, u16); 5] = [
        ("no token", None, 401),
        ("bad signature", Some(&bad_signature), 401),
        ("garbage token", Some("not-a-jwt"), 401),
        ("user level without the right", Some(&user), 403),
        ("scope without the right", Some(&wrong_scope), 403),
    ];
    let all = [Method::GET, Method::PATCH, Method::DELETE];
    let routes: Vec<(String, &str, &[Method])> = vec![
        ("/v3/access-profiles/{}".to_string(), ap_id.as_str(), &all),
        ("/beta/access-profiles/{}".to_string(), ap_id.as_str(), &all),
        ("/access-profiles/v1/{}".to_string(), ap_id.as_str(), &all),
        (
            "/v3/access-profiles/{}/entitlements".to_string(),
            ap_id.as_str(),
            &[Method::GET],
        ),
        ("/v3/roles/{}".to_string(), role_id.as_str(), &all),
        ("/roles/v1/{}".to_string(), role_id.as_str(), &all),
        (
            "/v3/sources/{}".to_string(),
            f.source.id.as_str(),
            &[Method::GET],
        ),
    ];
    let mut compared = 0;
    for (template, existing, methods) in &routes {
        for method in methods.iter() {
            for (who, token, status) in &callers {
                let known = answer(&app, method, &template.replace("{}", existing), *token).await;
                let missing = answer(&app, method, &template.replace("{}", unknown), *token).await;
                let what = format!("{method} {template} by {who}");
                assert_eq!(known.0, *status, "{what}: {}", known.1);
                assert_eq!(known, missing, "{what}: existing vs unknown id");
                compared += 1;
            }
        }
    }
    assert_eq!(
        compared,
        5 * (5 * 3 + 1 + 1),
        "every route, method and caller"
    );
    // Nothing was changed by the refused writes.
    let after = app.get_json(&format!("/v3/access-profiles/{ap_id}")).await;
    assert_eq!(after["description"], ap["description"]);
    let after = app.get_json(&format!("/v3/roles/{role_id}")).await;
    assert_eq!(after["description"], role["description"]);
}
