//! Access profiles on all three families: create, get, patch, list, entitlements,
//! and the field rules (CONTRACT §2, issue "foundation" point 4).

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_profile_created_on_any_family_is_read_back_on_every_family() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for (i, create_on) in FAMILIES.iter().enumerate() {
        let created = app
            .create_access_profile(create_on, &ap_body(&f, &format!("AP {i}")))
            .await;
        let id = created["id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(created["created"].as_str().unwrap().ends_with('Z'));
        assert_eq!(created["owner"]["name"], f.owner.name.as_str());
        assert_eq!(created["source"]["name"], "HR");
        assert_eq!(created["entitlements"][0]["id"], f.entitlements[0].as_str());
        assert_eq!(created["entitlements"][0]["type"], "ENTITLEMENT");
        for read_on in FAMILIES {
            let resp = app.get(&format!("{read_on}/{id}")).await;
            assert_eq!(resp.status(), 200);
            let got: Value = resp.json().await.unwrap();
            assert_eq!(got, created, "{read_on} returns the same document");
        }
    }
}

#[tokio::test]
async fn unknown_profile_is_a_404_with_an_isc_body() {
    let app = TestApp::spawn().await;
    for family in FAMILIES {
        let resp = app.get(&format!("{family}/{}", "0".repeat(32))).await;
        assert_isc_error(resp, 404, "404 Not found").await;
    }
}

#[tokio::test]
async fn nulls_are_absent_and_read_only_fields_are_ignored() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut body = ap_body(&f, "Nulls");
    body["id"] = json!("ffffffffffffffffffffffffffffffff");
    body["created"] = json!("2001-01-01T00:00:00Z");
    body["description"] = Value::Null;
    body["accessRequestConfig"] = Value::Null;
    body["segments"] = Value::Null;
    body["requestable"] = Value::Null;
    let created = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    assert_ne!(created["id"], "ffffffffffffffffffffffffffffffff");
    assert_ne!(created["created"], "2001-01-01T00:00:00Z");
    assert_eq!(created["description"], Value::Null);
    assert_eq!(created["requestable"], true, "requestable defaults to true");
    // absent optional objects render as null, never as a value of the wrong type
    assert_eq!(created["accessModelMetadata"], Value::Null);
    assert_eq!(created["provisioningCriteria"], Value::Null);
}

