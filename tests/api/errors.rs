//! Errors everywhere use the ISC body (CONTRACT §7), including the framework's own
//! rejections: malformed JSON, content type, unknown routes, methods, body size.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_is_a_400_isc_error() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(reqwest::Method::POST, "/v3/access-profiles")
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(text.contains("not valid"), "{text}");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let resp = app
        .request(reqwest::Method::POST, "/v3/access-profiles")
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let text = assert_isc_error(resp, 415, "415 Unsupported Media Type").await;
    assert!(text.contains("application/json"), "{text}");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_isc_bodies() {
    let app = TestApp::spawn().await;
    assert_isc_error(app.get("/v3/nothing-here").await, 404, "404 Not found").await;
    assert_isc_error(app.get("/").await, 404, "404 Not found").await;
    let resp = app
        .request(reqwest::Method::PUT, "/v3/access-profiles")
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 405, "405 Method Not Allowed").await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = TestApp::spawn().await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let resp = app
        .request(reqwest::Method::POST, "/v3/access-profiles")
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 413, "413 Payload Too Large").await;
}

#[tokio::test]
async fn the_locale_origin_follows_accept_language() {
    let app = TestApp::spawn().await;
    let resp = app
        .get(&format!("/v3/access-profiles/{}", "0".repeat(32)))
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["messages"][0]["localeOrigin"], "DEFAULT");
    assert_eq!(body["messages"][0]["locale"], "en-US");
    let resp = app
        .request(
            reqwest::Method::GET,
            &format!("/v3/access-profiles/{}", "0".repeat(32)),
        )
        .header("Accept-Language", "fr-FR,fr;q=0.9")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["messages"][0]["localeOrigin"], "REQUEST");
    assert_eq!(body["messages"][0]["locale"], "fr-FR");
}

#[tokio::test]
async fn health_reports_up() {
    let app = TestApp::spawn().await;
    // no token: health is for load balancers and probes
    let resp = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "UP");
}

/// The texts of every message of an ISC 400 `400.1 Bad Request Content` body.
async fn problem_texts(resp: reqwest::Response) -> Vec<String> {
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("an ISC JSON error body");
    assert_eq!(body["detailCode"], "400.1 Bad Request Content", "{body}");
    assert!(body["causes"].is_array(), "{body}");
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            assert_eq!(m["localeOrigin"], "DEFAULT", "{m}");
            m["text"].as_str().expect("text").to_string()
        })
        .collect()
}

/// How many items `path` lists.
async fn listed(app: &TestApp, path: &str) -> usize {
    app.get_json(path).await.as_array().expect("a list").len()
}

#[tokio::test]
async fn a_create_with_three_problems_answers_all_three_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let owner = &f.owner.id;
    let too_long = "d".repeat(2001);
    let cases = [
        (
            "/v3/access-profiles",
            json!({
                "name": "",
                "owner": {"type": "SOURCE", "id": owner},
                "entitlements": [{"type": "ENTITLEMENT", "id": f.entitlements[0]}],
                "enabled": true,
            }),
            vec![
                "name is required and can't be empty.",
                "owner.type must be 'IDENTITY', not 'SOURCE'.",
                "source is required.",
            ],
            "/v3/access-profiles",
        ),
        (
            "/v3/roles",
            json!({
                "name": "A role",
                "description": too_long,
                "accessProfiles": [{"type": "ENTITLEMENT", "id": "x"}],
                "membership": [],
            }),
            vec![
                "description must be at most 2000 characters.",
                "owner is required.",
                "accessProfiles[0].type must be 'ACCESS_PROFILE', not 'ENTITLEMENT'.",
                "membership must be an object.",
            ],
            "/v3/roles",
        ),
        (
            "/v3/segments",
            json!({
                "name": " ",
                "owner": {"type": "GOVERNANCE_GROUP"},
                "visibilityCriteria": {"nope": 1},
            }),
            vec![
                "name is required and can't be empty.",
                "owner.type must be 'IDENTITY', not 'GOVERNANCE_GROUP'.",
                "owner.id is required.",
                "visibilityCriteria.nope is not a field of VisibilityCriteria.",
            ],
            "/v3/segments",
        ),
        (
            "/beta/source-apps",
            json!({
                "name": "",
                "description": "",
                "accountSource": {"type": "IDENTITY", "id": f.source.id},
            }),
            vec![
                "name is required and can't be empty.",
                "description is required and can't be empty.",
                "accountSource.type must be 'SOURCE', not 'IDENTITY'.",
            ],
            "/beta/source-apps/all",
        ),
    ];
    for (path, body, expected, list) in cases {
        let before = listed(&app, list).await;
        let texts = problem_texts(app.post(path, &body).await).await;
        assert_eq!(texts, expected, "{path}");
        assert_eq!(listed(&app, list).await, before, "{path}: nothing created");
    }
}

