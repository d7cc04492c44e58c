//! Source apps (docs/source-apps.md, CONTRACT §3.3): every operation on beta
//! and on `/source-apps/v1`, the rules of create and patch, the three lists, an app's
//! access profiles as beta `AccessProfileDetails`, bulk update, bulk remove, the
//! experimental header of the v1 family, rights, and the in-use rule for the profiles
//! an app holds.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::*;

const APP_FAMILIES: [&str; 2] = ["/beta/source-apps", "/source-apps/v1"];
const EXPERIMENTAL: &str = "X-SailPoint-Experimental";
const HEADER_ERROR: &str = "Experimental Header is missing or invalid.";
const BAD: &str = "400.1 Bad Request Content";
const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

/// Sends a request with `token`; v1 paths carry `X-SailPoint-Experimental: true`
/// (required there, optional on beta). A PATCH body is sent as JSON Patch.
async fn send_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let mut req = app
        .http
        .request(method.clone(), app.url(path))
        .bearer_auth(token);
    if path.starts_with("/source-apps/v1") {
        req = req.header(EXPERIMENTAL, "true");
    }
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

/// [`send_as`] with the admin token.
async fn send(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Response {
    send_as(app, &app.token, method, path, body).await
}

/// Sends a request with full control over the token and the experimental header.
async fn raw(
    app: &TestApp,
    token: Option<&str>,
    header: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let mut req = app.http.request(method.clone(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(h) = header {
        req = req.header(EXPERIMENTAL, h);
    }
    if let Some(b) = body {
        let content_type = if method == Method::PATCH {
            "application/json-patch+json"
        } else {
            "application/json"
        };
        req = req.header("Content-Type", content_type).body(b.to_string());
    }
    req.send().await.expect("request")
}

/// Asserts the status and returns the JSON body (`Null` when the body is empty).
async fn body_of(resp: Response, status: u16, what: &str) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
    }
}

/// Asserts an ISC error body (CONTRACT §7) with this status and detail code, with
/// `what` in every failure message; returns the message text.
async fn isc(resp: Response, status: u16, detail_code: &str, what: &str) -> String {
    let got = resp.status().as_u16();
    let request_id = resp
        .headers()
        .get("SLPT-Request-ID")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not an ISC body: {text}"));
    assert_eq!(body["detailCode"], detail_code, "{what}: {body}");
    let tracking = body["trackingId"].as_str().expect("trackingId");
    assert_eq!(tracking.len(), 32, "{what}: {body}");
    assert_eq!(
        Some(tracking),
        request_id.as_deref(),
        "{what}: SLPT-Request-ID"
    );
    assert!(body["causes"].is_array(), "{what}: {body}");
    body["messages"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no message text: {body}"))
        .to_string()
}

/// A 400 `400.1` whose message names every one of `needles`.
async fn bad_request(resp: Response, needles: &[&str], what: &str) {
    let text = isc(resp, 400, BAD, what).await;
    for n in needles {
        assert!(text.contains(n), "{what}: '{text}' should name '{n}'");
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("a list").iter().map(id).collect()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v["name"].as_str().expect("name").to_string())
        .collect()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn setup() -> (TestApp, Fixture) {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    (app, f)
}

async fn profile_from(app: &TestApp, body: &Value) -> String {
    id(&app.create_access_profile("/v3/access-profiles", body).await)
}

/// An enabled, requestable access profile on the fixture's HR source.
async fn hr_profile(app: &TestApp, f: &Fixture, name: &str) -> String {
    profile_from(app, &ap_body(f, name)).await
}

/// An enabled, requestable access profile on the fixture's CRM source.
async fn crm_profile(app: &TestApp, f: &Fixture, name: &str) -> String {
    let mut body = ap_body(f, name);
    body["source"] = json!({"type": "SOURCE", "id": f.other_source.id});
    body["entitlements"] = json!([{"type": "ENTITLEMENT", "id": f.other_entitlements[0]}]);
    profile_from(app, &body).await
}

fn create_body(name: &str, source_id: &str) -> Value {
    json!({
        "name": name,
        "description": format!("{name} description"),
        "accountSource": {"id": source_id},
    })
}

async fn create_app(app: &TestApp, family: &str, name: &str, source_id: &str) -> Value {
    let resp = send(
        app,
        Method::POST,
        family,
        Some(&create_body(name, source_id)),
    )
    .await;
    body_of(resp, 200, &format!("create {name} on {family}")).await
}

async fn get_app(app: &TestApp, family: &str, app_id: &str) -> Value {
    let resp = send(app, Method::GET, &format!("{family}/{app_id}"), None).await;
    body_of(resp, 200, &format!("get {family}/{app_id}")).await
}

async fn patch_app(app: &TestApp, family: &str, app_id: &str, ops: &Value) -> Value {
    let path = format!("{family}/{app_id}");
    let resp = send(app, Method::PATCH, &path, Some(ops)).await;
    body_of(resp, 200, &format!("PATCH {path} {ops}")).await
}

/// An app on `family` holding these access profiles (set by patch).
async fn app_holding(
    app: &TestApp,
    family: &str,
    name: &str,
    source_id: &str,
    aps: &[&str],
) -> String {
    let created = create_app(app, family, name, source_id).await;
    let app_id = id(&created);
    let patched = patch_app(
        app,
        family,
        &app_id,
        &json!([{"op": "replace", "path": "/accessProfiles", "value": aps}]),
    )
    .await;
    assert_eq!(patched["accessProfiles"], json!(aps));
    app_id
}

/// The app's access profiles (`AccessProfileDetails`), asserting 200.
async fn details(app: &TestApp, family: &str, app_id: &str, query: &str) -> Value {
    let path = format!("{family}/{app_id}/access-profiles{query}");
    body_of(send(app, Method::GET, &path, None).await, 200, &path).await
}

async fn held(app: &TestApp, family: &str, app_id: &str) -> Vec<String> {
    ids(&details(app, family, app_id, "").await)
}

async fn list(app: &TestApp, path: &str) -> Value {
    body_of(send(app, Method::GET, path, None).await, 200, path).await
}

async fn list_names(app: &TestApp, path: &str) -> Vec<String> {
    names(&list(app, path).await)
}

/// Every app, as the ORG_ADMIN list shows it (the "nothing changed" snapshot).
async fn all_apps(app: &TestApp) -> Value {
    list(app, "/beta/source-apps/all?sorters=id").await
}

async fn profile_exists(app: &TestApp, ap_id: &str) -> bool {
    let status = app
        .get(&format!("/v3/access-profiles/{ap_id}"))
        .await
        .status();
    assert!(status == 200 || status == 404, "unexpected {status}");
    status == 200
}

/// The built-in ORG_ADMIN identity the harness token acts as (no API lists it by alias
/// alone, so it is read from the store).
async fn admin_identity(app: &TestApp) -> accessd::domain::model::Identity {
    app.store
        .find_identity_by_alias(accessd::app::ADMIN_ALIAS)
        .await
        .expect("store")
        .expect("admin identity")
}

fn replace(path: &str, value: Value) -> Value {
    json!({"op": "replace", "path": path, "value": value})
}

fn account_source(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "type": "SOURCE",
        "name": name,
        "useForPasswordManagement": false,
        "passwordPolicies": [],
    })
}

fn owner_ref(id: &str, name: &str) -> Value {
    json!({"type": "IDENTITY", "id": id, "name": name})
}

fn without(doc: &Value, fields: &[&str]) -> Value {
    let mut doc = doc.clone();
    let obj = doc.as_object_mut().expect("an object");
    for f in fields {
        obj.remove(*f);
    }
    doc
}

// ---------------------------------------------------------------- create and get

#[tokio::test]
async fn an_app_created_on_either_family_is_read_back_on_both() {
    let (app, f) = setup().await;
    let admin = admin_identity(&app).await;
    let mut cloud_ids = Vec::new();
    for (i, family) in APP_FAMILIES.iter().enumerate() {
        let name = format!("Mail {i}");
        let mut body = create_body(&name, &f.source.id);
        if i == 1 {
            // the optional fields, given: matchAllAccounts and a full account-source ref
            body["matchAllAccounts"] = json!(true);
            body["accountSource"] = json!({"id": f.source.id, "type": "SOURCE", "name": "HR"});
        }
        let resp = send(&app, Method::POST, family, Some(&body)).await;
        let created = body_of(resp, 200, &format!("create on {family}")).await;
        let app_id = id(&created);
        assert_eq!(app_id.len(), 32, "{created}");
        assert!(app_id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let cloud = created["cloudAppId"].as_str().expect("cloudAppId string");
        let cloud: i64 = cloud.parse().expect("cloudAppId is numeric");
        assert!(!cloud_ids.contains(&cloud), "cloudAppId is unique");
        cloud_ids.push(cloud);
        let created_at = created["created"].as_str().expect("created");
        assert!(created_at.ends_with('Z'), "{created_at}");
        assert!(created["modified"]
            .as_str()
            .expect("modified")
            .ends_with('Z'));
        let mut keys: Vec<&str> = created
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "accountSource",
                "appCenterEnabled",
                "cloudAppId",
                "created",
                "description",
                "enabled",
                "id",
                "matchAllAccounts",
                "modified",
                "name",
                "owner",
                "provisionRequestEnabled",
            ],
            "a SourceApp document"
        );
        assert_eq!(created["name"], name.as_str());
        assert_eq!(created["description"], format!("{name} description"));
        assert_eq!(created["enabled"], false);
        assert_eq!(created["provisionRequestEnabled"], false);
        assert_eq!(created["appCenterEnabled"], true);
        assert_eq!(created["matchAllAccounts"], i == 1);
        assert_eq!(created["accountSource"], account_source(&f.source.id, "HR"));
        assert_eq!(created["owner"], owner_ref(&admin.id, &admin.name));
        // read back on both families, the same document; a new app holds nothing
        for read_on in APP_FAMILIES {
            assert_eq!(get_app(&app, read_on, &app_id).await, created, "{read_on}");
            assert!(held(&app, read_on, &app_id).await.is_empty());
        }
        let all = all_apps(&app).await;
        let listed = all
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == app_id.as_str())
            .expect("listed by all");
        assert_eq!(listed, &created);
    }
}

