//! Lengths and duplicate keys (CONTRACT §7): every name is at most 128 characters (the
//! spec's `maxLength` of a role's name, the one it states) and every description at
//! most 2000 (ISC's "The maximum supported length for the description field is 2000
//! characters"), whichever resource and whichever write carries it, with one message;
//! and a JSON body holding a key twice, at any depth, is refused rather than read with
//! the last one winning.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const NAME_TOO_LONG: &str = "name must be at most 128 characters.";
const DESCRIPTION_TOO_LONG: &str = "description must be at most 2000 characters.";

/// One write of a name or description: method, path, and the body with `text` where
/// the field goes (`field` is `name` or `description`).
struct Write {
    what: &'static str,
    method: Method,
    path: String,
    body: fn(&Ctx, &str, &str) -> Value,
}

/// The objects the writes refer to.
struct Ctx {
    f: Fixture,
    profile: String,
    role: String,
    segment: String,
    identity_profile: String,
    state: String,
    source_app: String,
}

async fn send(app: &TestApp, method: Method, path: &str, body: &Value) -> reqwest::Response {
    let content_type = if method == Method::PATCH {
        "application/json-patch+json"
    } else {
        "application/json"
    };
    app.request(method, path)
        .header("Content-Type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("request")
}

async fn created(app: &TestApp, path: &str, body: &Value) -> Value {
    let resp = send(app, Method::POST, path, body).await;
    let status = resp.status().as_u16();
    let json: Value = resp.json().await.expect("json");
    assert!(status == 200 || status == 201, "{path}: {status} {json}");
    json
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn context(app: &TestApp) -> Ctx {
    let f = app.fixture().await;
    let profile = id(&app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Limits AP"))
        .await);
    let role = id(&app
        .create_role(
            "/v3/roles",
            &role_body("Limits role", &f.owner.id, &[&profile]),
        )
        .await);
    let segment = id(&created(app, "/v3/segments", &json!({"name": "Limits segment"})).await);
    let identity_profile = app.seed_identity_profile("Limits profile").await.id;
    let state = id(&created(
        app,
        &format!("/v3/identity-profiles/{identity_profile}/lifecycle-states"),
        &json!({"name": "Limits state", "technicalName": "limits", "enabled": true}),
    )
    .await);
    let source_app = id(&created(
        app,
        "/beta/source-apps",
        &json!({"name": "Limits app", "description": "d", "accountSource": {"id": f.source.id}}),
    )
    .await);
    Ctx {
        f,
        profile,
        role,
        segment,
        identity_profile,
        state,
        source_app,
    }
}

fn replace(field: &str, text: &str) -> Value {
    json!([{"op": "replace", "path": format!("/{field}"), "value": text}])
}

fn with(mut body: Value, field: &str, text: &str) -> Value {
    body[field] = json!(text);
    body
}

fn writes(c: &Ctx) -> Vec<Write> {
    vec![
        Write {
            what: "createAccessProfile",
            method: Method::POST,
            path: "/v3/access-profiles".into(),
            body: |c, field, text| with(ap_body(&c.f, "AP two"), field, text),
        },
        Write {
            what: "patchAccessProfile",
            method: Method::PATCH,
            path: format!("/v3/access-profiles/{}", c.profile),
            body: |_, field, text| replace(field, text),
        },
        Write {
            what: "createRole",
            method: Method::POST,
            path: "/v3/roles".into(),
            body: |c, field, text| {
                with(
                    role_body("Role two", &c.f.owner.id, &[&c.profile]),
                    field,
                    text,
                )
            },
        },
        Write {
            what: "patchRole",
            method: Method::PATCH,
            path: format!("/v3/roles/{}", c.role),
            body: |_, field, text| replace(field, text),
        },
        Write {
            what: "createSegment",
            method: Method::POST,
            path: "/v3/segments".into(),
            body: |_, field, text| with(json!({"name": "Segment two"}), field, text),
        },
        Write {
            what: "patchSegment",
            method: Method::PATCH,
            path: format!("/v3/segments/{}", c.segment),
            body: |_, field, text| replace(field, text),
        },
        Write {
            what: "createLifecycleState",
            method: Method::POST,
            path: format!(
                "/v3/identity-profiles/{}/lifecycle-states",
                c.identity_profile
            ),
            body: |_, field, text| {
                // Technical names are unique per identity profile: one per field.
                with(
                    json!({"name": "State two", "technicalName": format!("two-{field}"),
                           "enabled": true}),
                    field,
                    text,
                )
            },
        },
        Write {
            what: "updateLifecycleStates",
            method: Method::PATCH,
            path: format!(
                "/v3/identity-profiles/{}/lifecycle-states/{}",
                c.identity_profile, c.state
            ),
            body: |_, field, text| replace(field, text),
        },
        Write {
            what: "createSourceApp",
            method: Method::POST,
            path: "/beta/source-apps".into(),
            body: |c, field, text| {
                with(
                    json!({"name": "App two", "description": "d",
                           "accountSource": {"id": c.f.source.id}}),
                    field,
                    text,
                )
            },
        },
        Write {
            what: "patchSourceApp",
            method: Method::PATCH,
            path: format!("/beta/source-apps/{}", c.source_app),
            body: |_, field, text| replace(field, text),
        },
        Write {
            what: "createWorkgroup",
            method: Method::POST,
            path: "/beta/workgroups".into(),
            body: |c, field, text| {
                with(
                    json!({"name": "Group two", "owner": {"id": c.f.owner.id}}),
                    field,
                    text,
                )
            },
        },
        Write {
            what: "createSource",
            method: Method::POST,
            path: "/v3/sources".into(),
            body: |c, field, text| {
                with(
                    json!({"name": "Source two", "connector": "ldap",
                           "owner": {"type": "IDENTITY", "id": c.f.owner.id}}),
                    field,
                    text,
                )
            },
        },
    ]
}

/// Lifecycle states name only a description among the fields a patch may change;
/// which writes carry which field.
fn carries(what: &str, field: &str) -> bool {
    !(field == "name" && what == "updateLifecycleStates")
}

#[tokio::test]
async fn every_name_and_description_over_its_limit_is_refused_with_one_message() {
    let app = TestApp::spawn().await;
    let c = context(&app).await;
    for (field, limit, message) in [
        ("name", 128, NAME_TOO_LONG),
        ("description", 2000, DESCRIPTION_TOO_LONG),
    ] {
        for write in writes(&c).iter().filter(|w| carries(w.what, field)) {
            for too_long in ["x".repeat(limit + 1), "é".repeat(200_000)] {
                let body = (write.body)(&c, field, &too_long);
                let resp = send(&app, write.method.clone(), &write.path, &body).await;
                assert_eq!(
                    resp.status(),
                    400,
                    "{} with a {}-character {field}",
                    write.what,
                    too_long.chars().count()
                );
                let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
                assert!(
                    text.contains(message),
                    "{} with a {}-character {field}: {text}",
                    write.what,
                    too_long.chars().count()
                );
            }
        }
    }
    // Nothing was changed, and at the limit each write succeeds.
    for field in ["name", "description"] {
        for write in writes(&c).iter().filter(|w| carries(w.what, field)) {
            let limit = if field == "name" { 128 } else { 2000 };
            // Distinct per write, so creates do not collide on unique names.
            let text = format!("{:é<limit$}", write.what);
            let body = (write.body)(&c, field, &text);
            let resp = send(&app, write.method.clone(), &write.path, &body).await;
            let status = resp.status().as_u16();
            let json: Value = resp.json().await.expect("json");
            assert!(
                (200..300).contains(&status),
                "{} with a {limit}-character {field}: {status} {json}",
                write.what
            );
        }
    }
}

/// A JSON body is written by hand here: no JSON library writes a key twice.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    app.request(method, path)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_json_body_holding_a_key_twice_is_a_400_at_any_depth_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = context(&app).await;
    let owner = &c.f.owner.id;
    let source = &c.f.source.id;
    let entitlement = &c.f.entitlements[0];
    let profile = format!("/v3/access-profiles/{}", c.profile);
    let patch = "application/json-patch+json";
    let cases = [
        (
            "a top-level key",
            Method::POST,
            "/v3/access-profiles".to_string(),
            "application/json",
            format!(
                r#"{{"name": "Dup A", "name": "Dup B", "owner": {{"type": "IDENTITY", "id": "{owner}"}},
                   "source": {{"type": "SOURCE", "id": "{source}"}},
                   "entitlements": [{{"type": "ENTITLEMENT", "id": "{entitlement}"}}],
                   "enabled": true, "requestable": true}}"#
            ),
        ),
        (
            "a nested key",
            Method::POST,
            "/v3/access-profiles".to_string(),
            "application/json",
            format!(
                r#"{{"name": "Dup C", "owner": {{"type": "IDENTITY", "id": "{owner}", "id": "{owner}"}},
                   "source": {{"type": "SOURCE", "id": "{source}"}},
                   "entitlements": [{{"type": "ENTITLEMENT", "id": "{entitlement}"}}],
                   "enabled": true, "requestable": true}}"#
            ),
        ),
        (
            "the value of a patch operation",
            Method::PATCH,
            profile.clone(),
            patch,
            r#"[{"op": "replace", "path": "/description", "value": "one", "value": "two"}]"#
                .to_string(),
        ),
        (
            "the op of a patch operation",
            Method::PATCH,
            profile.clone(),
            patch,
            r#"[{"op": "test", "op": "replace", "path": "/description", "value": "x"}]"#
                .to_string(),
        ),
        (
            "a key inside a patch value",
            Method::PATCH,
            format!("/v3/segments/{}", c.segment),
            patch,
            r#"[{"op": "replace", "path": "/visibilityCriteria", "value": {"expression":
                {"operator": "EQUALS", "attribute": "location", "attribute": "department",
                 "value": {"type": "STRING", "value": "Austin"}}}}]"#
                .to_string(),
        ),
        (
            "a bulk delete",
            Method::POST,
            "/v3/access-profiles/bulk-delete".to_string(),
            "application/json",
            format!(
                r#"{{"accessProfileIds": ["{}"], "bestEffortOnly": false, "bestEffortOnly": true}}"#,
                c.profile
            ),
        ),
    ];
    for (what, method, path, content_type, body) in cases {
        let resp = raw(&app, method, &path, content_type, body).await;
        assert_eq!(resp.status(), 400, "{what}");
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("duplicate key"), "{what}: {text}");
    }
    // Nothing was created or changed.
    let list = app
        .get_json("/v3/access-profiles?filters=name%20sw%20%22Dup%22")
        .await;
    assert_eq!(list, json!([]));
    let ap = app.get_json(&profile).await;
    assert_eq!(ap["description"], "Limits AP description");
    // The same key in two different objects is no duplicate.
    let resp = raw(
        &app,
        Method::PATCH,
        &profile,
        patch,
        r#"[{"op": "replace", "path": "/description", "value": "one"},
            {"op": "replace", "path": "/description", "value": "two"}]"#
            .to_string(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.get_json(&profile).await["description"], "two");
}