#[tokio::test]
async fn invalid_profiles_are_rejected_with_the_reason_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "no name",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            "name is required",
        ),
        (
            "no owner",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("owner");
            }),
            "owner is required",
        ),
        (
            "no source",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("source");
            }),
            "source is required",
        ),
        (
            "unknown owner",
            Box::new(|b| b["owner"]["id"] = json!("1".repeat(32))),
            "is not an existing identity",
        ),
        (
            "owner not an identity",
            Box::new(|b| b["owner"]["type"] = json!("GOVERNANCE_GROUP")),
            "owner.type must be 'IDENTITY'",
        ),
        (
            "owner name mismatch",
            Box::new(|b| b["owner"]["name"] = json!("Someone Else")),
            "does not match",
        ),
        (
            "unknown source",
            Box::new(|b| b["source"]["id"] = json!("2".repeat(32))),
            "does not exist",
        ),
        (
            "unknown entitlement",
            Box::new(|b| b["entitlements"] = json!([{"id": "3".repeat(32)}])),
            "does not exist",
        ),
        (
            "long description",
            Box::new(|b| b["description"] = json!("d".repeat(2001))),
            "at most 2000",
        ),
        (
            "string boolean",
            Box::new(|b| b["enabled"] = json!("true")),
            "expected a boolean",
        ),
        (
            "numeric id",
            Box::new(|b| b["owner"]["id"] = json!(42)),
            "expected a string",
        ),
        (
            "enabled without entitlements",
            Box::new(|b| b["entitlements"] = json!([])),
            "at least one entitlement",
        ),
        (
            "bad approver",
            Box::new(|b| {
                b["accessRequestConfig"] = json!({"approvalSchemes": [{"approverType": "BOSS"}]})
            }),
            "approverType",
        ),
    ];
    for (what, mutate, expected) in cases {
        let mut body = ap_body(&f, &format!("Bad {what}"));
        mutate(&mut body);
        let text = assert_isc_error(
            app.post("/v3/access-profiles", &body).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(
            text.contains(expected),
            "{what}: '{text}' should contain '{expected}'"
        );
    }
    // an entitlement of another source
    let mut body = ap_body(&f, "Foreign entitlement");
    body["entitlements"] = json!([{"id": f.other_entitlements[0]}]);
    let text = assert_isc_error(
        app.post("/beta/access-profiles", &body).await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert!(text.contains("does not belong to source"), "{text}");
    let list: Vec<Value> = app.get("/v3/access-profiles").await.json().await.unwrap();
    assert!(list.is_empty(), "nothing was stored: {list:?}");
}

#[tokio::test]
async fn names_are_unique_per_tenant() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.create_access_profile("/v3/access-profiles", &ap_body(&f, "Same"))
        .await;
    let text = assert_isc_error(
        app.post("/access-profiles/v1", &ap_body(&f, "Same")).await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert!(text.contains("already exists"), "{text}");
}

/// Writes that arrive together are committed together (CONTRACT §2): one refused in
/// their midst is answered with its own error and takes none of the others with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_among_concurrent_ones_loses_only_its_own_write() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for i in 0..4 {
        app.create_access_profile("/v3/access-profiles", &ap_body(&f, &format!("Taken {i}")))
            .await;
    }
    let mut creates = tokio::task::JoinSet::new();
    for i in 0..48 {
        let duplicate = i % 3 == 0;
        let name = if duplicate {
            format!("Taken {}", i % 4)
        } else {
            format!("Fresh {i}")
        };
        let request = app
            .request(reqwest::Method::POST, "/v3/access-profiles")
            .json(&ap_body(&f, &name));
        creates.spawn(async move {
            let resp = request.send().await.expect("request");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            (duplicate, name, status, body)
        });
    }
    let mut fresh = Vec::new();
    while let Some(done) = creates.join_next().await {
        let (duplicate, name, status, body) = done.unwrap();
        if duplicate {
            assert_eq!(status, 400, "{name}: {body}");
            assert!(body.to_string().contains("already exists"), "{body}");
        } else {
            assert_eq!(status, 201, "{name}: {body}");
            assert_eq!(body["name"], name.as_str());
            fresh.push(body["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(fresh.len(), 32);
    for id in &fresh {
        let resp = app.get(&format!("/v3/access-profiles/{id}")).await;
        assert_eq!(resp.status(), 200, "{id} was acknowledged but is missing");
    }
    for (prefix, count) in [("Fresh", "32"), ("Taken", "4")] {
        let resp = app
            .get(&format!(
                "/v3/access-profiles?count=true&filters=name%20sw%20%22{prefix}%22"
            ))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["X-Total-Count"], count, "{prefix}");
    }
}

#[tokio::test]
async fn a_2000_character_description_is_accepted() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut body = ap_body(&f, "Long");
    body["description"] = json!("é".repeat(2000));
    let created = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    assert_eq!(
        created["description"].as_str().unwrap().chars().count(),
        2000
    );
}

#[tokio::test]
async fn patch_changes_patchable_fields_on_every_family() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for (i, family) in FAMILIES.iter().enumerate() {
        let created = app
            .create_access_profile(family, &ap_body(&f, &format!("Patch {i}")))
            .await;
        let id = created["id"].as_str().unwrap();
        let ops = json!([
            {"op": "replace", "path": "/description", "value": "patched"},
            {"op": "replace", "path": "/requestable", "value": false},
            {"op": "add", "path": "/entitlements/-", "value": {"type": "ENTITLEMENT", "id": f.entitlements[1]}},
            {"op": "replace", "path": "/accessRequestConfig", "value": {"commentsRequired": true, "approvalSchemes": [{"approverType": "MANAGER"}]}},
        ]);
        let resp = app.patch(&format!("{family}/{id}"), &ops).await;
        assert_eq!(resp.status(), 200);
        let patched: Value = resp.json().await.unwrap();
        assert_eq!(patched["description"], "patched");
        assert_eq!(patched["requestable"], false);
        assert_eq!(patched["entitlements"].as_array().unwrap().len(), 2);
        assert_eq!(
            patched["accessRequestConfig"]["approvalSchemes"][0]["approverType"],
            "MANAGER"
        );
        assert_eq!(patched["created"], created["created"]);
        let again: Value = app
            .get(&format!("/v3/access-profiles/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(again, patched, "the patch is stored");
    }
}

#[tokio::test]
async fn patch_rules_reject_read_only_fields_and_a_lone_source_change() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let created = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Rules"))
        .await;
    let path = format!("/v3/access-profiles/{}", created["id"].as_str().unwrap());
    for ops in [
        json!([{"op": "replace", "path": "/id", "value": "x"}]),
        json!([{"op": "replace", "path": "/created", "value": "2020-01-01T00:00:00Z"}]),
        json!([{"op": "replace", "path": "/source", "value": {"id": f.other_source.id}}]),
        json!([{"op": "replace", "path": "/entitlements", "value": [{"id": f.other_entitlements[0]}]}]),
        json!([{"op": "remove", "path": "/entitlements/9"}]),
        json!([{"op": "replace", "path": "/name", "value": ""}]),
        json!([{"op": "jump", "path": "/name", "value": "x"}]),
        json!([]),
        json!({"op": "replace"}),
    ] {
        let resp = app.patch(&path, &ops).await;
        assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    }
    let unchanged: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(unchanged, created, "rejected patches change nothing");
}

#[tokio::test]
async fn source_changes_together_with_its_entitlements() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let created = app
        .create_access_profile("/beta/access-profiles", &ap_body(&f, "Move"))
        .await;
    let path = format!("/beta/access-profiles/{}", created["id"].as_str().unwrap());
    let ops = json!([
        {"op": "replace", "path": "/source", "value": {"type": "SOURCE", "id": f.other_source.id, "name": "CRM"}},
        {"op": "replace", "path": "/entitlements", "value": [{"type": "ENTITLEMENT", "id": f.other_entitlements[2]}]},
    ]);
    let resp = app.patch(&path, &ops).await;
    assert_eq!(resp.status(), 200);
    let moved: Value = resp.json().await.unwrap();
    assert_eq!(moved["source"]["id"], f.other_source.id.as_str());
    assert_eq!(
        moved["entitlements"][0]["id"],
        f.other_entitlements[2].as_str()
    );
}

