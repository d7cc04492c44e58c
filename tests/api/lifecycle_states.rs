//! Lifecycle states of identity profiles: v3 list/create/get/patch/delete, v1
//! list/create. Identity profiles have no API; they are seeded through the store.

use serde_json::{json, Value};

use crate::helpers::*;

fn v3(profile: &str) -> String {
    format!("/v3/identity-profiles/{profile}/lifecycle-states")
}

fn v1(profile: &str) -> String {
    format!("/identity-profiles/v1/{profile}/lifecycle-states")
}

fn state_body(name: &str, technical: &str, access_profiles: &[&str]) -> Value {
    json!({
        "name": name,
        "technicalName": technical,
        "description": format!("{name} state"),
        "enabled": true,
        "accessProfileIds": access_profiles,
    })
}

/// Two access profiles on the fixture's source; returns their ids.
async fn two_access_profiles(app: &TestApp) -> (String, String) {
    let f = app.fixture().await;
    let mut ids = Vec::new();
    for name in ["Payroll", "Benefits"] {
        let ap = app
            .create_access_profile("/v3/access-profiles", &ap_body(&f, name))
            .await;
        ids.push(ap["id"].as_str().unwrap().to_string());
    }
    (ids[0].clone(), ids[1].clone())
}

/// Creates a state through `path`, asserting 201.
async fn create_state(app: &TestApp, path: &str, body: &Value) -> Value {
    let resp = app.post(path, body).await;
    let status = resp.status();
    let json: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "create failed: {json}");
    json
}

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.request(reqwest::Method::DELETE, path)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_state_created_on_v3_or_v1_keeps_its_access_profiles_in_order() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let (a, b) = two_access_profiles(&app).await;

    let created = create_state(
        &app,
        &v3(&profile.id),
        &state_body("Active", "active", &[&b, &a]),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(created["name"], "Active");
    assert_eq!(created["technicalName"], "active");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["identityCount"], 0);
    assert_eq!(created["accessProfileIds"], json!([b, a]));
    assert!(created["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["created"], created["modified"]);

    let resp = app.get(&format!("{}/{id}", v3(&profile.id))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), created);

    let on_v1 = create_state(
        &app,
        &v1(&profile.id),
        &state_body("Leaver", "leaver", &[&a]),
    )
    .await;
    assert_eq!(on_v1["accessProfileIds"], json!([a]));
    for path in [v3(&profile.id), v1(&profile.id)] {
        let list: Vec<Value> = app.get(&path).await.json().await.unwrap();
        assert_eq!(list, vec![created.clone(), on_v1.clone()], "{path}");
    }
}

#[tokio::test]
async fn the_document_has_null_where_the_schemas_allow_it_and_leaves_out_the_rest() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    // The Python SDKs send explicit nulls for every optional field.
    let body = json!({
        "name": "Bare", "technicalName": "bare", "description": null, "enabled": null,
        "emailNotificationOption": null, "accountActions": null, "accessProfileIds": null,
        "identityState": null, "accessActionConfiguration": null, "priority": null,
        "id": "f".repeat(32), "identityCount": 42,
    });
    let bare = create_state(&app, &v1(&profile.id), &body).await;
    assert_ne!(bare["id"], "f".repeat(32));
    // Nullable in both schemas: present as null.
    for field in ["identityState", "priority"] {
        assert_eq!(bare.get(field), Some(&Value::Null), "{field}");
    }
    // Not nullable (v3 `description`, both `emailNotificationOption`, v1
    // `accessActionConfiguration`): left out.
    for field in [
        "description",
        "emailNotificationOption",
        "accessActionConfiguration",
    ] {
        assert_eq!(bare.get(field), None, "{field}");
    }
    assert_eq!(bare["enabled"], false);
    assert_eq!(bare["identityCount"], 0);
    assert_eq!(bare["accountActions"], json!([]));
    assert_eq!(bare["accessProfileIds"], json!([]));

    let full = create_state(
        &app,
        &v1(&profile.id),
        &json!({
            "name": "Full", "technicalName": "full", "priority": 20,
            "identityState": "INACTIVE_LONG_TERM",
            "emailNotificationOption": {"notifyManagers": true, "emailAddressList": ["a@b.c"]},
            "accountActions": [{"action": "DISABLE", "allSources": true}],
            "accessActionConfiguration": {"removeAllAccessEnabled": true},
        }),
    )
    .await;
    assert_eq!(full["priority"], 20);
    assert_eq!(full["identityState"], "INACTIVE_LONG_TERM");
    assert_eq!(
        full["emailNotificationOption"],
        json!({"notifyManagers": true, "notifyAllAdmins": false,
               "notifySpecificUsers": false, "emailAddressList": ["a@b.c"]})
    );
    assert_eq!(
        full["accountActions"],
        json!([{"action": "DISABLE", "sourceIds": null, "excludeSourceIds": null, "allSources": true}])
    );
    assert_eq!(
        full["accessActionConfiguration"],
        json!({"removeAllAccessEnabled": true})
    );
}