#[tokio::test]
async fn the_owner_is_the_caller_or_for_an_api_client_the_sources_owner() {
    let (app, f) = setup().await;
    let (user, me) = app.token_for(&[], &["idn:app-roles:manage"]).await;
    for family in APP_FAMILIES {
        let resp = send_as(
            &app,
            &user,
            Method::POST,
            family,
            Some(&create_body(
                &format!("Mine on {family}"),
                &f.other_source.id,
            )),
        )
        .await;
        let created = body_of(resp, 200, family).await;
        assert_eq!(created["owner"], owner_ref(&me.id, &me.name), "{family}");
        assert_eq!(
            created["accountSource"],
            account_source(&f.other_source.id, "CRM")
        );
    }
    // an API client may create on beta; the app belongs to the account source's owner
    let client = app.api_client_token(&["idn:app-roles:manage"]).await;
    let resp = send_as(
        &app,
        &client,
        Method::POST,
        "/beta/source-apps",
        Some(&create_body("Client's", &f.source.id)),
    )
    .await;
    let created = body_of(resp, 200, "API client on beta").await;
    assert_eq!(created["owner"], owner_ref(&f.owner.id, &f.owner.name));
    // the v1 operations have no applicationAuth: an API client gets 403 and creates nothing
    let resp = send_as(
        &app,
        &client,
        Method::POST,
        "/source-apps/v1",
        Some(&create_body("Refused", &f.source.id)),
    )
    .await;
    isc(resp, 403, "403 Forbidden", "API client on v1").await;
    let all = all_apps(&app).await;
    let mut got = names(&all);
    got.sort();
    assert_eq!(
        got,
        [
            "Client's",
            "Mine on /beta/source-apps",
            "Mine on /source-apps/v1"
        ]
    );
}

#[tokio::test]
async fn invalid_creates_are_400s_naming_the_problem_and_create_nothing() {
    let (app, f) = setup().await;
    let hr = f.source.id.clone();
    let with = |mutate: &dyn Fn(&mut Value)| {
        let mut b = create_body("Bad", &hr);
        mutate(&mut b);
        b
    };
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "no name",
            with(&|b: &mut Value| {
                b.as_object_mut().unwrap().remove("name");
            }),
            vec!["name"],
        ),
        (
            "null name",
            with(&|b: &mut Value| b["name"] = Value::Null),
            vec!["name"],
        ),
        (
            "blank name",
            with(&|b: &mut Value| b["name"] = json!("   ")),
            vec!["name"],
        ),
        (
            "numeric name",
            with(&|b: &mut Value| b["name"] = json!(42)),
            vec!["expected a string"],
        ),
        (
            "no description",
            with(&|b: &mut Value| {
                b.as_object_mut().unwrap().remove("description");
            }),
            vec!["description"],
        ),
        (
            "null description",
            with(&|b: &mut Value| b["description"] = Value::Null),
            vec!["description"],
        ),
        (
            "blank description",
            with(&|b: &mut Value| b["description"] = json!("")),
            vec!["description"],
        ),
        (
            "no accountSource",
            with(&|b: &mut Value| {
                b.as_object_mut().unwrap().remove("accountSource");
            }),
            vec!["accountSource"],
        ),
        (
            "null accountSource",
            with(&|b: &mut Value| b["accountSource"] = Value::Null),
            vec!["accountSource"],
        ),
        (
            "accountSource without id",
            with(&|b: &mut Value| b["accountSource"] = json!({"type": "SOURCE"})),
            vec!["accountSource"],
        ),
        (
            "unknown accountSource",
            with(&|b: &mut Value| b["accountSource"] = json!({"id": UNKNOWN})),
            vec![UNKNOWN],
        ),
        (
            "accountSource of the wrong type",
            with(&|b: &mut Value| b["accountSource"] = json!({"id": hr, "type": "IDENTITY"})),
            vec!["SOURCE"],
        ),
        (
            "string matchAllAccounts",
            with(&|b: &mut Value| b["matchAllAccounts"] = json!("yes")),
            vec!["expected a boolean"],
        ),
        ("an array", json!([create_body("Bad", &hr)]), vec![]),
    ];
    for family in APP_FAMILIES {
        for (what, body, needles) in &cases {
            let resp = send(&app, Method::POST, family, Some(body)).await;
            bad_request(resp, needles, &format!("{family} {what}")).await;
        }
        let resp = app
            .request(Method::POST, family)
            .header(EXPERIMENTAL, "true")
            .header("Content-Type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        bad_request(resp, &["not valid"], &format!("{family} malformed JSON")).await;
    }
    assert_eq!(all_apps(&app).await, json!([]), "nothing created");
}

#[tokio::test]
async fn an_unknown_app_is_404_on_every_operation_that_names_one() {
    let (app, f) = setup().await;
    let ap = hr_profile(&app, &f, "Kit").await;
    let ops = json!([replace("/description", json!("x"))]);
    for family in APP_FAMILIES {
        let path = format!("{family}/{UNKNOWN}");
        for (method, path, body) in [
            (Method::GET, path.clone(), None),
            (Method::PATCH, path.clone(), Some(ops.clone())),
            (Method::DELETE, path.clone(), None),
            (Method::GET, format!("{path}/access-profiles"), None),
            (
                Method::POST,
                format!("{path}/access-profiles/bulk-remove"),
                Some(json!([ap])),
            ),
        ] {
            let what = format!("{method} {path}");
            let resp = send(&app, method, &path, body.as_ref()).await;
            isc(resp, 404, "404 Not found", &what).await;
        }
    }
}

// ---------------------------------------------------------------- patch

#[tokio::test]
async fn patch_changes_each_patchable_field_and_answers_with_the_access_profiles() {
    let (app, f) = setup().await;
    let other = app.seed_identity(&[]).await;
    for (i, family) in APP_FAMILIES.iter().enumerate() {
        let app_id = id(&create_app(&app, family, &format!("Patchable {i}"), &f.source.id).await);
        let steps = [
            ("name", json!(format!("Renamed {i}")), None),
            ("description", json!("New words"), None),
            ("enabled", json!(true), None),
            ("provisionRequestEnabled", json!(true), None),
            ("appCenterEnabled", json!(false), None),
            ("matchAllAccounts", json!(true), None),
            (
                "owner",
                json!({"type": "IDENTITY", "id": other.id}),
                Some(owner_ref(&other.id, &other.name)),
            ),
            (
                "accountSource",
                json!({"type": "SOURCE", "id": f.other_source.id}),
                Some(account_source(&f.other_source.id, "CRM")),
            ),
        ];
        for (field, value, shown) in steps {
            let before = get_app(&app, family, &app_id).await;
            let ops = json!([replace(&format!("/{field}"), value.clone())]);
            let patched = patch_app(&app, family, &app_id, &ops).await;
            let mut expected = before.clone();
            expected[field] = shown.unwrap_or(value);
            expected["accessProfiles"] = json!([]);
            assert_eq!(
                without(&patched, &["modified"]),
                without(&expected, &["modified"]),
                "{family} {field}"
            );
            assert!(
                patched["modified"].as_str().unwrap() >= before["modified"].as_str().unwrap(),
                "modified moves forward"
            );
            // both families read the patched app
            for read_on in APP_FAMILIES {
                let got = get_app(&app, read_on, &app_id).await;
                assert_eq!(got, without(&patched, &["accessProfiles"]), "{read_on}");
            }
        }
    }
}