#[tokio::test]
async fn patching_the_owner_id_alone_works() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let other = app.seed_identity(&[]).await;
    let created = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Owner"))
        .await;
    let path = format!("/v3/access-profiles/{}", created["id"].as_str().unwrap());
    let resp = app
        .patch(
            &path,
            &json!([{"op": "replace", "path": "/owner/id", "value": other.id}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(patched["owner"]["name"], other.name.as_str());
}

#[tokio::test]
async fn patch_of_an_unknown_profile_is_404() {
    let app = TestApp::spawn().await;
    let resp = app
        .patch(
            &format!("/v3/access-profiles/{}", "9".repeat(32)),
            &json!([{"op": "replace", "path": "/name", "value": "x"}]),
        )
        .await;
    assert_isc_error(resp, 404, "404 Not found").await;
}

#[tokio::test]
async fn the_entitlements_of_a_profile_are_listed_in_order() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut body = ap_body(&f, "Ents");
    body["entitlements"] = json!([{"id": f.entitlements[2]}, {"id": f.entitlements[0]}]);
    let created = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    let id = created["id"].as_str().unwrap();
    for family in FAMILIES {
        let resp = app
            .get(&format!("{family}/{id}/entitlements?count=true"))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["X-Total-Count"], "2");
        let list: Vec<Value> = resp.json().await.unwrap();
        let mut ids: Vec<&str> = list.iter().map(|e| e["id"].as_str().unwrap()).collect();
        ids.sort();
        let mut expected = vec![f.entitlements[2].as_str(), f.entitlements[0].as_str()];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(list[0]["source"]["id"], f.source.id.as_str());
    }
    let filtered: Vec<Value> = app
        .get(&format!(
            "/v3/access-profiles/{id}/entitlements?filters=name%20eq%20%22HR%20group%202%22"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    let resp = app
        .get(&format!(
            "/v3/access-profiles/{}/entitlements",
            "0".repeat(32)
        ))
        .await;
    assert_isc_error(resp, 404, "404 Not found").await;
}

#[tokio::test]
async fn requestable_is_updated_in_bulk_on_beta_and_v1_with_a_status_per_profile() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for prefix in ["/beta/access-profiles", "/access-profiles/v1"] {
        let a = app
            .create_access_profile(prefix, &ap_body(&f, &format!("A {prefix}")))
            .await;
        let b = app
            .create_access_profile(prefix, &ap_body(&f, &format!("B {prefix}")))
            .await;
        let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        let missing = "0".repeat(32);
        let resp = app
            .post(
                &format!("{prefix}/bulk-update-requestable"),
                &json!([{"id": a, "requestable": false}, {"id": missing, "requestable": false},
                        {"id": b, "requestable": true}]),
            )
            .await;
        assert_eq!(resp.status(), 207);
        let results: Value = resp.json().await.unwrap();
        assert_eq!(
            results,
            json!([
                {"id": a, "requestable": false, "status": "201",
                 "description": "Access Profile updated successfully."},
                {"id": missing, "requestable": false, "status": "404",
                 "description": format!("Referenced Access profile with Id \"{missing}\" was not found.")},
                {"id": b, "requestable": true, "status": "201",
                 "description": "Access Profile updated successfully."},
            ])
        );
        assert_eq!(
            app.get_json(&format!("{prefix}/{a}")).await["requestable"],
            false
        );
        assert_eq!(
            app.get_json(&format!("{prefix}/{b}")).await["requestable"],
            true
        );
        // An item without `requestable` refuses the whole request: nothing changed.
        assert_isc_error(
            app.post(
                &format!("{prefix}/bulk-update-requestable"),
                &json!([{"id": b, "requestable": false}, {"id": a}]),
            )
            .await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert_eq!(
            app.get_json(&format!("{prefix}/{b}")).await["requestable"],
            true
        );
    }
    // v3 has no bulk update.
    assert_eq!(
        app.post("/v3/access-profiles/bulk-update-requestable", &json!([]))
            .await
            .status(),
        405
    );
}
