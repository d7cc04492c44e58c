//! Roles on all three families (`/v3/roles`, `/beta/roles`, `/roles/v1`): create, get,
//! list, patch, delete, bulk delete, and rights (CONTRACT §2, §5, §7).

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// An app with the fixture and two access profiles ("AP One", "AP Two").
async fn with_profiles() -> (TestApp, Fixture, Vec<String>) {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut aps = Vec::new();
    for name in ["AP One", "AP Two"] {
        let ap = app
            .create_access_profile("/v3/access-profiles", &ap_body(&f, name))
            .await;
        aps.push(ap["id"].as_str().unwrap().to_string());
    }
    (app, f, aps)
}

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.request(Method::DELETE, path).send().await.unwrap()
}

async fn list(app: &TestApp, path: &str) -> Vec<Value> {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().map(|r| r["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_role_created_on_any_family_is_read_back_on_every_family_with_profile_names() {
    let (app, f, aps) = with_profiles().await;
    for (i, create_on) in ROLE_FAMILIES.iter().enumerate() {
        // given in reverse order: the role keeps the client's order
        let body = role_body(&format!("Role {i}"), &f.owner.id, &[&aps[1], &aps[0]]);
        let created = app.create_role(create_on, &body).await;
        let id = created["id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        assert!(created["created"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            created["owner"],
            json!({"type": "IDENTITY", "id": f.owner.id, "name": f.owner.name})
        );
        assert_eq!(
            created["accessProfiles"],
            json!([
                {"type": "ACCESS_PROFILE", "id": aps[1], "name": "AP Two"},
                {"type": "ACCESS_PROFILE", "id": aps[0], "name": "AP One"},
            ])
        );
        assert_eq!(created["entitlements"], json!([]));
        assert_eq!(created["enabled"], true);
        assert_eq!(created["dimensional"], false);
        // optional objects are null, never a value of the wrong type (Python SDK)
        assert_eq!(created["accessModelMetadata"], Value::Null);
        assert_eq!(created["membership"], Value::Null);
        assert_eq!(created["segments"], json!([]));
        for read_on in ROLE_FAMILIES {
            let resp = app.get(&format!("{read_on}/{id}")).await;
            assert_eq!(resp.status(), 200);
            let got: Value = resp.json().await.unwrap();
            assert_eq!(got, created, "{read_on} returns the same document");
        }
    }
}

#[tokio::test]
async fn enabled_and_requestable_default_to_false_and_entitlements_are_kept() {
    let (app, f, _) = with_profiles().await;
    let body = json!({
        "name": "Bare",
        "owner": {"id": f.owner.id, "name": f.owner.name},
        "accessProfiles": null,
        "entitlements": [{"type": "ENTITLEMENT", "id": f.entitlements[2]},
                         {"id": f.entitlements[0]}],
        "enabled": null,
        "description": null,
        "accessModelMetadata": {"attributes": []},
    });
    let created = app.create_role("/roles/v1", &body).await;
    assert_eq!(created["enabled"], false);
    assert_eq!(created["requestable"], false);
    assert_eq!(created["accessProfiles"], json!([]));
    assert_eq!(created["description"], Value::Null);
    assert_eq!(created["accessModelMetadata"], json!({"attributes": []}));
    assert_eq!(created["entitlements"][0]["id"], f.entitlements[2].as_str());
    assert_eq!(created["entitlements"][0]["name"], "HR group 2");
    assert_eq!(created["entitlements"][1]["type"], "ENTITLEMENT");
}

#[tokio::test]
async fn unknown_role_is_a_404_with_an_isc_body() {
    let app = TestApp::spawn().await;
    for family in ROLE_FAMILIES {
        let resp = app.get(&format!("{family}/{}", "0".repeat(32))).await;
        assert_isc_error(resp, 404, "404 Not found").await;
    }
}

#[tokio::test]
async fn invalid_roles_are_rejected_with_the_reason_and_nothing_is_stored() {
    let (app, f, aps) = with_profiles().await;
    let missing_ap = "3".repeat(32);
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, String)> = vec![
        (
            "no name",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            "name is required".into(),
        ),
        (
            "no owner",
            Box::new(|b| b["owner"] = Value::Null),
            "owner is required".into(),
        ),
        (
            "unknown owner",
            Box::new(|b| b["owner"]["id"] = json!("1".repeat(32))),
            "is not an existing identity".into(),
        ),
        (
            "owner name mismatch",
            Box::new(|b| b["owner"]["name"] = json!("Someone Else")),
            "does not match".into(),
        ),
        (
            "unknown access profile",
            Box::new({
                let missing = missing_ap.clone();
                let known = aps[0].clone();
                move |b| b["accessProfiles"] = json!([{"id": known}, {"id": missing}])
            }),
            format!("These access profiles do not exist: {missing_ap}."),
        ),
        (
            "duplicate access profile",
            Box::new({
                let known = aps[0].clone();
                move |b| b["accessProfiles"] = json!([{"id": known}, {"id": known}])
            }),
            "is listed more than once".into(),
        ),
        (
            "unknown entitlement",
            Box::new(|b| b["entitlements"] = json!([{"id": "4".repeat(32)}])),
            "These entitlements do not exist".into(),
        ),
        (
            "string boolean",
            Box::new(|b| b["requestable"] = json!("true")),
            "expected a boolean".into(),
        ),
        (
            "numeric owner id",
            Box::new(|b| b["owner"]["id"] = json!(42)),
            "expected a string".into(),
        ),
        (
            "access profiles not a list",
            Box::new(|b| b["accessProfiles"] = json!({"id": "x"})),
            "expected a sequence".into(),
        ),
        (
            "metadata as a list",
            Box::new(|b| b["accessModelMetadata"] = json!([])),
            "accessModelMetadata must be an object".into(),
        ),
        (
            "an id on create",
            Box::new(|b| b["id"] = json!("5".repeat(32))),
            "id must be left null".into(),
        ),
        (
            "long name",
            Box::new(|b| b["name"] = json!("n".repeat(129))),
            "at most 128".into(),
        ),
    ];
    for family in ROLE_FAMILIES {
        for (what, mutate, expected) in &cases {
            let mut body = role_body("Bad", &f.owner.id, &[&aps[0]]);
            mutate(&mut body);
            let resp = app.post(family, &body).await;
            let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
            assert!(text.contains(expected.as_str()), "{family} {what}: {text}");
        }
    }
    assert!(list(&app, "/v3/roles").await.is_empty(), "nothing created");

    // a taken name is a 400 on every family, and the first role stays alone
    app.create_role("/v3/roles", &role_body("Taken", &f.owner.id, &[]))
        .await;
    for family in ROLE_FAMILIES {
        let resp = app
            .post(family, &role_body("Taken", &f.owner.id, &[&aps[1]]))
            .await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(
            text.contains("A role named 'Taken' already exists."),
            "{text}"
        );
    }
    let all = list(&app, "/beta/roles").await;
    assert_eq!(names(&all), ["Taken"]);
    assert_eq!(all[0]["accessProfiles"], json!([]));
}

#[tokio::test]
async fn roles_are_listed_with_filters_sorters_paging_and_count_on_every_family() {
    let (app, f, aps) = with_profiles().await;
    let other_owner = app.seed_identity(&[]).await;
    for (i, name) in ["Alpha", "Bravo", "Charlie", "Delta"].iter().enumerate() {
        let owner = if i == 3 { &other_owner.id } else { &f.owner.id };
        let mut body = role_body(name, owner, &[&aps[i % 2]]);
        body["requestable"] = json!(i % 2 == 0);
        app.create_role(ROLE_FAMILIES[i % FAMILIES.len()], &body)
            .await;
    }
    for family in ROLE_FAMILIES {
        let resp = app
            .get(&format!("{family}?sorters=-name&limit=3&count=true"))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["X-Total-Count"], "4");
        let page: Vec<Value> = resp.json().await.unwrap();
        assert_eq!(names(&page), ["Delta", "Charlie", "Bravo"]);
        // every item carries its profiles with names
        assert_eq!(page[0]["accessProfiles"][0]["name"], "AP Two");
        assert_eq!(page[1]["accessProfiles"][0]["name"], "AP One");
        let page = list(&app, &format!("{family}?sorters=-name&limit=3&offset=3")).await;
        assert_eq!(names(&page), ["Alpha"]);
        let by_owner = format!("owner.id eq \"{}\"", other_owner.id);
        let cases = [
            ("requestable eq true", vec!["Alpha", "Charlie"]),
            ("name sw \"b\"", vec!["Bravo"]),
            (by_owner.as_str(), vec!["Delta"]),
            ("dimensional eq false and name eq \"Alpha\"", vec!["Alpha"]),
            (
                "created gt 2000-01-01T00:00:00Z",
                vec!["Alpha", "Bravo", "Charlie", "Delta"],
            ),
            ("modified lt 2000-01-01T00:00:00Z", vec![]),
        ];
        for (filter, expected) in cases {
            let got = list(&app, &format!("{family}?filters={filter}&sorters=name")).await;
            assert_eq!(names(&got), expected, "{family} {filter}");
        }
        for (query, expected) in [
            ("filters=modified gt 2000-01-01T00:00:00Z", "operator 'gt'"),
            ("filters=description eq \"x\"", "filter field 'description'"),
            ("sorters=id", "sorter field 'id'"),
            ("limit=51", "limit"),
            ("for-subadmin=me", "ROLE_SUBADMIN"),
            ("include-unsegmented=maybe", "include-unsegmented"),
            ("include-unsegmented=false", "for-segment-ids"),
        ] {
            let resp = app.get(&format!("{family}?{query}")).await;
            let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
            assert!(text.contains(expected), "{family} {query}: {text}");
        }
        assert_eq!(list(&app, &format!("{family}?limit=50")).await.len(), 4);
    }
}