#[tokio::test]
async fn access_profiles_are_added_replaced_and_removed_by_patch() {
    let (app, f) = setup().await;
    for (i, family) in APP_FAMILIES.iter().enumerate() {
        let a = hr_profile(&app, &f, &format!("A{i}")).await;
        let b = hr_profile(&app, &f, &format!("B{i}")).await;
        let c = hr_profile(&app, &f, &format!("C{i}")).await;
        let app_id = id(&create_app(&app, family, &format!("Holder {i}"), &f.source.id).await);
        let steps = [
            (
                json!([{"op": "add", "path": "/accessProfiles/-", "value": a}]),
                vec![&a],
            ),
            (
                json!([{"op": "add", "path": "/accessProfiles/-", "value": b}]),
                vec![&a, &b],
            ),
            (
                json!([replace("/accessProfiles", json!([c, a]))]),
                vec![&c, &a],
            ),
            (
                json!([{"op": "remove", "path": "/accessProfiles/0"}]),
                vec![&a],
            ),
            (
                json!([{"op": "add", "path": "/accessProfiles/0", "value": b}]),
                vec![&b, &a],
            ),
        ];
        for (ops, expected) in steps {
            let patched = patch_app(&app, family, &app_id, &ops).await;
            assert_eq!(patched["accessProfiles"], json!(expected), "{family} {ops}");
            for read_on in APP_FAMILIES {
                assert_eq!(
                    held(&app, read_on, &app_id).await,
                    expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    "{read_on} after {ops}"
                );
            }
        }
    }
}

#[tokio::test]
async fn invalid_patches_are_400s_and_change_nothing() {
    let (app, f) = setup().await;
    let a = hr_profile(&app, &f, "Held").await;
    let spare = hr_profile(&app, &f, "Spare").await;
    let foreign = crm_profile(&app, &f, "Foreign").await;
    let ghost = "9".repeat(32);
    let missing_owner = "8".repeat(32);
    let add = |v: &str| json!([{"op": "add", "path": "/accessProfiles/-", "value": v}]);
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("id", json!([replace("/id", json!("x"))]), vec!["id"]),
        (
            "cloudAppId",
            json!([replace("/cloudAppId", json!("1"))]),
            vec!["cloudAppId"],
        ),
        (
            "created",
            json!([replace("/created", json!("2020-01-01T00:00:00Z"))]),
            vec!["created"],
        ),
        (
            "null name",
            json!([replace("/name", Value::Null)]),
            vec!["name"],
        ),
        (
            "empty name",
            json!([replace("/name", json!(""))]),
            vec!["name"],
        ),
        (
            "removed name",
            json!([{"op": "remove", "path": "/name"}]),
            vec!["name"],
        ),
        (
            "null description",
            json!([replace("/description", Value::Null)]),
            vec!["description"],
        ),
        (
            "empty description",
            json!([replace("/description", json!(""))]),
            vec!["description"],
        ),
        (
            "null owner",
            json!([replace("/owner", Value::Null)]),
            vec!["owner"],
        ),
        (
            "removed owner",
            json!([{"op": "remove", "path": "/owner"}]),
            vec!["owner"],
        ),
        (
            "unknown owner",
            json!([replace(
                "/owner",
                json!({"type": "IDENTITY", "id": missing_owner})
            )]),
            vec![missing_owner.as_str()],
        ),
        (
            "string enabled",
            json!([replace("/enabled", json!("yes"))]),
            vec!["enabled"],
        ),
        (
            "unknown account source",
            json!([replace(
                "/accountSource",
                json!({"type": "SOURCE", "id": ghost})
            )]),
            vec![ghost.as_str()],
        ),
        (
            "a profile of another source",
            add(&foreign),
            vec![foreign.as_str()],
        ),
        ("an unknown profile", add(&ghost), vec![ghost.as_str()]),
        ("a duplicate profile", add(&a), vec![]),
        (
            "replace with a duplicate",
            json!([replace("/accessProfiles", json!([spare, spare]))]),
            vec![],
        ),
        (
            "another account source while holding HR profiles",
            json!([replace(
                "/accountSource",
                json!({"type": "SOURCE", "id": f.other_source.id})
            )]),
            vec![],
        ),
        (
            "remove past the end",
            json!([{"op": "remove", "path": "/accessProfiles/5"}]),
            vec![],
        ),
        (
            "a valid op before an invalid one",
            json!([
                replace("/name", json!("Half")),
                replace("/owner", Value::Null)
            ]),
            vec!["owner"],
        ),
        (
            "not a JSON Patch",
            json!({"op": "replace", "path": "/name", "value": "x"}),
            vec![],
        ),
        (
            "an unknown op",
            json!([{"op": "jump", "path": "/name", "value": "x"}]),
            vec![],
        ),
    ];
    for (i, family) in APP_FAMILIES.iter().enumerate() {
        let app_id = app_holding(&app, family, &format!("Strict {i}"), &f.source.id, &[&a]).await;
        let before = get_app(&app, family, &app_id).await;
        for (what, ops, needles) in &cases {
            let path = format!("{family}/{app_id}");
            let resp = send(&app, Method::PATCH, &path, Some(ops)).await;
            // a profile of another source must be named along with its source: by name or id
            if *what == "a profile of another source" {
                let text = isc(resp, 400, BAD, what).await;
                assert!(text.contains(&foreign), "{family} {what}: {text}");
                assert!(
                    text.contains("CRM") || text.contains(&f.other_source.id),
                    "{family} {what}: '{text}' should name the profile's source"
                );
            } else {
                bad_request(resp, needles, &format!("{family} {what}")).await;
            }
            assert_eq!(
                get_app(&app, family, &app_id).await,
                before,
                "{family}: unchanged after {what}"
            );
            assert_eq!(held(&app, family, &app_id).await, [a.as_str()], "{what}");
        }
        // changing the account source is fine when the same patch replaces the profiles,
        // in either order of the operations
        let new_source = replace(
            "/accountSource",
            json!({"type": "SOURCE", "id": f.other_source.id}),
        );
        let new_profiles = replace("/accessProfiles", json!([foreign]));
        let ops = if i == 0 {
            json!([new_source, new_profiles])
        } else {
            json!([new_profiles, new_source])
        };
        let moved = patch_app(&app, family, &app_id, &ops).await;
        assert_eq!(
            moved["accountSource"],
            account_source(&f.other_source.id, "CRM")
        );
        assert_eq!(moved["accessProfiles"], json!([foreign]));
        // back to HR for the next family, dropping the CRM profile in the same patch
        let back = json!([
            replace("/accountSource", json!({"id": f.source.id})),
            replace("/accessProfiles", json!([])),
        ]);
        let back = patch_app(&app, family, &app_id, &back).await;
        assert_eq!(back["accessProfiles"], json!([]));
    }
}

// ---------------------------------------------------------------- delete

#[tokio::test]
async fn delete_answers_200_with_the_app_as_it_was_and_leaves_its_profiles() {
    let (app, f) = setup().await;
    for (i, family) in APP_FAMILIES.iter().enumerate() {
        let ap = hr_profile(&app, &f, &format!("Kept {i}")).await;
        let app_id = app_holding(&app, family, &format!("Doomed {i}"), &f.source.id, &[&ap]).await;
        let keeper = app_holding(&app, family, &format!("Keeper {i}"), &f.source.id, &[]).await;
        let before = get_app(&app, family, &app_id).await;
        let path = format!("{family}/{app_id}");
        let deleted = body_of(send(&app, Method::DELETE, &path, None).await, 200, &path).await;
        assert_eq!(deleted, before, "{family}: the app as it was");
        for read_on in APP_FAMILIES {
            let gone = send(&app, Method::GET, &format!("{read_on}/{app_id}"), None).await;
            isc(gone, 404, "404 Not found", read_on).await;
        }
        let again = send(&app, Method::DELETE, &path, None).await;
        isc(again, 404, "404 Not found", "deleted twice").await;
        // the profile stays, and is no longer in use: it can be deleted now
        assert!(profile_exists(&app, &ap).await);
        let resp = app.delete(&format!("/v3/access-profiles/{ap}")).await;
        assert_eq!(resp.status(), 204, "{family}: the profile is free");
        // the other app is untouched
        assert_eq!(get_app(&app, family, &keeper).await["id"], keeper.as_str());
    }
}

// ---------------------------------------------------------------- bulk update

#[tokio::test]
async fn bulk_update_patches_every_listed_app_with_204() {
    let (app, f) = setup().await;
    for family in APP_FAMILIES {
        let mut app_ids = Vec::new();
        for n in 0..3 {
            let created = create_app(
                &app,
                APP_FAMILIES[n % 2],
                &format!("Bulk {n}"),
                &f.source.id,
            )
            .await;
            app_ids.push(id(&created));
        }
        let path = format!("{family}/bulk-update");
        let body = json!({
            "appIds": [app_ids[0], app_ids[2]],
            "jsonPatch": [replace("/enabled", json!(true)), replace("/matchAllAccounts", json!(true))],
        });
        let untouched = get_app(&app, family, &app_ids[1]).await;
        let resp = send(&app, Method::POST, &path, Some(&body)).await;
        let answer = body_of(resp, 204, &path).await;
        assert_eq!(answer, Value::Null, "204 has no body");
        for n in [0, 2] {
            let got = get_app(&app, family, &app_ids[n]).await;
            assert_eq!(got["enabled"], true, "{family} {n}");
            assert_eq!(got["matchAllAccounts"], true, "{family} {n}");
        }
        assert_eq!(get_app(&app, family, &app_ids[1]).await, untouched);
        for app_id in &app_ids {
            let path = format!("{family}/{app_id}");
            body_of(send(&app, Method::DELETE, &path, None).await, 200, &path).await;
        }
    }
}

