//! Segments (`/v3/segments`): CRUD, every 4xx, rights; a profile's `segments`; and
//! `for-segment-ids` / `include-unsegmented` on the access-profile list of every family.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use accessd::domain::{new_id, Clock};
use accessd::Config;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::helpers::*;

const SEGMENTS: &str = "/v3/segments";

fn location(city: &str) -> Value {
    json!({"expression": {"operator": "EQUALS", "attribute": "location",
                          "value": {"type": "STRING", "value": city}}})
}

/// Creates a segment, asserting 201.
async fn create_segment(app: &TestApp, body: &Value) -> Value {
    let resp = app.post(SEGMENTS, body).await;
    let status = resp.status();
    let json: Value = resp.json().await.expect("json");
    assert_eq!(status, 201, "create segment failed: {json}");
    json
}

async fn segment_named(app: &TestApp, name: &str) -> String {
    let created = create_segment(app, &json!({"name": name})).await;
    created["id"].as_str().expect("id").to_string()
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v["name"].as_str().expect("name"))
        .collect()
}

/// A 200 list with its `X-Total-Count` (when asked for).
async fn list_with_total(app: &TestApp, path: &str) -> (Value, Option<String>) {
    let resp = app.get(path).await;
    let status = resp.status();
    let total = resp
        .headers()
        .get("X-Total-Count")
        .map(|v| v.to_str().expect("header").to_string());
    let body: Value = resp.json().await.expect("json");
    assert_eq!(status, 200, "GET {path}: {body}");
    (body, total)
}

async fn send(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = app
        .http
        .request(method.clone(), app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = if method == Method::PATCH {
            req.header("Content-Type", "application/json-patch+json")
                .body(b.to_string())
        } else {
            req.json(b)
        };
    }
    req.send().await.expect("request")
}

// ------------------------------------------------------------------ segments CRUD

