//! Tokens and rights (CONTRACT §6): the token endpoint in its three encodings, JWT
//! checks, and scopes ∩ user levels from the spec.

use serde_json::Value;

use crate::helpers::*;

async fn new_client(app: &TestApp, levels: &[&str], scopes: &[&str]) -> (String, String) {
    let identity = app.seed_identity(levels).await;
    accessd::auth::clients::provision_client(
        app.store.as_ref(),
        None,
        None,
        "test",
        Some(identity.id),
        scopes.iter().map(|s| s.to_string()).collect(),
        app.clock.now(),
    )
    .await
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    use base64_decode as b64;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64(payload)).unwrap()
}

/// Minimal base64url decoding for reading (not trusting) a JWT payload in tests.
fn base64_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[tokio::test]
async fn the_token_endpoint_accepts_form_multipart_and_query_parameters() {
    let app = TestApp::spawn().await;
    let (id, secret) = new_client(&app, &["ORG_ADMIN"], &["sp:scopes:all"]).await;
    let form = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    let multipart = app
        .http
        .post(app.url("/oauth/token"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("grant_type", "client_credentials")
                .text("client_id", id.clone())
                .text("client_secret", secret.clone()),
        )
        .send()
        .await
        .unwrap();
    let query = app
        .http
        .post(app.url(&format!(
            "/oauth/token?grant_type=client_credentials&client_id={id}&client_secret={secret}"
        )))
        .send()
        .await
        .unwrap();
    for resp in [form, multipart, query] {
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 749);
        assert_eq!(body["scope"], "sp:scopes:all");
        assert_eq!(body["org"], "demo");
        assert!(
            body["tenant_id"].is_string() && body["pod"].is_string() && body["jti"].is_string()
        );
        assert!(body["identity_id"].is_string());
        assert_eq!(body["identity_id"], body["user_id"]);
        let token = body["access_token"].as_str().unwrap();
        let header: Value =
            serde_json::from_slice(&base64_decode(token.split('.').next().unwrap())).unwrap();
        assert_eq!(header["alg"], "ES256");
        let claims = claims_of(token);
        for claim in [
            "tenant_id",
            "org",
            "pod",
            "identity_id",
            "user_name",
            "authorities",
            "scope",
            "client_id",
            "exp",
            "jti",
        ] {
            assert!(!claims[claim].is_null(), "claim {claim} in {claims}");
        }
        assert_eq!(claims["client_id"], id.as_str());
        assert!(claims["authorities"]
            .as_array()
            .unwrap()
            .contains(&Value::from("ORG_ADMIN")));
        let ok = app
            .http
            .get(app.url("/v3/access-profiles"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
}

#[tokio::test]
async fn wrong_credentials_and_grants_are_refused() {
    let app = TestApp::spawn().await;
    let (id, _) = new_client(&app, &["ORG_ADMIN"], &["sp:scopes:all"]).await;
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].is_string());
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_the_gateway_body() {
    let app = TestApp::spawn().await;
    let cases = [
        (None, "JWT is required"),
        (Some("not.a.jwt".to_string()), "JWT validation failed"),
        (Some(format!("{}x", app.token)), "JWT validation failed"),
        // alg none: header {"alg":"none","typ":"JWT"}
        (
            Some(format!(
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
                app.token.split('.').nth(1).unwrap()
            )),
            "JWT validation failed",
        ),
        // HS256 header with the original payload and signature
        (
            Some(format!(
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}",
                app.token.split_once('.').unwrap().1
            )),
            "JWT validation failed",
        ),
    ];
    for (token, expected) in cases {
        let mut req = app.http.get(app.url("/v3/access-profiles"));
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{token:?}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().starts_with(expected),
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_with_its_own_message() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
    app.clock.advance(750);
    let resp = app.get("/v3/access-profiles").await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "JWT validation failed: JWT is expired");
}

#[tokio::test]
async fn scopes_and_user_levels_both_gate_an_operation() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    // read scope only: list yes, create no
    let (reader, _) = app
        .token_for(&["ORG_ADMIN"], &["idn:access-profile:read"])
        .await;
    let resp = app
        .http
        .get(app.url("/v3/access-profiles"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .http
        .post(app.url("/v3/access-profiles"))
        .bearer_auth(&reader)
        .json(&ap_body(&f, "X"))
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    // create needs ALL listed scopes
    let (partial, _) = app
        .token_for(&["ORG_ADMIN"], &["idn:access-profile:manage"])
        .await;
    let resp = app
        .http
        .post(app.url("/v3/access-profiles"))
        .bearer_auth(&partial)
        .json(&ap_body(&f, "X"))
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    let (full, _) = app
        .token_for(
            &["ORG_ADMIN"],
            &[
                "idn:access-profile:manage",
                "idn:entitlement:read",
                "idn:identity:read",
                "idn:sources:read",
            ],
        )
        .await;
    let resp = app
        .http
        .post(app.url("/v3/access-profiles"))
        .bearer_auth(&full)
        .json(&ap_body(&f, "X"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // a plain user may not list access profiles, whatever the scopes
    let (user, _) = app.token_for(&[], &["sp:scopes:all"]).await;
    let resp = app
        .http
        .get(app.url("/beta/access-profiles"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    // ROLE_ADMIN may list but not patch (spec userLevels of patchAccessProfile)
    let (role_admin, _) = app.token_for(&["ROLE_ADMIN"], &["sp:scopes:all"]).await;
    let list: Vec<Value> = app
        .http
        .get(app.url("/v3/access-profiles"))
        .bearer_auth(&role_admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap();
    let resp = app
        .http
        .patch(app.url(&format!("/v3/access-profiles/{id}")))
        .bearer_auth(&role_admin)
        .header("Content-Type", "application/json-patch+json")
        .body(r#"[{"op":"replace","path":"/description","value":"x"}]"#)
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    let after: Value = app
        .get(&format!("/v3/access-profiles/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(after["description"], "x", "a refused write changes nothing");
}

#[tokio::test]
async fn a_user_may_read_public_identities() {
    let app = TestApp::spawn().await;
    let (user, me) = app.token_for(&[], &["sp:scopes:default"]).await;
    let resp = app
        .http
        .get(app.url("/v3/public-identities"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list: Vec<Value> = resp.json().await.unwrap();
    assert!(list.iter().any(|i| i["id"] == me.id.as_str()));
}

#[tokio::test]
async fn tokens_and_keys_survive_a_restart() {
    let app = TestApp::spawn().await;
    let token = app.token.clone();
    let app = app.restart().await;
    let resp = app
        .http
        .get(app.url("/v3/access-profiles"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "a token from before the restart still verifies"
    );
}

/// A token request sent from `local` (any 127.x address reaches the server on Linux's
/// loopback), so tests can be several peers.
async fn token_from(app: &TestApp, local: [u8; 4], id: &str, secret: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(local))
        .build()
        .expect("client")
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request")
}

/// Failed authentication is throttled per client id and per peer address (CONTRACT
/// §6): past the budget, every attempt with that client id or from that address —
/// right or wrong — is a 429 with `Retry-After` and the ISC body, until it has passed.
#[tokio::test]
async fn failed_authentication_is_throttled_per_client_id_and_per_address() {
    let app = TestApp::spawn_with_clock(accessd::domain::Clock::frozen(), |c| {
        c.gateway.auth_failure_limit = 3;
        c.gateway.auth_failure_window_secs = 60;
    })
    .await;
    let (id, secret) = new_client(&app, &["ORG_ADMIN"], &["sp:scopes:all"]).await;
    let (admin, admin_secret) = app.admin_client();
    const A: [u8; 4] = [127, 0, 0, 1];
    const B: [u8; 4] = [127, 0, 0, 2];
    const C: [u8; 4] = [127, 0, 0, 3];
    for _ in 0..3 {
        assert_eq!(token_from(&app, A, &id, "wrong").await.status(), 401);
    }
    let resp = token_from(&app, A, &id, "wrong").await;
    let retry_after: i64 = resp.headers()["Retry-After"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let text = assert_isc_error(resp, 429, "429 Too Many Requests").await;
    assert!(text.contains("failed authentications"), "{text}");
    // The right secret, from the same address or another, gets no token either.
    assert_eq!(token_from(&app, A, &id, &secret).await.status(), 429);
    assert_eq!(token_from(&app, B, &id, &secret).await.status(), 429);
    // Another client from another address is served; from the throttled one it is not.
    assert_eq!(
        token_from(&app, B, &admin, &admin_secret).await.status(),
        200
    );
    assert_eq!(
        token_from(&app, A, &admin, &admin_secret).await.status(),
        429
    );
    // Guessing across client ids is counted per address.
    for n in 0..3 {
        let guess = format!("guess-{n}");
        assert_eq!(token_from(&app, C, &guess, "wrong").await.status(), 401);
    }
    assert_eq!(token_from(&app, C, "guess-3", "wrong").await.status(), 429);
    assert_eq!(
        token_from(&app, C, &admin, &admin_secret).await.status(),
        429
    );
    // Once the wait has passed, the right secret works again.
    app.clock.advance(retry_after);
    assert_eq!(token_from(&app, A, &id, &secret).await.status(), 200);
}

/// A configured admin secret below the minimum strength stops the server at start,
/// saying why.
#[tokio::test]
async fn a_weak_configured_admin_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let mut config = test_config(&url);
    config.admin_client_id = Some("ops".into());
    config.admin_client_secret = Some("password".into());
    let error = match accessd::App::build(config, accessd::domain::Clock::system()).await {
        Ok(_) => panic!("a server started with the secret 'password'"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains("ACCESSD_ADMIN_CLIENT_SECRET")
            && error.contains("too weak: it has 8 characters; at least 16 are required"),
        "{error}"
    );
}