#[tokio::test]
async fn bulk_update_is_all_or_nothing_and_rejects_bad_requests() {
    let (app, f) = setup().await;
    let ap = hr_profile(&app, &f, "Anchor").await;
    let holder = app_holding(&app, APP_FAMILIES[0], "Holder app", &f.source.id, &[&ap]).await;
    let free = app_holding(&app, APP_FAMILIES[1], "Free app", &f.source.id, &[]).await;
    let before = all_apps(&app).await;
    let enable = json!([replace("/enabled", json!(true))]);
    let too_many: Vec<String> = (0..51).map(|i| format!("{i:032x}")).collect();
    let crm = json!([replace(
        "/accountSource",
        json!({"type": "SOURCE", "id": f.other_source.id})
    )]);
    for family in APP_FAMILIES {
        let path = format!("{family}/bulk-update");
        // an unknown id: 404 naming it, and the known app is not changed either
        let resp = send(
            &app,
            Method::POST,
            &path,
            Some(&json!({"appIds": [holder, UNKNOWN], "jsonPatch": enable})),
        )
        .await;
        let text = isc(resp, 404, "404 Not found", &format!("{family} unknown id")).await;
        assert!(text.contains(UNKNOWN), "{text}");
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "51 ids",
                json!({"appIds": too_many, "jsonPatch": enable}),
                vec!["appIds"],
            ),
            (
                "no ids",
                json!({"appIds": [], "jsonPatch": enable}),
                vec!["appIds"],
            ),
            (
                "missing appIds",
                json!({"jsonPatch": enable}),
                vec!["appIds"],
            ),
            (
                "duplicate ids",
                json!({"appIds": [free, free], "jsonPatch": enable}),
                vec![],
            ),
            (
                "missing jsonPatch",
                json!({"appIds": [free]}),
                vec!["jsonPatch"],
            ),
            (
                "empty jsonPatch",
                json!({"appIds": [free], "jsonPatch": []}),
                vec!["jsonPatch"],
            ),
            (
                "a path that is not patchable",
                json!({"appIds": [free], "jsonPatch": [replace("/cloudAppId", json!("7"))]}),
                vec!["cloudAppId"],
            ),
            (
                "a null name",
                json!({"appIds": [free, holder], "jsonPatch": [replace("/name", Value::Null)]}),
                vec!["name"],
            ),
            ("not an object", json!([free]), vec![]),
        ];
        for (what, body, needles) in &cases {
            let resp = send(&app, Method::POST, &path, Some(body)).await;
            bad_request(resp, needles, &format!("{family} {what}")).await;
        }
        // moving both apps to CRM breaks the holder (it holds an HR profile): 400 naming
        // it, and the free app, which could move, stays on HR
        let resp = send(
            &app,
            Method::POST,
            &path,
            Some(&json!({"appIds": [free, holder], "jsonPatch": crm})),
        )
        .await;
        let text = isc(resp, 400, BAD, &format!("{family} one app breaks a rule")).await;
        assert!(
            text.contains(&holder) || text.contains("Holder app"),
            "{family}: '{text}' should name the app"
        );
        assert_eq!(all_apps(&app).await, before, "{family}: nothing changed");
    }
}

// ---------------------------------------------------------------- lists

#[tokio::test]
async fn available_assigned_and_all_each_list_their_apps() {
    let (app, f) = setup().await;
    let good = hr_profile(&app, &f, "Requestable").await;
    let mut body = ap_body(&f, "Not requestable");
    body["requestable"] = json!(false);
    let unrequestable = profile_from(&app, &body).await;
    let mut body = ap_body(&f, "Disabled");
    body["enabled"] = json!(false);
    let disabled = profile_from(&app, &body).await;
    let apps: [(&str, bool, bool, Vec<&String>); 6] = [
        ("Alpha", true, true, vec![&good]),
        ("Bravo", true, true, vec![&unrequestable]),
        ("Charlie", true, true, vec![&disabled]),
        ("Delta", true, false, vec![&good]),
        ("Echo", false, true, vec![&good]),
        ("Foxtrot", true, true, vec![]),
    ];
    for (i, (name, enabled, requests, aps)) in apps.iter().enumerate() {
        let family = APP_FAMILIES[i % 2];
        let created = create_app(&app, family, name, &f.source.id).await;
        patch_app(
            &app,
            family,
            &id(&created),
            &json!([
                replace("/enabled", json!(enabled)),
                replace("/provisionRequestEnabled", json!(requests)),
                replace("/accessProfiles", json!(aps)),
            ]),
        )
        .await;
    }
    let available = ["Alpha", "Bravo", "Charlie", "Foxtrot"];
    let everything = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"];
    for family in APP_FAMILIES {
        let got = list_names(&app, &format!("{family}?sorters=name")).await;
        assert_eq!(got, available, "{family} available");
        let got = list_names(&app, &format!("{family}/assigned?sorters=name")).await;
        assert_eq!(got, ["Alpha"], "{family} assigned");
        let got = list_names(&app, &format!("{family}/all?sorters=name")).await;
        assert_eq!(got, everything, "{family} all");
        // the default order is by id
        let all = list(&app, &format!("{family}/all")).await;
        let mut sorted = ids(&all);
        sorted.sort();
        assert_eq!(ids(&all), sorted, "{family} default order");
    }
    // an identity without ORG_ADMIN sees the same available and assigned apps, not all
    let (user, _) = app.token_for(&[], &["idn:app-roles:read"]).await;
    for family in APP_FAMILIES {
        for (path, expected) in [
            (format!("{family}?sorters=name"), available.to_vec()),
            (format!("{family}/assigned?sorters=name"), vec!["Alpha"]),
        ] {
            let resp = send_as(&app, &user, Method::GET, &path, None).await;
            assert_eq!(names(&body_of(resp, 200, &path).await), expected, "{path}");
        }
        let path = format!("{family}/all");
        let resp = send_as(&app, &user, Method::GET, &path, None).await;
        isc(resp, 403, "403 Forbidden", &format!("non-admin {path}")).await;
    }
    // an ORG_ADMIN with the read scope only may list all
    let (reader, _) = app.token_for(&["ORG_ADMIN"], &["idn:app-roles:read"]).await;
    for family in APP_FAMILIES {
        let path = format!("{family}/all?sorters=name");
        let resp = send_as(&app, &reader, Method::GET, &path, None).await;
        assert_eq!(names(&body_of(resp, 200, &path).await), everything);
    }
    // an API client (beta only): available as usual, assigned is empty, all is refused
    let client = app.api_client_token(&["idn:app-roles:read"]).await;
    let resp = send_as(
        &app,
        &client,
        Method::GET,
        "/beta/source-apps?sorters=name",
        None,
    )
    .await;
    assert_eq!(
        names(&body_of(resp, 200, "client available").await),
        available
    );
    let resp = send_as(
        &app,
        &client,
        Method::GET,
        "/beta/source-apps/assigned",
        None,
    )
    .await;
    assert_eq!(body_of(resp, 200, "client assigned").await, json!([]));
    let resp = send_as(&app, &client, Method::GET, "/beta/source-apps/all", None).await;
    isc(resp, 403, "403 Forbidden", "client all").await;
    let resp = send_as(&app, &client, Method::GET, "/source-apps/v1", None).await;
    isc(resp, 403, "403 Forbidden", "client on v1").await;
}

/// Alpha (HR), Bravo (CRM, other owner), Charlie (HR), Delta (CRM): available and
/// assigned; Echo (HR): disabled, so only in `all`. Returns the ids by name.
async fn listed_apps(app: &TestApp, f: &Fixture, other_owner: &str) -> Vec<(String, String)> {
    let hr_kit = hr_profile(app, f, "HR kit").await;
    let crm_kit = crm_profile(app, f, "CRM kit").await;
    let mut out = Vec::new();
    for (i, name) in ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
        .iter()
        .enumerate()
    {
        let family = APP_FAMILIES[i % 2];
        let (source, kit) = if i % 2 == 0 {
            (&f.source.id, &hr_kit)
        } else {
            (&f.other_source.id, &crm_kit)
        };
        let app_id = id(&create_app(app, family, name, source).await);
        let mut ops = vec![
            replace("/enabled", json!(*name != "Echo")),
            replace("/provisionRequestEnabled", json!(true)),
            replace("/accessProfiles", json!([kit])),
        ];
        if *name == "Bravo" {
            ops.push(replace(
                "/owner",
                json!({"type": "IDENTITY", "id": other_owner}),
            ));
        }
        patch_app(app, family, &app_id, &Value::Array(ops)).await;
        out.push((name.to_string(), app_id));
    }
    out
}