#[tokio::test]
async fn invalid_states_are_rejected_with_the_reason_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let (a, _) = two_access_profiles(&app).await;
    let missing = "9".repeat(32);
    let cases = [
        (json!({"name": "X"}), "technicalName is required"),
        (json!({"technicalName": "x"}), "name is required"),
        (
            json!({"name": "X", "technicalName": "x", "enabled": "true"}),
            "The request body is not valid",
        ),
        (
            json!({"name": "X", "technicalName": "x", "accessProfileIds": [a, a]}),
            "more than once",
        ),
        (
            json!({"name": "X", "technicalName": "x", "accessProfileIds": [a, missing]}),
            &format!("accessProfileIds names access profiles that do not exist: {missing}."),
        ),
        (
            json!({"name": "X", "technicalName": "x", "identityState": "GONE"}),
            "identityState 'GONE'",
        ),
        (
            json!({"name": "X", "technicalName": "x", "accountActions": [{"action": "ENABLE"}]}),
            "sourceIds is required",
        ),
    ];
    for (body, reason) in cases {
        let text = assert_isc_error(
            app.post(&v3(&profile.id), &body).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(text.contains(reason), "{body}: {text}");
    }
    let list: Vec<Value> = app.get(&v3(&profile.id)).await.json().await.unwrap();
    assert!(list.is_empty());
}

#[tokio::test]
async fn a_duplicate_technical_name_is_a_400_but_another_profile_may_reuse_it() {
    let app = TestApp::spawn().await;
    let employees = app.seed_identity_profile("Employees").await;
    let contractors = app.seed_identity_profile("Contractors").await;
    create_state(
        &app,
        &v3(&employees.id),
        &state_body("Active", "active", &[]),
    )
    .await;
    let resp = app
        .post(
            &v1(&employees.id),
            &state_body("Also active", "active", &[]),
        )
        .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(
        text.contains("technical name 'active' already exists"),
        "{text}"
    );
    create_state(
        &app,
        &v3(&contractors.id),
        &state_body("Active", "active", &[]),
    )
    .await;
}