#[tokio::test]
async fn a_segment_is_created_read_listed_patched_and_deleted() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let body = json!({
        "name": "Austin office",
        "description": "People in Austin",
        "owner": {"type": "IDENTITY", "id": owner.id, "name": owner.name},
        "visibilityCriteria": location("Austin"),
        "active": true,
    });
    let created = create_segment(&app, &body).await;
    let sid = id(&created).to_string();
    assert_eq!(sid.len(), 32);
    assert!(accessd::domain::is_object_id(&sid), "{sid}");
    assert_eq!(
        created,
        json!({
            "id": sid,
            "name": "Austin office",
            "created": created["created"],
            "modified": created["created"],
            "description": "People in Austin",
            "owner": {"type": "IDENTITY", "id": owner.id, "name": owner.name},
            "visibilityCriteria": {"expression": {"operator": "EQUALS", "attribute": "location",
                "value": {"type": "STRING", "value": "Austin"}, "children": null}},
            "active": true,
        })
    );
    assert!(created["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(app.get_json(&format!("{SEGMENTS}/{sid}")).await, created);

    // a bare segment: inactive, no owner, no criteria
    let bare = create_segment(
        &app,
        &json!({"name": "Bare", "description": null, "owner": null,
                                            "visibilityCriteria": null, "active": null}),
    )
    .await;
    assert_eq!(bare["active"], false);
    assert_eq!(bare["owner"], Value::Null);
    assert_eq!(bare["description"], Value::Null);
    assert_eq!(bare["visibilityCriteria"], Value::Null);
    let third = segment_named(&app, "Third").await;

    // oldest first; limit, offset and count
    let (all, total) = list_with_total(&app, &format!("{SEGMENTS}?count=true")).await;
    assert_eq!(names(&all), ["Austin office", "Bare", "Third"]);
    assert_eq!(total.as_deref(), Some("3"));
    assert_eq!(all[0], created);
    let (page, total) =
        list_with_total(&app, &format!("{SEGMENTS}?limit=1&offset=1&count=true")).await;
    assert_eq!(names(&page), ["Bare"]);
    assert_eq!(total.as_deref(), Some("3"));
    let (none, total) = list_with_total(&app, &format!("{SEGMENTS}?limit=0")).await;
    assert_eq!(none, json!([]));
    assert_eq!(total, None, "no count asked for");

    // patch every patchable field
    app.clock.advance(5);
    let other = app.seed_identity(&[]).await;
    let and = json!({"expression": {"operator": "AND", "children": [
        {"operator": "EQUALS", "attribute": "location", "value": {"type": "STRING", "value": "Philadelphia"}},
        {"operator": "EQUALS", "attribute": "department", "value": {"type": "STRING", "value": "HR"}},
    ]}});
    let ops = json!([
        {"op": "replace", "path": "/name", "value": "Philadelphia HR"},
        {"op": "remove", "path": "/description"},
        {"op": "replace", "path": "/owner/id", "value": other.id},
        {"op": "replace", "path": "/visibilityCriteria", "value": and},
        {"op": "replace", "path": "/active", "value": false},
    ]);
    let resp = app.patch(&format!("{SEGMENTS}/{sid}"), &ops).await;
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(patched["name"], "Philadelphia HR");
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(
        patched["owner"],
        json!({"type": "IDENTITY", "id": other.id, "name": other.name})
    );
    assert_eq!(
        patched["visibilityCriteria"]["expression"]["children"][1],
        json!({"operator": "EQUALS", "attribute": "department",
               "value": {"type": "STRING", "value": "HR"}, "children": null})
    );
    assert_eq!(patched["active"], false);
    assert_eq!(patched["created"], created["created"]);
    assert!(patched["modified"].as_str() > created["modified"].as_str());
    assert_eq!(app.get_json(&format!("{SEGMENTS}/{sid}")).await, patched);
    // the owner can be dropped
    let resp = app
        .patch(
            &format!("{SEGMENTS}/{sid}"),
            &json!([{"op": "replace", "path": "/owner", "value": null}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["owner"], Value::Null);

    // delete: 204, then gone
    let resp = app.delete(&format!("{SEGMENTS}/{sid}")).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().await.unwrap().is_empty());
    assert_isc_error(
        app.get(&format!("{SEGMENTS}/{sid}")).await,
        404,
        "404 Not found",
    )
    .await;
    assert_isc_error(
        app.delete(&format!("{SEGMENTS}/{sid}")).await,
        404,
        "404 Not found",
    )
    .await;
    let (left, _) = list_with_total(&app, SEGMENTS).await;
    assert_eq!(names(&left), ["Bare", "Third"]);
    assert_eq!(left[1]["id"], third.as_str());
}

#[tokio::test]
async fn segment_writes_that_break_a_rule_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let good = json!({"name": "Kept", "owner": {"id": owner.id}, "visibilityCriteria": location("Austin")});
    let kept = create_segment(&app, &good).await;
    let path = format!("{SEGMENTS}/{}", id(&kept));

    let with = |field: &str, value: Value| {
        let mut b = json!({"name": "New"});
        b[field] = value;
        b
    };
    let cases = [
        (json!({}), "name is required"),
        (json!({"name": " "}), "name is required"),
        (
            with("owner", json!({"id": "1".repeat(32)})),
            "is not an existing identity",
        ),
        (
            with("owner", json!({"type": "GOVERNANCE_GROUP", "id": owner.id})),
            "owner.type must be 'IDENTITY'",
        ),
        (
            with("owner", json!({"type": "IDENTITY"})),
            "owner.id is required",
        ),
        (
            with("owner", json!({"id": owner.id, "name": "Someone Else"})),
            "does not match",
        ),
        (with("active", json!("true")), "expected a boolean"),
        (with("name", json!(7)), "expected a string"),
        (
            with("visibilityCriteria", json!("Austin")),
            "visibilityCriteria must be an object",
        ),
        (
            with(
                "visibilityCriteria",
                json!({"expression": {"operator": "OR"}}),
            ),
            "operator must be one of AND, EQUALS",
        ),
        (
            with(
                "visibilityCriteria",
                json!({"expression": {"operator": "EQUALS", "attribute": "location"}}),
            ),
            "visibilityCriteria.expression.value is required",
        ),
        (
            with(
                "visibilityCriteria",
                json!({"expression": {"operator": "AND", "children": []}}),
            ),
            "children must be a non-empty list",
        ),
    ];
    for (body, expected) in cases {
        let text = assert_isc_error(
            app.post(SEGMENTS, &body).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(
            text.contains(expected),
            "{body}: '{text}' should contain '{expected}'"
        );
    }
    // not JSON, not a JSON object, wrong content type
    let resp = app
        .request(Method::POST, SEGMENTS)
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert_isc_error(
        app.post(SEGMENTS, &json!(["x"])).await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    let resp = app
        .request(Method::POST, SEGMENTS)
        .header("Content-Type", "text/plain")
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 415, "415 Unsupported Media Type").await;

    // patches: read-only or unknown fields, broken rules, malformed patches
    for (ops, expected) in [
        (
            json!([{"op": "replace", "path": "/id", "value": "x"}]),
            "not patchable",
        ),
        (
            json!([{"op": "replace", "path": "/created", "value": "2020-01-01T00:00:00Z"}]),
            "not patchable",
        ),
        (
            json!([{"op": "replace", "path": "/name", "value": ""}]),
            "name is required",
        ),
        (
            json!([{"op": "replace", "path": "/owner/id", "value": "2".repeat(32)}]),
            "is not an existing identity",
        ),
        (
            json!([{"op": "replace", "path": "/owner/name", "value": "Nobody"}]),
            "does not match",
        ),
        (
            json!([{"op": "replace", "path": "/visibilityCriteria/expression/operator", "value": "AND"}]),
            "attribute must be null",
        ),
        (
            json!([{"op": "replace", "path": "/active", "value": 1}]),
            "The patched segment is invalid",
        ),
        (
            json!([{"op": "remove", "path": "/visibilityCriteria/missing"}]),
            "could not be applied",
        ),
        (json!([]), "at least one operation"),
        (json!({"op": "replace"}), "request body is not valid"),
    ] {
        let text = assert_isc_error(
            app.patch(&path, &ops).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(
            text.contains(expected),
            "{ops}: '{text}' should contain '{expected}'"
        );
    }
    assert_eq!(
        app.get_json(&path).await,
        kept,
        "refused patches change nothing"
    );

    // list parameters: listSegments documents limit, offset and count only
    for (query, mention) in [
        ("limit=251", "limit"),
        ("limit=-1", "limit"),
        ("offset=-1", "offset"),
        ("count=yes", "count"),
        ("filters=name%20eq%20%22Kept%22", "filters"),
        ("sorters=name", "sorters"),
    ] {
        let text = assert_isc_error(
            app.get(&format!("{SEGMENTS}?{query}")).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(
            text.contains(mention),
            "{query}: '{text}' should mention '{mention}'"
        );
    }

    // unknown ids
    let unknown = format!("{SEGMENTS}/{}", "9".repeat(32));
    assert_isc_error(app.get(&unknown).await, 404, "404 Not found").await;
    let resp = app
        .patch(
            &unknown,
            &json!([{"op": "replace", "path": "/name", "value": "x"}]),
        )
        .await;
    assert_isc_error(resp, 404, "404 Not found").await;
    assert_isc_error(app.delete(&unknown).await, 404, "404 Not found").await;
    // no other method on the collection
    let resp = app.request(Method::DELETE, SEGMENTS).send().await.unwrap();
    assert_isc_error(resp, 405, "405 Method Not Allowed").await;

    let (all, _) = list_with_total(&app, SEGMENTS).await;
    assert_eq!(all, json!([kept]), "nothing else was stored");
}

#[tokio::test]
async fn only_org_admins_and_api_clients_may_use_segments() {
    let app = TestApp::spawn().await;
    let kept = create_segment(&app, &json!({"name": "Guarded"})).await;
    let path = format!("{SEGMENTS}/{}", id(&kept));
    let rename = json!([{"op": "replace", "path": "/name", "value": "Renamed"}]);
    let every_operation = [
        (Method::GET, SEGMENTS.to_string(), None),
        (
            Method::POST,
            SEGMENTS.to_string(),
            Some(json!({"name": "Intruder"})),
        ),
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(rename.clone())),
        (Method::DELETE, path.clone(), None),
    ];
    // user levels other than ORG_ADMIN, with every scope
    for level in ["SOURCE_ADMIN", "ROLE_ADMIN", "HELPDESK"] {
        let (token, _) = app.token_for(&[level], &["sp:scopes:all"]).await;
        for (method, p, body) in &every_operation {
            let resp = send(&app, &token, method.clone(), p, body.as_ref()).await;
            assert_isc_error(resp, 403, "403 Forbidden").await;
        }
    }
    let (user, _) = app.token_for(&[], &["sp:scopes:all"]).await;
    for (method, p, body) in &every_operation {
        let resp = send(&app, &user, method.clone(), p, body.as_ref()).await;
        assert_isc_error(resp, 403, "403 Forbidden").await;
    }
    // no token at all
    let resp = app.http.get(app.url(SEGMENTS)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    // an ORG_ADMIN with the read scope reads but does not write
    let (reader, _) = app.token_for(&["ORG_ADMIN"], &["idn:segment:read"]).await;
    assert_eq!(
        send(&app, &reader, Method::GET, SEGMENTS, None)
            .await
            .status(),
        200
    );
    assert_eq!(
        send(&app, &reader, Method::GET, &path, None).await.status(),
        200
    );
    for (method, p, body) in &every_operation[1..] {
        if *method == Method::GET {
            continue;
        }
        let resp = send(&app, &reader, method.clone(), p, body.as_ref()).await;
        assert_isc_error(resp, 403, "403 Forbidden").await;
    }
    // an ORG_ADMIN whose client has no segment scope
    let (no_scope, _) = app
        .token_for(&["ORG_ADMIN"], &["idn:access-profile:read"])
        .await;
    assert_isc_error(
        send(&app, &no_scope, Method::GET, SEGMENTS, None).await,
        403,
        "403 Forbidden",
    )
    .await;
    assert_eq!(
        app.get_json(&path).await,
        kept,
        "refused writes changed nothing"
    );
    let (all, _) = list_with_total(&app, SEGMENTS).await;
    assert_eq!(names(&all), ["Guarded"]);

    // the spec lists applicationAuth: an API client with the manage scope may write
    let api = app.api_client_token(&["idn:segment:manage"]).await;
    let resp = send(
        &app,
        &api,
        Method::POST,
        SEGMENTS,
        Some(&json!({"name": "By API"})),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let resp = send(&app, &api, Method::PATCH, &path, Some(&rename)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        send(&app, &api, Method::DELETE, &path, None).await.status(),
        204
    );
}

// ------------------------------------------------------------------ a profile's segments

#[tokio::test]
async fn a_profiles_segments_are_kept_in_order_on_every_family_and_unknown_ones_refused() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let s1 = segment_named(&app, "One").await;
    let s2 = segment_named(&app, "Two").await;
    for (i, family) in FAMILIES.iter().enumerate() {
        let mut body = ap_body(&f, &format!("Segmented {i}"));
        body["segments"] = json!([s2, s1]);
        let created = app.create_access_profile(family, &body).await;
        assert_eq!(created["segments"], json!([s2, s1]), "the client's order");
        for read_on in FAMILIES {
            let got = app.get_json(&format!("{read_on}/{}", id(&created))).await;
            assert_eq!(got, created, "{read_on}");
        }
    }
    // null and absent are no segments
    let mut body = ap_body(&f, "Unsegmented");
    body["segments"] = Value::Null;
    let plain = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    assert_eq!(plain["segments"], json!([]));

    // unknown segments: 400 naming every one of them, nothing stored
    let (u1, u2) = (new_id(), "not-a-segment".to_string());
    for family in FAMILIES {
        let mut body = ap_body(&f, "Refused");
        body["segments"] = json!([s1, u1, u2]);
        let text = assert_isc_error(
            app.post(family, &body).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert_eq!(
            text,
            format!("segments '{u1}', '{u2}' do not exist."),
            "{family}"
        );
    }
    let mut body = ap_body(&f, "Refused");
    body["segments"] = json!([s1, s1]);
    let text = assert_isc_error(
        app.post("/v3/access-profiles", &body).await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert!(text.contains("more than once"), "{text}");
    body["segments"] = json!([1]);
    assert_isc_error(
        app.post("/v3/access-profiles", &body).await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    let (refused, _) = list_with_total(
        &app,
        "/v3/access-profiles?filters=name%20eq%20%22Refused%22",
    )
    .await;
    assert_eq!(refused, json!([]), "nothing was stored");

    // patch: add, and refuse unknown ones without changing anything
    let path = format!("/access-profiles/v1/{}", id(&plain));
    let resp = app
        .patch(
            &path,
            &json!([{"op": "add", "path": "/segments/-", "value": s1}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(patched["segments"], json!([s1]));
    for family in FAMILIES {
        let ops = json!([
            {"op": "replace", "path": "/description", "value": "changed"},
            {"op": "replace", "path": "/segments", "value": [s2, u1]},
        ]);
        let resp = app.patch(&format!("{family}/{}", id(&plain)), &ops).await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert_eq!(text, format!("segment '{u1}' does not exist."));
    }
    assert_eq!(
        app.get_json(&path).await,
        patched,
        "refused patches change nothing"
    );
    let resp = app
        .patch(
            &path,
            &json!([{"op": "replace", "path": "/segments", "value": [s2, s1]}]),
        )
        .await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["segments"],
        json!([s2, s1])
    );
    let resp = app
        .patch(&path, &json!([{"op": "remove", "path": "/segments/0"}]))
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["segments"], json!([s1]));
    let resp = app
        .patch(
            &path,
            &json!([{"op": "replace", "path": "/segments", "value": []}]),
        )
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["segments"], json!([]));
}

#[tokio::test]
async fn deleting_a_segment_takes_it_out_of_its_profiles_and_deleting_a_profile_keeps_the_segment()
{
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let s1 = segment_named(&app, "One").await;
    let s2 = segment_named(&app, "Two").await;
    let mut body = ap_body(&f, "Both");
    body["segments"] = json!([s1, s2]);
    let both = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    body = ap_body(&f, "Only one");
    body["segments"] = json!([s1]);
    let only = app
        .create_access_profile("/beta/access-profiles", &body)
        .await;

    assert_eq!(app.delete(&format!("{SEGMENTS}/{s1}")).await.status(), 204);
    let both_now = app
        .get_json(&format!("/v3/access-profiles/{}", id(&both)))
        .await;
    assert_eq!(both_now["segments"], json!([s2]));
    let only_now = app
        .get_json(&format!("/access-profiles/v1/{}", id(&only)))
        .await;
    assert_eq!(only_now["segments"], json!([]));
    assert_eq!(
        only_now["modified"], only["modified"],
        "the profile itself is unchanged"
    );
    let (listed, _) = list_with_total(
        &app,
        &format!("/v3/access-profiles?for-segment-ids={s1}&include-unsegmented=false"),
    )
    .await;
    assert_eq!(listed, json!([]));
    let (unsegmented, _) = list_with_total(
        &app,
        &format!("/v3/access-profiles?for-segment-ids={s2}&sorters=name"),
    )
    .await;
    assert_eq!(names(&unsegmented), ["Both", "Only one"]);

    // a profile's deletion leaves its segments
    assert_eq!(
        app.delete(&format!("/v3/access-profiles/{}", id(&both)))
            .await
            .status(),
        204
    );
    let seg = app.get_json(&format!("{SEGMENTS}/{s2}")).await;
    assert_eq!(seg["name"], "Two");
    let (in_s2, _) = list_with_total(
        &app,
        &format!("/v3/access-profiles?for-segment-ids={s2}&include-unsegmented=false"),
    )
    .await;
    assert_eq!(in_s2, json!([]));
}

// ------------------------------------------------------------------ for-segment-ids

#[tokio::test]
async fn for_segment_ids_lists_the_profiles_in_any_of_the_segments_on_every_family() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let s1 = segment_named(&app, "One").await;
    let s2 = segment_named(&app, "Two").await;
    let s3 = segment_named(&app, "Three").await;
    for (name, segments) in [
        ("A in one", vec![&s1]),
        ("B in two", vec![&s2]),
        ("C in both", vec![&s2, &s1]),
        ("D in none", vec![]),
        ("E in three", vec![&s3]),
    ] {
        let mut body = ap_body(&f, name);
        body["segments"] = json!(segments);
        app.create_access_profile("/v3/access-profiles", &body)
            .await;
    }
    let unknown = new_id();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("for-segment-ids={s1}&include-unsegmented=false"), vec!["A in one", "C in both"]),
        (format!("for-segment-ids={s1},{s2}&include-unsegmented=false"), vec!["A in one", "B in two", "C in both"]),
        (format!("for-segment-ids=%20{s2}%20,,{s1}&include-unsegmented=false"), vec!["A in one", "B in two", "C in both"]),
        // include-unsegmented defaults to true
        (format!("for-segment-ids={s1}"), vec!["A in one", "C in both", "D in none"]),
        (format!("for-segment-ids={s1}&include-unsegmented=true"), vec!["A in one", "C in both", "D in none"]),
        (format!("for-segment-ids={s1},{s3}"), vec!["A in one", "C in both", "D in none", "E in three"]),
        (format!("for-segment-ids={unknown}&include-unsegmented=false"), vec![]),
        (format!("for-segment-ids={unknown}"), vec!["D in none"]),
        // absent or empty: no restriction
        ("include-unsegmented=true".into(), vec!["A in one", "B in two", "C in both", "D in none", "E in three"]),
        ("for-segment-ids=".into(), vec!["A in one", "B in two", "C in both", "D in none", "E in three"]),
        (String::new(), vec!["A in one", "B in two", "C in both", "D in none", "E in three"]),
        // together with filters
        (format!("for-segment-ids={s1},{s2}&include-unsegmented=false&filters=name%20sw%20%22C%22"), vec!["C in both"]),
        (format!("for-segment-ids={s2}&filters=name%20sw%20%22B%22%20or%20name%20sw%20%22D%22%20or%20name%20sw%20%22E%22"), vec!["B in two", "D in none"]),
    ];
    for family in FAMILIES {
        for (query, expected) in &cases {
            let path = format!("{family}?{query}&sorters=name&count=true");
            let (got, total) = list_with_total(&app, &path).await;
            assert_eq!(names(&got), *expected, "{path}");
            assert_eq!(
                total,
                Some(expected.len().to_string()),
                "X-Total-Count of {path}"
            );
        }
        // paging counts the whole view
        let path = format!("{family}?for-segment-ids={s1},{s2}&include-unsegmented=false&sorters=-name&limit=1&offset=1&count=true");
        let (got, total) = list_with_total(&app, &path).await;
        assert_eq!(names(&got), ["B in two"], "{path}");
        assert_eq!(total.as_deref(), Some("3"), "{path}");
    }
    // each profile shows its own segments in a filtered list
    let (got, _) = list_with_total(
        &app,
        &format!("/v3/access-profiles?for-segment-ids={s2}&include-unsegmented=false&sorters=name"),
    )
    .await;
    let segments: BTreeSet<String> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["segments"].to_string())
        .collect();
    assert_eq!(
        segments,
        BTreeSet::from([json!([s2]).to_string(), json!([s2, s1]).to_string()])
    );
}

#[tokio::test]
async fn segment_list_parameters_are_checked_on_every_family() {
    let app = TestApp::spawn().await;
    let s1 = segment_named(&app, "One").await;
    for family in FAMILIES {
        for (query, mention) in [
            (
                "include-unsegmented=false",
                "include-unsegmented=false requires a non-empty for-segment-ids",
            ),
            (
                "for-segment-ids=&include-unsegmented=false",
                "include-unsegmented=false requires a non-empty for-segment-ids",
            ),
            (
                "for-segment-ids=%20,%20&include-unsegmented=false",
                "include-unsegmented=false requires a non-empty for-segment-ids",
            ),
            (
                &format!("for-segment-ids={s1}&include-unsegmented=yes"),
                "Invalid include-unsegmented 'yes'",
            ),
            (
                &format!("for-segment-ids={s1}&include-unsegmented=False"),
                "Invalid include-unsegmented 'False'",
            ),
            ("for-subadmin=me", "for-subadmin"),
        ] {
            let resp = app.get(&format!("{family}?{query}")).await;
            let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
            assert!(text.contains(mention), "{family}?{query}: '{text}'");
        }
    }
}

// ------------------------------------------------------------------ migration 0004

/// A database written before segments existed (migrations 0001–0003) kept a profile's
/// `segments` in its `doc`; migrating it keeps them, as segments and links.
#[tokio::test]
async fn a_database_from_before_segments_keeps_its_profiles_segments() {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = format!("sqlite://{}", dir.path().join("accessd.db").display());
    // the migrations as they were before 0004
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut copied = 0;
    for entry in std::fs::read_dir(&here).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0004" {
            std::fs::copy(&path, old.join(&name)).unwrap();
            copied += 1;
        }
    }
    assert_eq!(copied, 3);
    let pool = SqlitePool::connect_with(
        SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true),
    )
    .await
    .unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let now = "2025-01-02T03:04:05.000Z";
    let (owner, source, ent) = (new_id(), new_id(), new_id());
    sqlx::query("INSERT INTO identities (id, name, alias, created, modified) VALUES (?, 'Old Owner', 'old.owner', ?, ?)")
        .bind(&owner).bind(now).bind(now).execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO sources (id, num_id, name, owner_id, connector, created, modified) VALUES (?, 1, 'Old source', ?, 'x', ?, ?)")
        .bind(&source).bind(&owner).bind(now).bind(now).execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO entitlements (id, source_id, name, attribute, value, created, modified) VALUES (?, ?, 'E', 'memberOf', 'CN=E', ?, ?)")
        .bind(&ent).bind(&source).bind(now).bind(now).execute(&pool).await.unwrap();
    let profiles = [
        (
            "Two segments",
            json!({"segments": ["seg-b", "seg-a"], "accessRequestConfig": {"commentsRequired": true}}),
        ),
        (
            "Shares one",
            json!({"segments": ["seg-a", "seg-c", "seg-a"]}),
        ),
        ("Empty list", json!({"segments": []})),
        ("Null", json!({"segments": null})),
        ("No segments", json!({})),
    ];
    let mut ids = Vec::new();
    for (name, doc) in &profiles {
        let ap = new_id();
        sqlx::query("INSERT INTO access_profiles (id, name, owner_id, source_id, enabled, requestable, doc, created, modified) VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?)")
            .bind(&ap).bind(name).bind(&owner).bind(&source).bind(doc.to_string()).bind(now).bind(now)
            .execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO access_profile_entitlements (access_profile_id, entitlement_id, position) VALUES (?, ?, 0)")
            .bind(&ap).bind(&ent).execute(&pool).await.unwrap();
        ids.push(ap);
    }
    pool.close().await;

    // accessd migrates it at start
    let app = TestApp::start(Config::for_database(&url), dir.clone(), Clock::system()).await;
    let expected = [
        json!(["seg-b", "seg-a"]),
        json!(["seg-a", "seg-c"]),
        json!([]),
        json!([]),
        json!([]),
    ];
    for (ap, segments) in ids.iter().zip(&expected) {
        let got = app.get_json(&format!("/v3/access-profiles/{ap}")).await;
        assert_eq!(&got["segments"], segments, "{}", got["name"]);
        assert_eq!(
            got["modified"], now,
            "the migration does not touch modified"
        );
    }
    let first = app
        .get_json(&format!("/beta/access-profiles/{}", ids[0]))
        .await;
    assert_eq!(
        first["accessRequestConfig"]["commentsRequired"], true,
        "the rest of the doc is kept"
    );
    let (segments, total) = list_with_total(&app, &format!("{SEGMENTS}?count=true")).await;
    assert_eq!(total.as_deref(), Some("3"));
    let mut found: Vec<(String, String, bool)> = segments
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                id(s).to_string(),
                s["name"].as_str().unwrap().to_string(),
                s["active"].as_bool().unwrap(),
            )
        })
        .collect();
    found.sort();
    let seg = |s: &str| (s.to_string(), s.to_string(), false);
    assert_eq!(found, vec![seg("seg-a"), seg("seg-b"), seg("seg-c")]);
    let (in_a, _) = list_with_total(
        &app,
        "/access-profiles/v1?for-segment-ids=seg-a&include-unsegmented=false&sorters=name",
    )
    .await;
    assert_eq!(names(&in_a), ["Shares one", "Two segments"]);
    // one source of truth: the doc no longer holds segments
    let pool = SqlitePool::connect(&url).await.unwrap();
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_profiles WHERE json_type(doc, '$.segments') IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
    pool.close().await;
    // the migrated segments behave like any other
    assert_eq!(app.delete(&format!("{SEGMENTS}/seg-a")).await.status(), 204);
    let got = app
        .get_json(&format!("/v3/access-profiles/{}", ids[1]))
        .await;
    assert_eq!(got["segments"], json!(["seg-c"]));
}