#[tokio::test]
async fn patch_replaces_profiles_name_and_description_on_every_family() {
    let (app, f, aps) = with_profiles().await;
    for (i, family) in ROLE_FAMILIES.iter().enumerate() {
        let role = app
            .create_role(
                family,
                &role_body(&format!("P{i}"), &f.owner.id, &[&aps[0]]),
            )
            .await;
        let path = format!("{family}/{}", role["id"].as_str().unwrap());
        let resp = app
            .patch(
                &path,
                &json!([
                    {"op": "replace", "path": "/accessProfiles",
                     "value": [{"type": "ACCESS_PROFILE", "id": aps[1]}, {"id": aps[0]}]},
                    {"op": "replace", "path": "/name", "value": format!("Renamed {i}")},
                    {"op": "replace", "path": "/description", "value": "new words"},
                ]),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let patched: Value = resp.json().await.unwrap();
        assert_eq!(patched["name"], format!("Renamed {i}"));
        assert_eq!(patched["description"], "new words");
        let ap_names: Vec<&str> = patched["accessProfiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(ap_names, ["AP Two", "AP One"]);
        assert_eq!(patched["owner"]["name"], f.owner.name.as_str());
        let got: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(got, patched);

        // a path outside the patchable list, and an unknown profile: 400, unchanged
        let missing = "6".repeat(32);
        for (ops, expected) in [
            (
                json!([{"op": "replace", "path": "/dimensional", "value": true}]),
                "is not patchable".to_string(),
            ),
            (
                json!([{"op": "add", "path": "/accessProfiles/-", "value": {"id": missing}}]),
                format!("These access profiles do not exist: {missing}."),
            ),
            (
                json!([{"op": "remove", "path": "/accessProfiles/7"}]),
                "could not be applied".to_string(),
            ),
            (
                json!([{"op": "replace", "path": "/enabled", "value": "yes"}]),
                "expected a boolean".to_string(),
            ),
        ] {
            let resp = app.patch(&path, &ops).await;
            let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
            assert!(text.contains(&expected), "{family} {ops}: {text}");
            let now: Value = app.get(&path).await.json().await.unwrap();
            assert_eq!(now, patched, "unchanged after {ops}");
        }
    }
    let resp = app
        .patch(
            &format!("/v3/roles/{}", "0".repeat(32)),
            &json!([{"op": "replace", "path": "/name", "value": "x"}]),
        )
        .await;
    assert_isc_error(resp, 404, "404 Not found").await;
}

#[tokio::test]
async fn delete_answers_204_then_the_role_is_gone() {
    let (app, f, aps) = with_profiles().await;
    for family in ROLE_FAMILIES {
        let role = app
            .create_role(family, &role_body("Doomed", &f.owner.id, &[&aps[0]]))
            .await;
        let path = format!("{family}/{}", role["id"].as_str().unwrap());
        let resp = delete(&app, &path).await;
        assert_eq!(resp.status(), 204);
        assert!(resp.bytes().await.unwrap().is_empty());
        assert_isc_error(app.get(&path).await, 404, "404 Not found").await;
        assert_isc_error(delete(&app, &path).await, 404, "404 Not found").await;
    }
    // the profiles it used are still there
    assert_eq!(
        app.get(&format!("/v3/access-profiles/{}", aps[0]))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn bulk_delete_answers_202_with_a_task_result_and_validates_the_ids() {
    let (app, f, aps) = with_profiles().await;
    for family in ROLE_FAMILIES {
        let mut ids = Vec::new();
        for i in 0..3 {
            let role = app
                .create_role(
                    family,
                    &role_body(&format!("Bulk {i}"), &f.owner.id, &[&aps[0]]),
                )
                .await;
            ids.push(role["id"].as_str().unwrap().to_string());
        }
        let bulk = format!("{family}/bulk-delete");
        let unknown = "7".repeat(32);
        let too_many: Vec<String> = (0..51).map(|i| format!("{i:032x}")).collect();
        for (body, expected) in [
            (
                json!({"roleIds": [ids[0], unknown]}),
                format!("These roles do not exist: {unknown}."),
            ),
            (json!({"roleIds": too_many}), "1 to 50".to_string()),
            (json!({"roleIds": []}), "1 to 50".to_string()),
            (
                json!({"roleIds": [ids[0], ids[0]]}),
                "is listed more than once".to_string(),
            ),
            (json!({}), "roleIds is required".to_string()),
            (json!({"roleIds": [1]}), "expected a string".to_string()),
            (json!([ids[0]]), "not valid".to_string()),
        ] {
            let resp = app.post(&bulk, &body).await;
            let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
            assert!(text.contains(&expected), "{family} {body}: {text}");
        }
        assert_eq!(list(&app, family).await.len(), 3, "nothing deleted");

        let resp = app.post(&bulk, &json!({"roleIds": [ids[0], ids[2]]})).await;
        assert_eq!(resp.status(), 202);
        let task: Value = resp.json().await.unwrap();
        assert_eq!(task["type"], "TASK_RESULT");
        assert_eq!(task["name"], Value::Null);
        let task_id = task["id"].as_str().unwrap();
        assert_eq!(task_id.len(), 32);
        app.drain_tasks().await;
        let status = app.get_json(&format!("/beta/task-status/{task_id}")).await;
        assert_eq!(status["completionStatus"], "SUCCESS", "{status}");
        assert_eq!(status["uniqueName"], "Role Bulk Delete");
        let left = list(&app, family).await;
        assert_eq!(names(&left), ["Bulk 1"]);
        assert_eq!(
            delete(&app, &format!("{family}/{}", ids[1])).await.status(),
            204
        );
    }
}

#[tokio::test]
async fn role_operations_need_a_role_scope_and_a_role_user_level() {
    let (app, f, aps) = with_profiles().await;
    let role = app
        .create_role("/v3/roles", &role_body("Guarded", &f.owner.id, &[&aps[0]]))
        .await;
    let id = role["id"].as_str().unwrap();
    let send = |token: String, method: Method, path: String, body: Option<Value>| {
        let mut req = app.http.request(method, app.url(&path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.unwrap() }
    };
    // an admin whose client has no role scope
    let (no_scope, _) = app
        .token_for(&["ORG_ADMIN"], &["idn:access-profile:read"])
        .await;
    for family in ROLE_FAMILIES {
        let resp = send(no_scope.clone(), Method::GET, family.to_string(), None).await;
        assert_isc_error(resp, 403, "403 Forbidden").await;
    }
    // a plain user, whatever the scopes
    let (user, _) = app.token_for(&[], &["sp:scopes:all"]).await;
    let resp = send(user.clone(), Method::GET, format!("/beta/roles/{id}"), None).await;
    assert_isc_error(resp, 403, "403 Forbidden").await;
    let resp = send(user, Method::DELETE, format!("/roles/v1/{id}"), None).await;
    assert_isc_error(resp, 403, "403 Forbidden").await;
    // ROLE_ADMIN with the read scope lists and reads, but may not create or delete
    let (reader, _) = app
        .token_for(&["ROLE_ADMIN"], &["idn:role-unchecked:read"])
        .await;
    let resp = send(reader.clone(), Method::GET, "/roles/v1".into(), None).await;
    assert_eq!(resp.status(), 200);
    let body = role_body("Nope", &f.owner.id, &[]);
    let resp = send(reader.clone(), Method::POST, "/v3/roles".into(), Some(body)).await;
    assert_isc_error(resp, 403, "403 Forbidden").await;
    let resp = send(
        reader,
        Method::POST,
        "/v3/roles/bulk-delete".into(),
        Some(json!({"roleIds": [id]})),
    )
    .await;
    assert_isc_error(resp, 403, "403 Forbidden").await;
    // ROLE_ADMIN with the manage scope may create
    let (manager, _) = app
        .token_for(&["ROLE_ADMIN"], &["idn:role-unchecked:manage"])
        .await;
    let body = role_body("Managed", &f.owner.id, &[&aps[1]]);
    let resp = send(manager, Method::POST, "/beta/roles".into(), Some(body)).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(list(&app, "/v3/roles").await.len(), 2);
}