#[tokio::test]
async fn lists_sort_page_and_count_as_documented() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    for (name, priority) in [("Bravo", 30), ("Alpha", 10), ("Charlie", 20)] {
        let mut body = state_body(name, &name.to_lowercase(), &[]);
        body["priority"] = json!(priority);
        create_state(&app, &v3(&profile.id), &body).await;
    }
    let names = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let path = v3(&profile.id);
    let list = app.get(&path).await.json().await.unwrap();
    assert_eq!(names(list), ["Bravo", "Alpha", "Charlie"], "creation order");
    let list = app
        .get(&format!("{path}?sorters=priority"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(list), ["Alpha", "Charlie", "Bravo"]);
    let resp = app
        .get(&format!(
            "{}?sorters=-name&limit=2&offset=1&count=true",
            v1(&profile.id)
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["X-Total-Count"], "3");
    assert_eq!(names(resp.json().await.unwrap()), ["Bravo", "Alpha"]);

    for (query, reason) in [
        (
            "sorters=technicalName",
            "sorter field 'technicalName' is not supported",
        ),
        (
            "filters=name%20eq%20%22Alpha%22",
            "does not support the filters parameter",
        ),
        ("limit=251", "Invalid limit"),
        ("offset=-1", "Invalid offset"),
    ] {
        let text = assert_isc_error(
            app.get(&format!("{path}?{query}")).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(text.contains(reason), "{query}: {text}");
    }
}

#[tokio::test]
async fn patch_changes_the_documented_fields_and_keeps_the_order_of_access_profiles() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let (a, b) = two_access_profiles(&app).await;
    let created = create_state(
        &app,
        &v3(&profile.id),
        &state_body("Active", "active", &[&a]),
    )
    .await;
    let path = format!("{}/{}", v3(&profile.id), created["id"].as_str().unwrap());

    app.clock.advance(5);
    let resp = app
        .patch(
            &path,
            &json!([
                {"op": "replace", "path": "/accessProfileIds", "value": [b, a]},
                {"op": "replace", "path": "/description", "value": "Updated"},
                {"op": "replace", "path": "/enabled", "value": false},
                {"op": "replace", "path": "/accountActions",
                 "value": [{"action": "ENABLE", "sourceIds": ["s1"]}]},
            ]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(patched["accessProfileIds"], json!([b, a]));
    assert_eq!(patched["description"], "Updated");
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["accountActions"][0]["sourceIds"], json!(["s1"]));
    assert_eq!(patched["created"], created["created"]);
    assert_ne!(patched["modified"], created["modified"]);
    let got: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(got, patched);

    let resp = app
        .patch(
            &path,
            &json!([{"op": "remove", "path": "/accessProfileIds/0"}]),
        )
        .await;
    let after: Value = resp.json().await.unwrap();
    assert_eq!(after["accessProfileIds"], json!([a]));
}

#[tokio::test]
async fn a_rejected_patch_changes_nothing() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let (a, _) = two_access_profiles(&app).await;
    let created = create_state(
        &app,
        &v3(&profile.id),
        &state_body("Active", "active", &[&a]),
    )
    .await;
    let path = format!("{}/{}", v3(&profile.id), created["id"].as_str().unwrap());
    let missing = "8".repeat(32);
    for (ops, reason) in [
        (
            json!([{"op": "replace", "path": "/name", "value": "Renamed"}]),
            "'/name' is not patchable",
        ),
        (
            json!([{"op": "replace", "path": "/technicalName", "value": "renamed"}]),
            "'/technicalName' is not patchable",
        ),
        (
            json!([
                {"op": "replace", "path": "/description", "value": "changed"},
                {"op": "add", "path": "/accessProfileIds/-", "value": missing},
            ]),
            &format!("do not exist: {missing}"),
        ),
        (
            json!([{"op": "add", "path": "/accessProfileIds/-", "value": a}]),
            "more than once",
        ),
        (json!([]), "at least one operation"),
    ] {
        let text = assert_isc_error(
            app.patch(&path, &ops).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(text.contains(reason), "{ops}: {text}");
    }
    let got: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(got, created);
}

#[tokio::test]
async fn delete_answers_202_with_the_deleted_state_and_then_it_is_gone() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let (a, _) = two_access_profiles(&app).await;
    let created = create_state(
        &app,
        &v3(&profile.id),
        &state_body("Leaver", "leaver", &[&a]),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("{}/{id}", v3(&profile.id));
    let resp = delete(&app, &path).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"type": "LIFECYCLE_STATE", "id": id, "name": "Leaver"})
    );
    assert_isc_error(app.get(&path).await, 404, "404 Not found").await;
    assert_isc_error(delete(&app, &path).await, 404, "404 Not found").await;
    let list: Vec<Value> = app.get(&v3(&profile.id)).await.json().await.unwrap();
    assert!(list.is_empty());
    // Deleting the state leaves the access profile it used in place.
    assert_eq!(
        app.get(&format!("/v3/access-profiles/{a}")).await.status(),
        200
    );
}