#[tokio::test]
async fn a_patch_with_several_problems_answers_them_all_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Patched"))
        .await;
    let path = format!("/v3/access-profiles/{}", ap["id"].as_str().unwrap());
    let ops = json!([
        {"op": "replace", "path": "/name", "value": ""},
        {"op": "replace", "path": "/description", "value": "d".repeat(2001)},
        {"op": "replace", "path": "/entitlements", "value": []},
        {"op": "replace", "path": "/accessRequestConfig", "value": {"approvalSchemes": [{"approverType": "X"}]}},
    ]);
    let texts = problem_texts(app.patch(&path, &ops).await).await;
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert_eq!(texts[0], "name is required and can't be empty.");
    assert_eq!(texts[1], "description must be at most 2000 characters.");
    assert_eq!(
        texts[2],
        "An enabled access profile must include at least one entitlement."
    );
    assert!(
        texts[3].starts_with("accessRequestConfig.approvalSchemes[0].approverType must be one of "),
        "{texts:?}"
    );
    assert_eq!(app.get_json(&path).await, ap, "unchanged");
}

#[tokio::test]
async fn a_mistyped_nested_field_is_named_by_its_path() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut owner_id_number = ap_body(&f, "Typed");
    owner_id_number["owner"]["id"] = json!(5);
    let mut entitlement_as_text = ap_body(&f, "Typed");
    entitlement_as_text["entitlements"][0] = json!("e1");
    let mut enabled_as_text = ap_body(&f, "Typed");
    enabled_as_text["enabled"] = json!("yes");
    for (body, expected) in [
        (
            owner_id_number,
            "The request body is not valid: owner.id: invalid type: integer `5`, expected a string",
        ),
        (
            entitlement_as_text,
            "The request body is not valid: entitlements[0]: invalid type: string \"e1\", expected struct RefInput",
        ),
        (
            enabled_as_text,
            "The request body is not valid: enabled: invalid type: string \"yes\", expected a boolean",
        ),
    ] {
        let texts = problem_texts(app.post("/v3/access-profiles", &body).await).await;
        assert_eq!(texts, [expected]);
    }
    // A patch that leaves a field of the wrong type names it too.
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Kept"))
        .await;
    let path = format!("/v3/access-profiles/{}", ap["id"].as_str().unwrap());
    let ops = json!([{"op": "replace", "path": "/owner/id", "value": 7}]);
    let texts = problem_texts(app.patch(&path, &ops).await).await;
    assert_eq!(
        texts,
        ["The patched access profile is invalid: owner.id: invalid type: integer `7`, expected a string"]
    );
    assert_eq!(listed(&app, "/v3/access-profiles").await, 1, "only the one");
    // A syntax error keeps its position: there is no field to name.
    let resp = app
        .request(reqwest::Method::POST, "/v3/access-profiles")
        .header("Content-Type", "application/json")
        .body(r#"{"name": "x", "owner": {"id": }"#)
        .send()
        .await
        .unwrap();
    let texts = problem_texts(resp).await;
    assert!(
        texts[0].starts_with(
            "The request body is not valid: owner.id: expected value at line 1 column"
        ),
        "{texts:?}"
    );
}