#[tokio::test]
async fn lists_filter_sort_and_page_per_spec() {
    let (app, f) = setup().await;
    let other = app.seed_identity(&[]).await;
    let admin = admin_identity(&app).await;
    let apps = listed_apps(&app, &f, &other.id).await;
    let id_of = |n: &str| apps.iter().find(|(name, _)| name == n).unwrap().1.clone();
    let (hr, crm) = (f.source.id.clone(), f.other_source.id.clone());
    let filters: Vec<(String, Vec<&str>)> = vec![
        ("name co \"elt\"".into(), vec!["Delta"]),
        (
            "name in (\"Alpha\", \"Delta\")".into(),
            vec!["Alpha", "Delta"],
        ),
        ("name sw \"Br\"".into(), vec!["Bravo"]),
        ("name eq \"Charlie\"".into(), vec!["Charlie"]),
        (format!("id eq \"{}\"", id_of("Charlie")), vec!["Charlie"]),
        (
            format!("id in (\"{}\", \"{}\")", id_of("Alpha"), id_of("Bravo")),
            vec!["Alpha", "Bravo"],
        ),
        (
            format!("accountSource.id eq \"{crm}\""),
            vec!["Bravo", "Delta"],
        ),
        (
            format!("accountSource.id in (\"{hr}\", \"{UNKNOWN}\")"),
            vec!["Alpha", "Charlie"],
        ),
        (
            "created gt 2000-01-01T00:00:00Z".into(),
            vec!["Alpha", "Bravo", "Charlie", "Delta"],
        ),
        ("created lt 2000-01-01T00:00:00Z".into(), vec![]),
        (
            "modified ge 2000-01-01T00:00:00Z".into(),
            vec!["Alpha", "Bravo", "Charlie", "Delta"],
        ),
        ("modified lt 2000-01-01T00:00:00Z".into(), vec![]),
    ];
    for family in APP_FAMILIES {
        for list_path in [family.to_string(), format!("{family}/assigned")] {
            for (filter, expected) in &filters {
                let path = format!("{list_path}?sorters=name&filters={}", enc(filter));
                assert_eq!(
                    list_names(&app, &path).await,
                    *expected,
                    "{list_path} {filter}"
                );
            }
            assert_eq!(
                list_names(&app, &format!("{list_path}?sorters=-name")).await,
                ["Delta", "Charlie", "Bravo", "Alpha"]
            );
            // by account source, then name
            let mut expected = [
                (&hr, "Alpha"),
                (&hr, "Charlie"),
                (&crm, "Bravo"),
                (&crm, "Delta"),
            ];
            expected.sort();
            let expected: Vec<&str> = expected.iter().map(|(_, n)| *n).collect();
            assert_eq!(
                list_names(&app, &format!("{list_path}?sorters=accountSource.id,name")).await,
                expected,
                "{list_path}"
            );
            // paging and count
            let resp = send(
                &app,
                Method::GET,
                &format!("{list_path}?sorters=name&limit=2&offset=1&count=true"),
                None,
            )
            .await;
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["X-Total-Count"], "4", "{list_path}");
            assert_eq!(names(&resp.json().await.unwrap()), ["Bravo", "Charlie"]);
            let resp = send(&app, Method::GET, &list_path, None).await;
            assert!(
                resp.headers().get("X-Total-Count").is_none(),
                "no count unless asked"
            );
            assert!(list_names(&app, &format!("{list_path}?limit=0"))
                .await
                .is_empty());
            assert!(list_names(&app, &format!("{list_path}?offset=4"))
                .await
                .is_empty());
            for (query, mention) in [
                ("limit=251", "limit"),
                ("limit=-1", "limit"),
                ("offset=-1", "offset"),
                ("count=maybe", "count"),
                ("sorters=description", "description"),
                ("filters=enabled%20eq%20true", "enabled"),
                ("filters=description%20eq%20%22x%22", "description"),
                ("filters=name%20ne%20%22x%22", "ne"),
                ("filters=id%20sw%20%22x%22", "sw"),
                (
                    &*format!("filters={}", enc(&format!("owner.id eq \"{}\"", other.id))),
                    "owner.id",
                ),
            ] {
                let path = format!("{list_path}?{query}");
                bad_request(
                    send(&app, Method::GET, &path, None).await,
                    &[mention],
                    &path,
                )
                .await;
            }
        }
        // available sorts by owner.id too; assigned does not list it
        let mut expected = [
            (admin.id.as_str(), "Alpha"),
            (other.id.as_str(), "Bravo"),
            (admin.id.as_str(), "Charlie"),
            (admin.id.as_str(), "Delta"),
        ];
        expected.sort();
        let expected: Vec<&str> = expected.iter().map(|(_, n)| *n).collect();
        assert_eq!(
            list_names(&app, &format!("{family}?sorters=owner.id,name")).await,
            expected
        );
        let path = format!("{family}/assigned?sorters=owner.id");
        bad_request(
            send(&app, Method::GET, &path, None).await,
            &["owner.id"],
            &path,
        )
        .await;

        // all: every app, with owner.id and enabled filters
        let all = format!("{family}/all");
        let cases: Vec<(String, Vec<&str>)> = vec![
            ("enabled eq false".into(), vec!["Echo"]),
            (
                "enabled eq true".into(),
                vec!["Alpha", "Bravo", "Charlie", "Delta"],
            ),
            (format!("owner.id eq \"{}\"", other.id), vec!["Bravo"]),
            (format!("owner.id in (\"{}\")", other.id), vec!["Bravo"]),
            ("name co \"ho\"".into(), vec!["Echo"]),
            (
                "name in (\"Echo\", \"Alpha\")".into(),
                vec!["Alpha", "Echo"],
            ),
            (
                "modified gt 2000-01-01T00:00:00Z".into(),
                vec!["Alpha", "Bravo", "Charlie", "Delta", "Echo"],
            ),
            ("modified le 2000-01-01T00:00:00Z".into(), vec![]),
            (format!("id eq \"{}\"", id_of("Echo")), vec!["Echo"]),
        ];
        for (filter, expected) in &cases {
            let path = format!("{all}?sorters=name&filters={}", enc(filter));
            assert_eq!(list_names(&app, &path).await, *expected, "{all} {filter}");
        }
        assert_eq!(
            list_names(&app, &format!("{all}?sorters=-name&limit=2")).await,
            ["Echo", "Delta"]
        );
        let resp = send(
            &app,
            Method::GET,
            &format!("{all}?count=true&limit=1"),
            None,
        )
        .await;
        assert_eq!(resp.headers()["X-Total-Count"], "5");
        for (query, mention) in [
            ("limit=251", "limit"),
            ("sorters=enabled", "enabled"),
            ("filters=enabled%20ne%20true", "ne"),
        ] {
            let path = format!("{all}?{query}");
            bad_request(
                send(&app, Method::GET, &path, None).await,
                &[mention],
                &path,
            )
            .await;
        }
    }
}

/// The spec's allow-list of listAllSourceApp differs from the other two lists: no
/// `accountSource.id` filter, and `modified` without `lt` (docs: "filters and
/// sorters exactly as each operation's spec lists").
#[tokio::test]
async fn list_all_applies_its_own_allow_list() {
    let (app, f) = setup().await;
    create_app(&app, APP_FAMILIES[0], "Only", &f.source.id).await;
    for family in APP_FAMILIES {
        for (filter, mention) in [
            ("modified lt 2000-01-01T00:00:00Z".to_string(), "lt"),
            (
                format!("accountSource.id eq \"{}\"", f.source.id),
                "accountSource.id",
            ),
        ] {
            let path = format!("{family}/all?filters={}", enc(&filter));
            bad_request(
                send(&app, Method::GET, &path, None).await,
                &[mention],
                &path,
            )
            .await;
        }
        // sorting by accountSource.id and owner.id is listed for all
        let path = format!("{family}/all?sorters=accountSource.id,-owner.id");
        assert_eq!(list_names(&app, &path).await, ["Only"]);
    }
}

// ---------------------------------------------------------------- the app's access profiles

