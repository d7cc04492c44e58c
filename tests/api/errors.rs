//! Errors everywhere use the ISC body (CONTRACT §7), including the framework's own
//! rejections: malformed JSON, content type, unknown routes, methods, body size.

use serde_json::Value;

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
