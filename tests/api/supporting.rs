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