// ------------------------------------------------------------------ a role's segments

/// A profile to build roles from.
async fn role_profile(app: &TestApp, f: &Fixture) -> String {
    id(&app
        .create_access_profile("/v3/access-profiles", &ap_body(f, "For roles"))
        .await)
    .to_string()
}

#[tokio::test]
async fn a_roles_segments_are_kept_in_order_on_every_family_and_unknown_ones_refused() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = role_profile(&app, &f).await;
    let s1 = segment_named(&app, "One").await;
    let s2 = segment_named(&app, "Two").await;
    for (i, family) in ROLE_FAMILIES.iter().enumerate() {
        let mut body = role_body(&format!("Segmented {i}"), &f.owner.id, &[&ap]);
        body["segments"] = json!([s2, s1]);
        let created = app.create_role(family, &body).await;
        assert_eq!(created["segments"], json!([s2, s1]), "the client's order");
        for other in ROLE_FAMILIES {
            let got = app.get_json(&format!("{other}/{}", id(&created))).await;
            assert_eq!(got["segments"], json!([s2, s1]), "{other}");
        }
    }

    // unknown segments: 400 naming every one of them, nothing stored
    let (u1, u2) = (new_id(), "not-a-segment".to_string());
    let mut body = role_body("Refused", &f.owner.id, &[&ap]);
    body["segments"] = json!([s1, u1, u2]);
    for family in ROLE_FAMILIES {
        let text = assert_isc_error(
            app.post(family, &body).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert_eq!(text, format!("segments '{u1}', '{u2}' do not exist."));
    }
    body["segments"] = json!([s1, s1]);
    let text = assert_isc_error(
        app.post("/v3/roles", &body).await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert!(text.contains("more than once"), "{text}");
    let (refused, _) = list_with_total(&app, "/v3/roles?filters=name%20eq%20%22Refused%22").await;
    assert_eq!(refused, json!([]), "nothing was stored");

    // patch: add, replace, remove; an unknown one refused without changing anything
    let plain = app
        .create_role("/beta/roles", &role_body("Plain", &f.owner.id, &[&ap]))
        .await;
    assert_eq!(plain["segments"], json!([]));
    let path = format!("/roles/v1/{}", id(&plain));
    let patched: Value = app
        .patch(
            &path,
            &json!([{"op": "add", "path": "/segments/-", "value": s1}]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["segments"], json!([s1]));
    for family in ROLE_FAMILIES {
        let ops = json!([
            {"op": "replace", "path": "/description", "value": "changed"},
            {"op": "replace", "path": "/segments", "value": [s2, u1]},
        ]);
        let resp = app.patch(&format!("{family}/{}", id(&plain)), &ops).await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert_eq!(text, format!("segment '{u1}' does not exist."));
    }
    assert_eq!(
        app.get_json(&path).await,
        patched,
        "refused patches change nothing"
    );
    let resp = app
        .patch(
            &path,
            &json!([{"op": "replace", "path": "/segments", "value": [s2, s1]}]),
        )
        .await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["segments"],
        json!([s2, s1])
    );
    let resp = app
        .patch(&path, &json!([{"op": "remove", "path": "/segments/0"}]))
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["segments"], json!([s1]));
}