#[tokio::test]
async fn an_apps_access_profiles_are_access_profile_details_in_the_apps_order() {
    let (app, f) = setup().await;
    let group = body_of(
        app.post(
            "/beta/workgroups",
            &json!({"name": "Approvers", "description": "d", "owner": {"id": f.owner.id}}),
        )
        .await,
        200,
        "workgroup",
    )
    .await;
    let group_id = id(&group);
    let mut body = ap_body(&f, "Detailed");
    body["entitlements"] = json!([
        {"type": "ENTITLEMENT", "id": f.entitlements[0]},
        {"type": "ENTITLEMENT", "id": f.entitlements[1]},
    ]);
    let mut segments = Vec::new();
    for name in ["Segment 1", "Segment 2"] {
        let created = body_of(
            app.post("/v3/segments", &json!({"name": name})).await,
            201,
            "segment",
        )
        .await;
        segments.push(id(&created));
    }
    body["segments"] = json!(segments);
    body["accessRequestConfig"] = json!({
        "commentsRequired": true,
        "denialCommentsRequired": false,
        "approvalSchemes": [
            {"approverType": "MANAGER"},
            {"approverType": "APP_OWNER"},
            {"approverType": "SOURCE_OWNER"},
            {"approverType": "OWNER"},
            {"approverType": "GOVERNANCE_GROUP", "approverId": group_id},
        ],
    });
    body["revocationRequestConfig"] = json!({
        "approvalSchemes": [{"approverType": "OWNER"}, {"approverType": "MANAGER"}],
    });
    let detailed = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    let mut body = ap_body(&f, "Plain");
    body["description"] = Value::Null;
    body["enabled"] = json!(false);
    body["requestable"] = json!(false);
    body["entitlements"] = json!([{"type": "ENTITLEMENT", "id": f.entitlements[2]}]);
    body["accessRequestConfig"] =
        json!({"commentsRequired": false, "denialCommentsRequired": true});
    let plain = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;

    let created = create_app(&app, APP_FAMILIES[0], "Mail app", &f.source.id).await;
    let app_id = id(&created);
    let app_num: i64 = created["cloudAppId"]
        .as_str()
        .expect("cloudAppId")
        .parse()
        .expect("numeric cloudAppId");
    let expected_detailed = json!({
        "id": detailed["id"],
        "name": "Detailed",
        "description": "Detailed description",
        "created": detailed["created"],
        "modified": detailed["modified"],
        "disabled": false,
        "requestable": true,
        "protected": false,
        "ownerId": f.owner.id,
        "sourceId": f.source.num_id,
        "sourceName": "HR",
        "appId": app_num,
        "appName": "Mail app",
        "applicationId": app_id,
        "type": "source",
        "entitlements": [f.entitlements[0], f.entitlements[1]],
        "entitlementCount": 2,
        "segments": segments,
        "approvalSchemes": format!("manager,appOwner,sourceOwner,accessProfileOwner,workgroup:{group_id}"),
        "revokeRequestApprovalSchemes": "accessProfileOwner,manager",
        "requestCommentsRequired": true,
        "deniedCommentsRequired": false,
        "accountSelector": {"selectors": null},
    });
    let expected_plain = json!({
        "id": plain["id"],
        "name": "Plain",
        "description": null,
        "created": plain["created"],
        "modified": plain["modified"],
        "disabled": true,
        "requestable": false,
        "protected": false,
        "ownerId": f.owner.id,
        "sourceId": f.source.num_id,
        "sourceName": "HR",
        "appId": app_num,
        "appName": "Mail app",
        "applicationId": app_id,
        "type": "source",
        "entitlements": [f.entitlements[2]],
        "entitlementCount": 1,
        "segments": [],
        "approvalSchemes": "",
        "revokeRequestApprovalSchemes": "",
        "requestCommentsRequired": false,
        "deniedCommentsRequired": true,
        "accountSelector": {"selectors": null},
    });
    // the app's order, whichever it is
    for order in [
        [&expected_plain, &expected_detailed],
        [&expected_detailed, &expected_plain],
    ] {
        let aps: Vec<&Value> = order.iter().map(|d| &d["id"]).collect();
        patch_app(
            &app,
            APP_FAMILIES[1],
            &app_id,
            &json!([replace("/accessProfiles", json!(aps))]),
        )
        .await;
        for family in APP_FAMILIES {
            let got = details(&app, family, &app_id, "").await;
            assert_eq!(got, json!(order), "{family}");
            // the integer types, explicitly
            assert!(got[0]["sourceId"].is_i64() && got[0]["appId"].is_i64());
        }
    }
    // the source's numeric id differs from the other source's
    assert_ne!(f.source.num_id, f.other_source.num_id);
}

#[tokio::test]
async fn an_apps_access_profiles_filter_and_page_per_spec() {
    let (app, f) = setup().await;
    let mut by_name = Vec::new();
    for name in ["Delta", "Bravo", "Alpha", "Charlie"] {
        by_name.push((name, hr_profile(&app, &f, name).await));
    }
    let ap = |n: &str| {
        by_name
            .iter()
            .find(|(name, _)| *name == n)
            .unwrap()
            .1
            .clone()
    };
    let order: Vec<String> = by_name.iter().map(|(_, id)| id.clone()).collect();
    let app_id = app_holding(
        &app,
        APP_FAMILIES[0],
        "Filtered",
        &f.source.id,
        &order.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let everything = vec!["Delta", "Bravo", "Alpha", "Charlie"];
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("id eq \"{}\"", ap("Alpha")), vec!["Alpha"]),
        (
            format!("id in (\"{}\", \"{}\")", ap("Charlie"), ap("Bravo")),
            vec!["Bravo", "Charlie"],
        ),
        ("name eq \"Alpha\"".into(), vec!["Alpha"]),
        (
            "name in (\"Charlie\", \"Delta\")".into(),
            vec!["Delta", "Charlie"],
        ),
        ("created gt 2000-01-01T00:00:00Z".into(), everything.clone()),
        ("created lt 2000-01-01T00:00:00Z".into(), vec![]),
        ("created le 2999-01-01T00:00:00Z".into(), everything.clone()),
        (
            "modified ge 2000-01-01T00:00:00Z".into(),
            everything.clone(),
        ),
        ("modified le 2000-01-01T00:00:00Z".into(), vec![]),
    ];
    for family in APP_FAMILIES {
        assert_eq!(names(&details(&app, family, &app_id, "").await), everything);
        for (filter, expected) in &cases {
            let query = format!("?filters={}", enc(filter));
            let got = details(&app, family, &app_id, &query).await;
            assert_eq!(names(&got), *expected, "{family} {filter}");
        }
        let got = details(&app, family, &app_id, "?limit=2&offset=1").await;
        assert_eq!(names(&got), ["Bravo", "Alpha"]);
        assert_eq!(details(&app, family, &app_id, "?limit=0").await, json!([]));
        assert_eq!(details(&app, family, &app_id, "?offset=4").await, json!([]));
        for (query, mention) in [
            ("filters=name%20sw%20%22A%22", "sw"),
            ("filters=name%20co%20%22A%22", "co"),
            ("filters=requestable%20eq%20true", "requestable"),
            ("limit=251", "limit"),
            ("limit=-1", "limit"),
            ("offset=-1", "offset"),
        ] {
            let path = format!("{family}/{app_id}/access-profiles?{query}");
            bad_request(
                send(&app, Method::GET, &path, None).await,
                &[mention],
                &path,
            )
            .await;
        }
    }
}

// ---------------------------------------------------------------- bulk remove

#[tokio::test]
async fn bulk_remove_unlinks_the_profiles_and_answers_with_the_rest() {
    let (app, f) = setup().await;
    for (i, family) in APP_FAMILIES.iter().enumerate() {
        let mut aps = Vec::new();
        for n in ["A", "B", "C", "D"] {
            aps.push(hr_profile(&app, &f, &format!("{n}{i}")).await);
        }
        let refs: Vec<&str> = aps.iter().map(String::as_str).collect();
        let app_id = app_holding(&app, family, &format!("Remover {i}"), &f.source.id, &refs).await;
        let path = format!("{family}/{app_id}/access-profiles/bulk-remove");
        let resp = send(&app, Method::POST, &path, Some(&json!([aps[1]]))).await;
        let rest = body_of(resp, 200, &path).await;
        assert_eq!(ids(&rest), [aps[0].clone(), aps[2].clone(), aps[3].clone()]);
        // the answer is the AccessProfileDetails list the app now shows
        assert_eq!(rest, details(&app, family, &app_id, "").await);
        assert!(
            profile_exists(&app, &aps[1]).await,
            "the profile itself stays"
        );
        // the answer is cut at `limit`; the removal is not
        let resp = send(
            &app,
            Method::POST,
            &format!("{path}?limit=1"),
            Some(&json!([aps[3]])),
        )
        .await;
        assert_eq!(ids(&body_of(resp, 200, &path).await), [aps[0].clone()]);
        assert_eq!(
            held(&app, family, &app_id).await,
            [aps[0].clone(), aps[2].clone()]
        );
        let resp = send(
            &app,
            Method::POST,
            &format!("{path}?limit=0"),
            Some(&json!([aps[2]])),
        )
        .await;
        assert_eq!(body_of(resp, 200, &path).await, json!([]));
        assert_eq!(held(&app, family, &app_id).await, [aps[0].clone()]);
        // the last one: nothing remains
        let resp = send(&app, Method::POST, &path, Some(&json!([aps[0]]))).await;
        assert_eq!(body_of(resp, 200, &path).await, json!([]));
        for read_on in APP_FAMILIES {
            assert!(held(&app, read_on, &app_id).await.is_empty());
            assert_eq!(get_app(&app, read_on, &app_id).await["id"], app_id.as_str());
        }
        for ap in &aps {
            assert!(profile_exists(&app, ap).await);
        }
    }
}