#[tokio::test]
async fn an_unknown_identity_profile_is_a_404_on_every_route() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let created = create_state(&app, &v3(&profile.id), &state_body("Active", "active", &[])).await;
    let state_id = created["id"].as_str().unwrap();
    let unknown = "0".repeat(32);
    let body = state_body("Active", "active", &[]);
    let single = format!("{}/{state_id}", v3(&unknown));
    let responses = vec![
        app.get(&v3(&unknown)).await,
        app.get(&v1(&unknown)).await,
        app.post(&v3(&unknown), &body).await,
        app.post(&v1(&unknown), &body).await,
        app.get(&single).await,
        app.patch(
            &single,
            &json!([{"op": "replace", "path": "/enabled", "value": false}]),
        )
        .await,
        delete(&app, &single).await,
    ];
    for resp in responses {
        let text = assert_isc_error(resp, 404, "404 Not found").await;
        assert!(text.contains("identity profile"), "{text}");
    }
}

#[tokio::test]
async fn a_state_of_another_identity_profile_is_a_404() {
    let app = TestApp::spawn().await;
    let employees = app.seed_identity_profile("Employees").await;
    let contractors = app.seed_identity_profile("Contractors").await;
    let created = create_state(
        &app,
        &v3(&employees.id),
        &state_body("Active", "active", &[]),
    )
    .await;
    let wrong = format!(
        "{}/{}",
        v3(&contractors.id),
        created["id"].as_str().unwrap()
    );
    assert_isc_error(app.get(&wrong).await, 404, "404 Not found").await;
    let ops = json!([{"op": "replace", "path": "/enabled", "value": false}]);
    assert_isc_error(app.patch(&wrong, &ops).await, 404, "404 Not found").await;
    assert_isc_error(delete(&app, &wrong).await, 404, "404 Not found").await;
    let unknown_state = format!("{}/{}", v3(&employees.id), "7".repeat(32));
    let text = assert_isc_error(app.get(&unknown_state).await, 404, "404 Not found").await;
    assert!(text.contains("lifecycle state"), "{text}");
    // Still there, unchanged, under its own profile.
    let right = format!("{}/{}", v3(&employees.id), created["id"].as_str().unwrap());
    assert_eq!(
        app.get(&right).await.json::<Value>().await.unwrap(),
        created
    );
}

#[tokio::test]
async fn v1_has_only_list_and_create() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let created = create_state(&app, &v1(&profile.id), &state_body("Active", "active", &[])).await;
    let single = format!("{}/{}", v1(&profile.id), created["id"].as_str().unwrap());
    assert_isc_error(app.get(&single).await, 404, "404 Not found").await;
    assert_isc_error(delete(&app, &single).await, 404, "404 Not found").await;
    let v3_single = format!("{}/{}", v3(&profile.id), created["id"].as_str().unwrap());
    assert_eq!(app.get(&v3_single).await.status(), 200);
}

#[tokio::test]
async fn a_token_without_the_lifecycle_state_rights_is_forbidden() {
    let app = TestApp::spawn().await;
    let profile = app.seed_identity_profile("Employees").await;
    let body = state_body("Active", "active", &[]);
    let (reader, _) = app
        .token_for(
            &["ORG_ADMIN"],
            &["idn:identity-profile-lifecycle-state:read"],
        )
        .await;
    for path in [v3(&profile.id), v1(&profile.id)] {
        let resp = app
            .http
            .get(app.url(&path))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let resp = app
            .http
            .post(app.url(&path))
            .bearer_auth(&reader)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_isc_error(resp, 403, "403 Forbidden").await;
    }
    // Every scope, but not the ORG_ADMIN user level the spec asks for.
    let (role_admin, _) = app.token_for(&["ROLE_ADMIN"], &["sp:scopes:all"]).await;
    let resp = app
        .http
        .get(app.url(&v3(&profile.id)))
        .bearer_auth(&role_admin)
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    let list: Vec<Value> = app.get(&v3(&profile.id)).await.json().await.unwrap();
    assert!(list.is_empty(), "nothing was created");
}