#[tokio::test]
async fn roles_are_listed_by_segment_on_every_family_and_a_deleted_segment_leaves_them() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = role_profile(&app, &f).await;
    let s1 = segment_named(&app, "One").await;
    let s2 = segment_named(&app, "Two").await;
    for (name, segments) in [
        ("Both", json!([s1, s2])),
        ("First", json!([s1])),
        ("Second", json!([s2])),
        ("None", json!([])),
    ] {
        let mut body = role_body(name, &f.owner.id, &[&ap]);
        body["segments"] = segments;
        app.create_role("/v3/roles", &body).await;
    }
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    for family in ROLE_FAMILIES {
        for (query, expected, total) in [
            (
                format!("for-segment-ids={s1}&include-unsegmented=false"),
                vec!["Both", "First"],
                "2",
            ),
            (
                format!("for-segment-ids={s2}"),
                vec!["Both", "None", "Second"],
                "3",
            ),
            (
                format!("for-segment-ids={s1},%20{s2}&include-unsegmented=false"),
                vec!["Both", "First", "Second"],
                "3",
            ),
            (
                "include-unsegmented=true".to_string(),
                vec!["Both", "First", "None", "Second"],
                "4",
            ),
            (
                format!(
                    "for-segment-ids={s1}&include-unsegmented=false&filters=name%20sw%20%22F%22"
                ),
                vec!["First"],
                "1",
            ),
        ] {
            let (listed, count) =
                list_with_total(&app, &format!("{family}?{query}&sorters=name&count=true")).await;
            assert_eq!(names(&listed), expected, "{family} {query}");
            assert_eq!(count.as_deref(), Some(total), "{family} {query}");
        }
        let text = assert_isc_error(
            app.get(&format!("{family}?include-unsegmented=false"))
                .await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(text.contains("for-segment-ids"), "{text}");
    }

    assert_eq!(app.delete(&format!("{SEGMENTS}/{s1}")).await.status(), 204);
    let (listed, _) = list_with_total(&app, "/beta/roles?sorters=name").await;
    let segments: Vec<(String, Value)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["segments"].clone(),
            )
        })
        .collect();
    assert_eq!(
        segments,
        vec![
            ("Both".to_string(), json!([s2])),
            ("First".to_string(), json!([])),
            ("None".to_string(), json!([])),
            ("Second".to_string(), json!([s2])),
        ]
    );
}

