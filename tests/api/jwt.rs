//! Token forgery and key rotation (CONTRACT §6): only ES256 tokens signed by one of
//! this tenant's current keys, for this tenant, are accepted; everything else is a 401
//! with the gateway's `{"error": ...}` body (CONTRACT §6).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

use crate::helpers::*;

/// The claims of a token, read without checking it.
fn claims_of(token: &str) -> Value {
    let mut validation = Validation::new(Algorithm::ES256);
    validation.insecure_disable_signature_validation();
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(&[]), &validation)
        .expect("a JWT")
        .claims
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("a JWT header")
        .kid
        .expect("kid")
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// GET a protected resource with `token` and return the 401 message, asserting the
/// status and that the body is exactly `{"error": <string>}`.
async fn refused(app: &TestApp, token: &str) -> String {
    let resp = app
        .http
        .get(app.url("/v3/access-profiles"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "token {token}");
    let body: Value = resp.json().await.unwrap();
    let object = body.as_object().expect("a JSON object");
    assert_eq!(object.len(), 1, "{body}");
    body["error"].as_str().expect("error text").to_string()
}

async fn accepted(app: &TestApp, token: &str) -> bool {
    let resp = app
        .http
        .get(app.url("/v3/access-profiles"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    resp.status() == 200
}

/// The newest (signing) key of `app`, as stored.
async fn signing_key(app: &TestApp) -> accessd::store::SigningKeyRow {
    app.store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("a signing key")
}

/// `claims` signed with `app`'s own ES256 private key: a token only the server (or a
/// thief of its key) could make.
async fn sign_es256(app: &TestApp, claims: &Value) -> String {
    let key = signing_key(app).await;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(key.private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn only_es256_tokens_of_this_tenants_keys_for_this_tenant_are_accepted() {
    let app = TestApp::spawn().await;
    let claims = claims_of(&app.token);
    let key = signing_key(&app).await;

    // The way forgeries are made below does produce tokens the server accepts.
    let mut fresh = claims.clone();
    fresh["jti"] = json!("forged-but-properly-signed");
    assert!(accepted(&app, &sign_es256(&app, &fresh).await).await);

    // alg none, with the real key id and claims, and no signature.
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT", "kid": key.kid})
            .to_string()
            .as_bytes()),
        app.token.split('.').nth(1).unwrap()
    );
    // HS256 with the public key's PEM as the HMAC secret (algorithm confusion).
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(key.kid.clone());
    let confused = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &EncodingKey::from_secret(key.public_pem.as_bytes()),
    )
    .unwrap();
    // Signed with this tenant's key, but issued for another tenant.
    let mut elsewhere = claims.clone();
    elsewhere["tenant_id"] = json!("another-tenant");
    let other_tenant_claim = sign_es256(&app, &elsewhere).await;
    // A genuine token of another accessd (another tenant, another key).
    let other = TestApp::spawn().await;
    let foreign = other.token.clone();
    assert!(accepted(&other, &foreign).await);

    for (what, token, message) in [
        ("alg none", none, "JWT validation failed: JWT is malformed"),
        (
            "HS256 with the public key",
            confused,
            "JWT validation failed: JWT algorithm is not accepted",
        ),
        (
            "another tenant's claim",
            other_tenant_claim,
            "JWT validation failed: JWT was not issued for this tenant",
        ),
        (
            "another tenant's token",
            foreign,
            "JWT validation failed: JWT was not signed by this tenant",
        ),
    ] {
        assert_eq!(refused(&app, &token).await, message, "{what}");
    }
}

#[tokio::test]
async fn a_key_retired_with_rotate_key_is_refused_and_its_successor_signs() {
    let mut app = TestApp::spawn().await;
    let old = app.token.clone();
    // Offline: under the full parallel suite on a cold run, the command has met
    // "database is locked" next to a running test server (a CLI write beside a live
    // SQLite server is not proven safe); the retirement itself is what this test is
    // about.
    app.stop().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args([
            "rotate-key",
            "--database-url",
            &app.database_url,
            "--retire-old",
        ])
        .output()
        .expect("accessd rotate-key runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("retired 1 older key"), "{stdout}");
    // Running instances pick the change up on their next reload; a (re)start loads it.
    let app = app.restart().await;
    assert_ne!(
        kid_of(&app.token),
        kid_of(&old),
        "new tokens use the new key"
    );
    assert!(accepted(&app, &app.token).await);
    assert_eq!(
        refused(&app, &old).await,
        "JWT validation failed: JWT was not signed by this tenant"
    );
}

#[tokio::test]
async fn after_a_rotation_older_keys_verify_only_for_a_token_lifetime() {
    let app = TestApp::spawn().await;
    let first_kid = kid_of(&app.token);
    accessd::auth::keys::rotate(app.store.as_ref(), &app.clock, false)
        .await
        .unwrap();
    // An instance that has not reloaded yet still signs with the old key.
    app.clock.advance(100);
    let (id, secret) = app.admin_client();
    let stale = app.fetch_token(&id, &secret).await;
    assert_eq!(kid_of(&stale), first_kid);
    let app = app.restart().await;
    assert_ne!(kid_of(&app.token), first_kid, "the new key signs");
    assert!(accepted(&app, &stale).await, "within the grace period");
    // Grace: token lifetime (749 s) + the reload period (60 s) after the rotation.
    // The stale token itself would live until 849 s.
    app.clock.advance(710);
    assert_eq!(
        refused(&app, &stale).await,
        "JWT validation failed: JWT was signed with a retired key"
    );
    assert!(accepted(&app, &app.token).await);
}

/// `rotate-key --retire-old` run beside two running instances of one database: from
/// then on, neither signs with the retired key — without waiting for its periodic
/// reload — and each accepts the other's new tokens, while the retired key's tokens
/// are refused by the instance that saw the retirement.
#[tokio::test]
async fn no_instance_signs_with_a_key_retired_while_it_runs() {
    let first = TestApp::spawn().await;
    let second = TestApp::start(
        test_config(&first.database_url),
        first.dir.clone(),
        first.clock.clone(),
    )
    .await;
    // The second start renewed the start-up client's secret; both serve that client.
    let (id, secret) = second.admin_client();
    let before = [
        first.fetch_token(&id, &secret).await,
        second.fetch_token(&id, &secret).await,
    ];
    let old_kid = kid_of(&before[0]);
    assert_eq!(kid_of(&before[1]), old_kid, "one key signs on both");
    for app in [&first, &second] {
        for token in &before {
            assert!(accepted(app, token).await);
        }
    }
    // What the command does, written to the shared database by neither instance.
    let (new_kid, retired) = accessd::auth::keys::rotate(first.store.as_ref(), &first.clock, true)
        .await
        .expect("rotation");
    assert_eq!(retired, 1);
    let after = [
        first.fetch_token(&id, &secret).await,
        second.fetch_token(&id, &secret).await,
    ];
    for (i, token) in after.iter().enumerate() {
        assert_eq!(
            kid_of(token),
            new_kid,
            "instance {i} signs with the new key"
        );
        for app in [&first, &second] {
            assert!(accepted(app, token).await, "a token of instance {i}");
        }
    }
    for app in [&first, &second] {
        assert_eq!(
            refused(app, &before[0]).await,
            "JWT validation failed: JWT was not signed by this tenant"
        );
    }
}