#[tokio::test]
async fn bulk_remove_rejects_bad_bodies_and_removes_nothing() {
    let (app, f) = setup().await;
    let a = hr_profile(&app, &f, "On app A").await;
    let b = hr_profile(&app, &f, "On app B").await;
    let elsewhere = hr_profile(&app, &f, "Not on the app").await;
    let ghost = "5".repeat(32);
    let too_many: Vec<String> = (0..51).map(|i| format!("{i:032x}")).collect();
    for (i, family) in APP_FAMILIES.iter().enumerate() {
        let app_id = app_holding(
            &app,
            family,
            &format!("Guarded {i}"),
            &f.source.id,
            &[&a, &b],
        )
        .await;
        let path = format!("{family}/{app_id}/access-profiles/bulk-remove");
        let cases: Vec<(&str, String, Value, Vec<&str>)> = vec![
            ("an object", path.clone(), json!({"ids": [a]}), vec![]),
            ("a string", path.clone(), json!(a), vec![]),
            ("null", path.clone(), Value::Null, vec![]),
            ("empty", path.clone(), json!([]), vec![]),
            ("51 ids", path.clone(), json!(too_many), vec!["50"]),
            ("duplicates", path.clone(), json!([a, a]), vec![]),
            ("a number", path.clone(), json!([a, 7]), vec![]),
            ("a null id", path.clone(), json!([a, null]), vec![]),
            (
                "a profile not on the app",
                path.clone(),
                json!([a, elsewhere]),
                vec![elsewhere.as_str()],
            ),
            (
                "an unknown profile",
                path.clone(),
                json!([ghost, b]),
                vec![ghost.as_str()],
            ),
            (
                "limit 251",
                format!("{path}?limit=251"),
                json!([a]),
                vec!["limit"],
            ),
            (
                "limit -1",
                format!("{path}?limit=-1"),
                json!([a]),
                vec!["limit"],
            ),
        ];
        for (what, path, body, needles) in &cases {
            let resp = send(&app, Method::POST, path, Some(body)).await;
            bad_request(resp, needles, &format!("{family} {what}")).await;
            assert_eq!(
                held(&app, family, &app_id).await,
                [a.clone(), b.clone()],
                "{family}: nothing removed after {what}"
            );
        }
        let resp = app
            .request(Method::POST, &path)
            .header(EXPERIMENTAL, "true")
            .header("Content-Type", "application/json")
            .body("[\"abc\",")
            .send()
            .await
            .unwrap();
        bad_request(resp, &["not valid"], &format!("{family} malformed JSON")).await;
        assert_eq!(held(&app, family, &app_id).await, [a.clone(), b.clone()]);
    }
}

// ---------------------------------------------------------------- the experimental header

/// The ten operations of a family, as (method, path, body, success status). The
/// `held` app must hold `ap`; `doomed` is deleted.
fn operations(
    prefix: &str,
    held: &str,
    doomed: &str,
    ap: &str,
    source_id: &str,
    tag: &str,
) -> Vec<(Method, String, Option<Value>, u16)> {
    vec![
        (Method::GET, prefix.to_string(), None, 200),
        (Method::GET, format!("{prefix}/all"), None, 200),
        (Method::GET, format!("{prefix}/assigned"), None, 200),
        (
            Method::POST,
            prefix.to_string(),
            Some(create_body(&format!("Made {tag}"), source_id)),
            200,
        ),
        (Method::GET, format!("{prefix}/{held}"), None, 200),
        (
            Method::PATCH,
            format!("{prefix}/{held}"),
            Some(json!([replace(
                "/description",
                json!(format!("patched {tag}"))
            )])),
            200,
        ),
        (
            Method::POST,
            format!("{prefix}/bulk-update"),
            Some(
                json!({"appIds": [held], "jsonPatch": [replace("/matchAllAccounts", json!(true))]}),
            ),
            204,
        ),
        (
            Method::GET,
            format!("{prefix}/{held}/access-profiles"),
            None,
            200,
        ),
        (
            Method::POST,
            format!("{prefix}/{held}/access-profiles/bulk-remove"),
            Some(json!([ap])),
            200,
        ),
        (Method::DELETE, format!("{prefix}/{doomed}"), None, 200),
    ]
}

/// Runs the ten operations with this header value and checks that they took effect.
async fn run_operations(app: &TestApp, f: &Fixture, prefix: &str, header: Option<&str>, tag: &str) {
    let ap = hr_profile(app, f, &format!("Kit {tag}")).await;
    let held_id = app_holding(
        app,
        APP_FAMILIES[0],
        &format!("Held {tag}"),
        &f.source.id,
        &[&ap],
    )
    .await;
    let doomed =
        id(&create_app(app, APP_FAMILIES[0], &format!("Doomed {tag}"), &f.source.id).await);
    for (method, path, body, ok) in operations(prefix, &held_id, &doomed, &ap, &f.source.id, tag) {
        let what = format!("{method} {path} with header {header:?}");
        let resp = raw(
            app,
            Some(app.token.as_str()),
            header,
            method,
            &path,
            body.as_ref(),
        )
        .await;
        body_of(resp, ok, &what).await;
    }
    let now = get_app(app, APP_FAMILIES[0], &held_id).await;
    assert_eq!(now["description"], format!("patched {tag}"));
    assert_eq!(now["matchAllAccounts"], true);
    assert!(held(app, APP_FAMILIES[0], &held_id).await.is_empty());
    let all = names(&all_apps(app).await);
    assert!(all.contains(&format!("Made {tag}")), "{all:?}");
    assert!(!all.contains(&format!("Doomed {tag}")), "{all:?}");
}

#[tokio::test]
async fn v1_requires_the_experimental_header_on_every_operation() {
    let (app, f) = setup().await;
    let prefix = APP_FAMILIES[1];
    let ap = hr_profile(&app, &f, "Kit").await;
    let held_id = app_holding(&app, prefix, "Held", &f.source.id, &[&ap]).await;
    let doomed = id(&create_app(&app, prefix, "Doomed", &f.source.id).await);
    let before = all_apps(&app).await;
    // an identity with no app rights at all: the header is checked before the rights
    let (no_rights, _) = app.token_for(&[], &["idn:access-profile:read"]).await;
    let ops = operations(prefix, &held_id, &doomed, &ap, &f.source.id, "v1");
    assert_eq!(ops.len(), 10);
    for (method, path, body, _) in &ops {
        for (token, header) in [
            (&app.token, None),
            (&app.token, Some("false")),
            (&app.token, Some("yes")),
            (&app.token, Some("")),
            (&no_rights, None),
        ] {
            let what = format!("{method} {path} with header {header:?}");
            let resp = raw(
                &app,
                Some(token),
                header,
                method.clone(),
                path,
                body.as_ref(),
            )
            .await;
            assert_eq!(
                body_of(resp, 400, &what).await,
                json!({"error": HEADER_ERROR}),
                "{what}"
            );
        }
        // authentication comes first
        let resp = raw(&app, None, None, method.clone(), path, body.as_ref()).await;
        let what = format!("{method} {path} without a token");
        assert_eq!(
            body_of(resp, 401, &what).await,
            json!({"error": "JWT is required"})
        );
    }
    assert_eq!(all_apps(&app).await, before, "nothing changed");
    assert_eq!(held(&app, prefix, &held_id).await, [ap.as_str()]);
    // with the header (any case), every operation works
    for (i, (method, path, body, ok)) in ops.into_iter().enumerate() {
        let value = ["true", "TRUE", "True"][i % 3];
        let what = format!("{method} {path} with header {value}");
        let resp = raw(
            &app,
            Some(app.token.as_str()),
            Some(value),
            method,
            &path,
            body.as_ref(),
        )
        .await;
        body_of(resp, ok, &what).await;
    }
    assert!(held(&app, prefix, &held_id).await.is_empty());
    let all = names(&all_apps(&app).await);
    assert!(all.contains(&"Made v1".to_string()) && !all.contains(&"Doomed".to_string()));
    // the full round trip once more, all with `true`
    run_operations(&app, &f, prefix, Some("true"), "again").await;
}

#[tokio::test]
async fn beta_works_with_and_without_the_experimental_header() {
    let (app, f) = setup().await;
    run_operations(&app, &f, APP_FAMILIES[0], None, "bare").await;
    run_operations(&app, &f, APP_FAMILIES[0], Some("true"), "flagged").await;
}

// ---------------------------------------------------------------- in use