#[tokio::test]
async fn a_database_from_before_role_segments_keeps_its_roles_segments() {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = format!("sqlite://{}", dir.path().join("accessd.db").display());
    // the migrations as they were before 0008
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&here).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0008" {
            std::fs::copy(&path, old.join(&name)).unwrap();
        }
    }
    let pool = SqlitePool::connect_with(
        SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true),
    )
    .await
    .unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let now = "2025-01-02T03:04:05.000Z";
    let owner = new_id();
    sqlx::query("INSERT INTO identities (id, name, alias, created, modified) VALUES (?, 'Old Owner', 'old.owner', ?, ?)")
        .bind(&owner).bind(now).bind(now).execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO segments (id, name, active, created, modified) VALUES ('seg-a', 'Existing', 1, ?, ?)")
        .bind(now).bind(now).execute(&pool).await.unwrap();
    let roles = [
        (
            "Two segments",
            json!({"segments": ["seg-b", "seg-a", "seg-b"], "privilegeLevel": "HIGH"}),
        ),
        ("Empty list", json!({"segments": []})),
        ("No segments", json!({})),
    ];
    let mut ids = Vec::new();
    for (name, doc) in &roles {
        let role = new_id();
        sqlx::query("INSERT INTO roles (id, name, owner_id, enabled, requestable, doc, created, modified) VALUES (?, ?, ?, 1, 1, ?, ?, ?)")
            .bind(&role).bind(name).bind(&owner).bind(doc.to_string()).bind(now).bind(now)
            .execute(&pool).await.unwrap();
        ids.push(role);
    }
    pool.close().await;

    // accessd migrates it at start
    let app = TestApp::start(Config::for_database(&url), dir.clone(), Clock::system()).await;
    let expected = [json!(["seg-b", "seg-a"]), json!([]), json!([])];
    for (role, segments) in ids.iter().zip(&expected) {
        let got = app.get_json(&format!("/v3/roles/{role}")).await;
        assert_eq!(&got["segments"], segments, "{}", got["name"]);
    }
    let first = app.get_json(&format!("/v3/roles/{}", ids[0])).await;
    assert_eq!(
        first["privilegeLevel"], "HIGH",
        "the rest of the doc is kept"
    );
    // the unknown id became a segment; the existing one kept its name
    assert_eq!(app.get_json("/v3/segments/seg-b").await["name"], "seg-b");
    assert_eq!(app.get_json("/v3/segments/seg-a").await["name"], "Existing");
    let (listed, _) = list_with_total(
        &app,
        "/v3/roles?for-segment-ids=seg-b&include-unsegmented=false",
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
