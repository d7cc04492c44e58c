//! The supporting read model: sources, entitlements, identities, governance groups.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn sources_are_created_listed_and_read_on_v3() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let resp = app
        .post(
            "/v3/sources",
            &json!({"name": "LDAP", "owner": {"type": "IDENTITY", "id": owner.id}, "connector": "ldap",
                    "description": "corp ldap", "connectorAttributes": {"host": "ldap.local"}, "id": "ignored"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_ne!(created["id"], "ignored");
    assert_eq!(created["owner"]["name"], owner.name.as_str());
    assert_eq!(created["connectorAttributes"]["host"], "ldap.local");
    let got: Value = app
        .get(&format!("/v3/sources/{}", created["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, created);
    for (body, why) in [
        (
            json!({"owner": {"id": owner.id}, "connector": "ldap"}),
            "name",
        ),
        (json!({"name": "X", "connector": "ldap"}), "owner"),
        (json!({"name": "X", "owner": {"id": owner.id}}), "connector"),
        (
            json!({"name": "X", "owner": {"id": "0".repeat(32)}, "connector": "ldap"}),
            "owner",
        ),
        (
            json!({"name": "LDAP", "owner": {"id": owner.id}, "connector": "ldap"}),
            "already exists",
        ),
    ] {
        let text = assert_isc_error(
            app.post("/v3/sources", &body).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert!(text.contains(why), "{text}");
    }
    assert_isc_error(
        app.get(&format!("/v3/sources/{}", "0".repeat(32))).await,
        404,
        "404 Not found",
    )
    .await;
}

#[tokio::test]
async fn entitlements_are_read_on_beta_and_v1_in_their_shapes() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let beta: Value = app
        .get(&format!("/beta/entitlements/{}", f.entitlements[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(beta["source"]["id"], f.source.id.as_str());
    assert_eq!(beta["privileged"], false);
    let v1: Value = app
        .get(&format!("/entitlements/v1/{}", f.entitlements[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v1["privilegeLevel"]["direct"], "NONE");
    assert!(v1.get("privileged").is_none());
    assert_isc_error(
        app.get(&format!("/beta/entitlements/{}", "0".repeat(32)))
            .await,
        404,
        "404 Not found",
    )
    .await;
    let resp = app.get("/beta/entitlements?count=true").await;
    assert_eq!(resp.headers()["X-Total-Count"], "6");
}

#[tokio::test]
async fn identities_are_read_on_beta_v1_and_as_public_identities() {
    let app = TestApp::spawn().await;
    let person = app.seed_identity(&["HELPDESK"]).await;
    for path in [
        format!("/beta/identities/{}", person.id),
        format!("/identities/v1/{}", person.id),
    ] {
        let got: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(got["alias"], person.alias.as_str());
        assert_eq!(got["identityStatus"], "ACTIVE");
    }
    let public: Vec<Value> = app
        .get(&format!(
            "/v3/public-identities?filters=id%20eq%20%22{}%22",
            person.id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0]["email"], person.email.clone().unwrap().as_str());
    assert_isc_error(
        app.get(&format!("/identities/v1/{}", "0".repeat(32))).await,
        404,
        "404 Not found",
    )
    .await;
}

#[tokio::test]
async fn governance_groups_are_created_and_their_members_listed() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let member = app.seed_identity(&[]).await;
    let resp = app
        .post(
            "/beta/workgroups",
            &json!({"name": "Approvers", "description": "d", "owner": {"id": owner.id}}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let group: Value = resp.json().await.unwrap();
    let id = group["id"].as_str().unwrap();
    assert_eq!(group["memberCount"], 0);
    let resp = app
        .post(
            &format!("/beta/workgroups/{id}/members/bulk-add"),
            &json!([{"type": "IDENTITY", "id": member.id}, {"id": "0".repeat(32)}]),
        )
        .await;
    assert_eq!(resp.status(), 207);
    let results: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(results[0]["status"], 201);
    assert_eq!(results[1]["status"], 404);
    for path in [
        format!("/beta/workgroups/{id}/members?count=true"),
        format!("/workgroups/v1/{id}/members?count=true"),
    ] {
        let resp = app.get(&path).await;
        assert_eq!(resp.headers()["X-Total-Count"], "1");
        let members: Vec<Value> = resp.json().await.unwrap();
        assert_eq!(members[0]["id"], member.id.as_str());
    }
    let got: Value = app
        .get(&format!("/workgroups/v1/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["memberCount"], 1);
    let filtered: Vec<Value> = app
        .get(&format!(
            "/beta/workgroups?filters=memberships.identityId%20eq%20%22{}%22",
            member.id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    let resp = app
        .post("/workgroups/v1", &json!({"name": "Approvers"}))
        .await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    let resp = app
        .get(&format!("/beta/workgroups/{id}/members?limit=51"))
        .await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
}

/// beta `WorkgroupMemberAddItem.status` is an integer (the Python SDK validates it), and
/// an identity that already is a member gets the spec's 409 for that item.
#[tokio::test]
async fn bulk_add_answers_integer_statuses_and_409_for_an_existing_member() {
    let app = TestApp::spawn().await;
    let member = app.seed_identity(&[]).await;
    let newcomer = app.seed_identity(&[]).await;
    let group: Value = app
        .post("/beta/workgroups", &json!({"name": "Reviewers"}))
        .await
        .json()
        .await
        .unwrap();
    let id = group["id"].as_str().unwrap();
    let add = |ids: Vec<String>| {
        let body = json!(ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>());
        let path = format!("/beta/workgroups/{id}/members/bulk-add");
        let app = &app;
        async move {
            let resp = app.post(&path, &body).await;
            assert_eq!(resp.status(), 207);
            resp.json::<Vec<Value>>().await.unwrap()
        }
    };
    let first = add(vec![member.id.clone()]).await;
    assert_eq!(first[0]["status"], json!(201));
    let second = add(vec![member.id.clone(), newcomer.id.clone(), "0".repeat(32)]).await;
    let statuses: Vec<(Value, Value)> = second
        .iter()
        .map(|r| (r["id"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (json!(member.id), json!(409)),
            (json!(newcomer.id), json!(201)),
            (json!("0".repeat(32)), json!(404)),
        ]
    );
    let got = app.get_json(&format!("/beta/workgroups/{id}")).await;
    assert_eq!(got["memberCount"], 2);
}

/// Every bulk-add item is an IDENTITY (`WorkgroupMemberAddItem.type`): an item of
/// another type refuses the whole request and adds no one.
#[tokio::test]
async fn bulk_add_refuses_an_item_that_is_not_an_identity() {
    let app = TestApp::spawn().await;
    let member = app.seed_identity(&[]).await;
    let group: Value = app
        .post("/beta/workgroups", &json!({"name": "Approvers"}))
        .await
        .json()
        .await
        .unwrap();
    let id = group["id"].as_str().unwrap();
    let body = json!([
        {"type": "IDENTITY", "id": member.id},
        {"type": "GOVERNANCE_GROUP", "id": member.id},
    ]);
    let resp = app
        .post(&format!("/beta/workgroups/{id}/members/bulk-add"), &body)
        .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(text.contains("GOVERNANCE_GROUP"), "{text}");
    let got = app.get_json(&format!("/beta/workgroups/{id}")).await;
    assert_eq!(got["memberCount"], 0);
}

/// Server-set timestamps echoed in a body are ignored, but one that is not a date-time
/// is refused (`format: date-time`) and nothing is stored; `null` is absent.
#[tokio::test]
async fn a_create_body_with_a_malformed_created_or_modified_is_refused() {
    let app = TestApp::spawn().await;
    for (path, body) in [
        (
            "/v3/segments",
            json!({"name": "Seg", "modified": "2024-01-01T12:99:00Z"}),
        ),
        (
            "/workgroups/v1",
            json!({"name": "Grp", "created": "yesterday"}),
        ),
        ("/beta/workgroups", json!({"name": "Grp", "created": 7})),
    ] {
        let resp = app.post(path, &body).await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("date-time"), "{path}: {text}");
    }
    assert_eq!(app.get_json("/v3/segments").await, json!([]));
    assert_eq!(app.get_json("/beta/workgroups").await, json!([]));
    // A document read and sent back as it is, and explicit nulls, are accepted.
    let created = app
        .post(
            "/v3/segments",
            &json!({"name": "Seg", "created": null, "modified": "2026-12-02T01:18:39.374Z"}),
        )
        .await;
    assert_eq!(created.status(), 201);
}

/// A workgroup's owner is an IDENTITY named by id: `{"type": "NOPE"}` is refused and
/// nothing is stored.
#[tokio::test]
async fn a_workgroup_whose_owner_is_not_an_identity_is_refused_and_not_stored() {
    let app = TestApp::spawn().await;
    for (path, owner) in [
        ("/beta/workgroups", json!({"type": "NOPE"})),
        ("/workgroups/v1", json!({"type": "NOPE"})),
        ("/beta/workgroups", json!({"type": "IDENTITY"})),
    ] {
        let resp = app
            .post(path, &json!({"name": "Owned", "owner": owner}))
            .await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("owner"), "{text}");
    }
    let listed = app.get_json("/beta/workgroups").await;
    assert_eq!(listed, json!([]));
}

/// Declared query parameters are checked, not ignored: a bad value is a 400 naming the
/// parameter; the documented values are accepted.
#[tokio::test]
async fn declared_query_parameters_with_bad_values_are_refused_naming_them() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let source = json!({"name": "CSV", "owner": {"type": "IDENTITY", "id": owner.id}, "connector": "delimited-file"});
    for (path, param) in [
        ("/v3/sources?includeIDNSource=maybe", "includeIDNSource"),
        (
            "/v3/public-identities?add-core-filters=yes",
            "add-core-filters",
        ),
        ("/beta/identities?defaultFilter=ALL", "defaultFilter"),
        (
            "/identities/v1?defaultFilter=correlated_only",
            "defaultFilter",
        ),
        (
            "/beta/entitlements?include-unsegmented=1",
            "include-unsegmented",
        ),
        (
            "/entitlements/v1?include-unsegmented=no",
            "include-unsegmented",
        ),
    ] {
        let text = assert_isc_error(app.get(path).await, 400, "400.1 Bad Request Content").await;
        assert!(text.contains(param), "{path}: {text}");
    }
    let text = assert_isc_error(
        app.post("/v3/sources?provisionAsCsv=sure", &source).await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert!(text.contains("provisionAsCsv"), "{text}");
    assert_eq!(app.get_json("/v3/sources").await, json!([]));
    for path in [
        "/v3/sources?includeIDNSource=true",
        "/v3/public-identities?add-core-filters=false",
        "/beta/identities?defaultFilter=NONE",
        "/identities/v1?defaultFilter=CORRELATED_ONLY",
        "/beta/entitlements?include-unsegmented=false",
        "/entitlements/v1?include-unsegmented=true",
    ] {
        app.get_json(path).await;
    }
    let resp = app.post("/v3/sources?provisionAsCsv=true", &source).await;
    assert_eq!(resp.status(), 201);
}