#[tokio::test]
async fn a_profile_held_by_an_app_cannot_be_deleted_until_removed_from_it() {
    let (app, f) = setup().await;
    let kit = hr_profile(&app, &f, "Held kit").await;
    let free = hr_profile(&app, &f, "Free kit").await;
    let first = app_holding(&app, APP_FAMILIES[0], "Holder", &f.source.id, &[&kit]).await;
    let second = app_holding(
        &app,
        APP_FAMILIES[1],
        "Second holder",
        &f.source.id,
        &[&free, &kit],
    )
    .await;
    // `free` is also held by the second app; drop it there so it is really free
    let resp = send(
        &app,
        Method::POST,
        &format!("{}/{second}/access-profiles/bulk-remove", APP_FAMILIES[1]),
        Some(&json!([free])),
    )
    .await;
    assert_eq!(
        ids(&body_of(resp, 200, "bulk remove").await),
        [kit.as_str()]
    );
    for prefix in FAMILIES {
        let text = isc(
            app.delete(&format!("{prefix}/{kit}")).await,
            400,
            "400.2.1.0 Object in use by another",
            prefix,
        )
        .await;
        assert_eq!(
            text,
            "The \"Held kit\" access profile can't be deleted because it's in use."
        );
    }
    let mut expected_users = vec![
        json!({"type": "APPLICATION", "id": first, "name": "Holder"}),
        json!({"type": "APPLICATION", "id": second, "name": "Second holder"}),
    ];
    expected_users.sort_by_key(|u| u["id"].as_str().unwrap().to_string());
    for prefix in FAMILIES {
        for flag in [None, Some(json!(false))] {
            let mut body = json!({"accessProfileIds": [kit, free]});
            if let Some(v) = flag.clone() {
                body["bestEffortOnly"] = v;
            }
            let path = format!("{prefix}/bulk-delete");
            let answer = body_of(app.post(&path, &body).await, 200, &path).await;
            assert_eq!(answer["pending"], json!([]), "{answer}");
            assert!(answer.get("taskId").is_none_or(Value::is_null));
            let in_use = answer["inUse"].as_array().expect("inUse");
            assert_eq!(in_use.len(), 1, "{answer}");
            assert_eq!(in_use[0]["accessProfileId"], kit.as_str());
            let mut users = in_use[0]["usedBy"].as_array().expect("usedBy").clone();
            users.sort_by_key(|u| u["id"].as_str().unwrap().to_string());
            assert_eq!(users, expected_users, "{prefix}");
        }
    }
    assert!(profile_exists(&app, &kit).await && profile_exists(&app, &free).await);
    // best effort: the free one goes, the held one stays
    let answer = body_of(
        app.post(
            "/v3/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [kit, free], "bestEffortOnly": true}),
        )
        .await,
        202,
        "best effort",
    )
    .await;
    assert_eq!(answer["pending"], json!([free]));
    assert_eq!(answer["inUse"][0]["usedBy"][0]["type"], "APPLICATION");
    app.drain_tasks().await;
    assert!(!profile_exists(&app, &free).await);
    assert!(profile_exists(&app, &kit).await);
    // removed from one app it is still in use by the other; from both, it can go
    let remove =
        |app_id: &str, family: &str| format!("{family}/{app_id}/access-profiles/bulk-remove");
    let resp = send(
        &app,
        Method::POST,
        &remove(&first, APP_FAMILIES[0]),
        Some(&json!([kit])),
    )
    .await;
    assert_eq!(body_of(resp, 200, "remove from first").await, json!([]));
    isc(
        app.delete(&format!("/v3/access-profiles/{kit}")).await,
        400,
        "400.2.1.0 Object in use by another",
        "still held by the second app",
    )
    .await;
    let resp = send(
        &app,
        Method::POST,
        &remove(&second, APP_FAMILIES[1]),
        Some(&json!([kit])),
    )
    .await;
    assert_eq!(body_of(resp, 200, "remove from second").await, json!([]));
    let resp = app.delete(&format!("/v3/access-profiles/{kit}")).await;
    assert_eq!(resp.status(), 204);
    assert!(!profile_exists(&app, &kit).await);
}

#[tokio::test]
async fn a_held_profile_cannot_move_to_another_source() {
    let (app, f) = setup().await;
    let kit = hr_profile(&app, &f, "Anchored").await;
    let loose = hr_profile(&app, &f, "Loose").await;
    let app_id = app_holding(&app, APP_FAMILIES[0], "Anchor", &f.source.id, &[&kit]).await;
    let ops = json!([
        replace(
            "/source",
            json!({"type": "SOURCE", "id": f.other_source.id})
        ),
        replace(
            "/entitlements",
            json!([{"type": "ENTITLEMENT", "id": f.other_entitlements[0]}])
        ),
    ]);
    let before = app.get_json(&format!("/v3/access-profiles/{kit}")).await;
    let resp = app.patch(&format!("/v3/access-profiles/{kit}"), &ops).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("an ISC body");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detailCode"]
            .as_str()
            .is_some_and(|c| c.starts_with("400")),
        "{body}"
    );
    assert_eq!(
        app.get_json(&format!("/v3/access-profiles/{kit}")).await,
        before
    );
    assert_eq!(held(&app, APP_FAMILIES[0], &app_id).await, [kit.as_str()]);
    // the same patch on a profile no app holds is fine
    let resp = app
        .patch(&format!("/v3/access-profiles/{loose}"), &ops)
        .await;
    assert_eq!(resp.status(), 200);
}

// ---------------------------------------------------------------- rights

#[tokio::test]
async fn writes_need_the_manage_scope_and_change_nothing_without_it() {
    let (app, f) = setup().await;
    let ap = hr_profile(&app, &f, "Guarded kit").await;
    let (reader, _) = app.token_for(&["ORG_ADMIN"], &["idn:app-roles:read"]).await;
    let (stranger, _) = app
        .token_for(&["ORG_ADMIN"], &["idn:access-profile:read"])
        .await;
    for family in APP_FAMILIES {
        let app_id = app_holding(
            &app,
            family,
            &format!("Guarded {family}"),
            &f.source.id,
            &[&ap],
        )
        .await;
        let before = all_apps(&app).await;
        for (method, path, body) in [
            (
                Method::POST,
                family.to_string(),
                Some(create_body("Intruder", &f.source.id)),
            ),
            (
                Method::PATCH,
                format!("{family}/{app_id}"),
                Some(json!([replace("/name", json!("Taken over"))])),
            ),
            (Method::DELETE, format!("{family}/{app_id}"), None),
            (
                Method::POST,
                format!("{family}/bulk-update"),
                Some(json!({"appIds": [app_id], "jsonPatch": [replace("/enabled", json!(true))]})),
            ),
            (
                Method::POST,
                format!("{family}/{app_id}/access-profiles/bulk-remove"),
                Some(json!([ap])),
            ),
            (
                Method::GET,
                format!("{family}/{app_id}/access-profiles"),
                None,
            ),
        ] {
            let what = format!("read-only {method} {path}");
            let resp = send_as(&app, &reader, method, &path, body.as_ref()).await;
            isc(resp, 403, "403 Forbidden", &what).await;
        }
        assert_eq!(all_apps(&app).await, before, "{family}: nothing changed");
        assert_eq!(held(&app, family, &app_id).await, [ap.as_str()]);
        // the read scope reads
        for path in [
            family.to_string(),
            format!("{family}/all"),
            format!("{family}/assigned"),
            format!("{family}/{app_id}"),
        ] {
            let resp = send_as(&app, &reader, Method::GET, &path, None).await;
            body_of(resp, 200, &format!("read-only {path}")).await;
        }
        // no app scope at all: not even a read
        for path in [family.to_string(), format!("{family}/{app_id}")] {
            let resp = send_as(&app, &stranger, Method::GET, &path, None).await;
            isc(resp, 403, "403 Forbidden", &format!("no app scope {path}")).await;
        }
    }
}

/// `patchSourceApp` and `updateSourceAppsInBulk` declare their body optional: a request
/// without one changes nothing (200 with the app as it is; 204), not a 415.
#[tokio::test]
async fn a_patch_or_bulk_update_without_a_body_changes_nothing() {
    let (app, f) = setup().await;
    for family in APP_FAMILIES {
        let created = create_app(
            &app,
            family,
            &format!("Bare {}", &family[1..5]),
            &f.source.id,
        )
        .await;
        let app_id = id(&created);
        let before = get_app(&app, family, &app_id).await;
        let path = format!("{family}/{app_id}");
        let resp = send(&app, Method::PATCH, &path, None).await;
        let patched = body_of(resp, 200, &format!("PATCH {path} without a body")).await;
        assert_eq!(patched["id"], before["id"]);
        assert_eq!(patched["name"], before["name"]);
        assert_eq!(patched["enabled"], before["enabled"]);
        let resp = send(&app, Method::POST, &format!("{family}/bulk-update"), None).await;
        assert_eq!(
            body_of(resp, 204, &format!("{family}/bulk-update without a body")).await,
            Value::Null
        );
        assert_eq!(get_app(&app, family, &app_id).await, before);
    }
}
