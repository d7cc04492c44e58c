//! Changing and deleting the supporting data of CONTRACT §2: sources (v3 put, patch,
//! delete), governance groups (beta and v1 patch, delete, bulk delete; beta bulk
//! removal of members) and identities (beta and v1 delete). What others use is not
//! deleted from under them: 400 in use, and nothing changes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

async fn json_of(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    resp.json().await.expect("a JSON body")
}

#[tokio::test]
async fn a_source_is_replaced_and_patched_and_keeps_its_immutable_fields() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let other = app.seed_identity(&[]).await;
    let path = format!("/v3/sources/{}", f.source.id);
    let mut body = app.get_json(&path).await;
    body["name"] = json!("HR renamed");
    body["description"] = json!("the HR system");
    body["owner"] = json!({"type": "IDENTITY", "id": other.id});
    let put = json_of(
        app.request(Method::PUT, &path)
            .json(&body)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(put["name"], "HR renamed");
    assert_eq!(put["owner"]["id"], other.id.as_str());
    assert_eq!(put["created"], body["created"]);
    assert_eq!(app.get_json(&path).await, put);

    let patched = json_of(
        app.patch(
            &path,
            &json!([{"op": "replace", "path": "/description", "value": "patched"},
                    {"op": "add", "path": "/connectorAttributes", "value": {"host": "h"}}]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["description"], "patched");
    assert_eq!(patched["connectorAttributes"]["host"], "h");
    assert_eq!(patched["name"], "HR renamed");
    assert_eq!(app.get_json(&path).await, patched);

    // Immutable fields: refused, nothing changed.
    assert_isc_error(
        app.patch(
            &path,
            &json!([{"op": "replace", "path": "/connector", "value": "x"}]),
        )
        .await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    let mut changed = patched.clone();
    changed["connector"] = json!("something-else");
    assert_isc_error(
        app.request(Method::PUT, &path)
            .json(&changed)
            .send()
            .await
            .unwrap(),
        400,
        "400.1 Bad Request Content",
    )
    .await;
    // A name another source holds.
    let mut taken = patched.clone();
    taken["name"] = json!(f.other_source.name);
    assert_isc_error(
        app.request(Method::PUT, &path)
            .json(&taken)
            .send()
            .await
            .unwrap(),
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert_eq!(app.get_json(&path).await, patched);
    let unknown = format!("/v3/sources/{}", "0".repeat(32));
    assert_isc_error(
        app.request(Method::PUT, &unknown)
            .json(&patched)
            .send()
            .await
            .unwrap(),
        404,
        "404 Not found",
    )
    .await;
}

#[tokio::test]
async fn a_source_in_use_is_not_deleted_and_an_unused_one_is_with_its_entitlements() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "On HR"))
        .await;
    let path = format!("/v3/sources/{}", f.source.id);
    let before = app.get_json(&path).await;
    let text = assert_isc_error(
        app.delete(&path).await,
        400,
        "400.2.1.0 Object in use by another",
    )
    .await;
    assert!(text.contains("HR"), "{text}");
    assert_eq!(app.get_json(&path).await, before);
    assert_eq!(
        app.get(&format!("/beta/entitlements/{}", f.entitlements[0]))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get(&format!(
            "/v3/access-profiles/{}",
            ap["id"].as_str().unwrap()
        ))
        .await
        .status(),
        200
    );

    // The other source is unused: deleted, with its entitlements, as a finished task.
    let other = format!("/v3/sources/{}", f.other_source.id);
    let task = json_of(app.delete(&other).await, 202).await;
    assert_eq!(task["type"], "TASK_RESULT");
    assert_eq!(app.get(&other).await.status(), 404);
    for e in &f.other_entitlements {
        assert_eq!(
            app.get(&format!("/beta/entitlements/{e}")).await.status(),
            404
        );
    }
    let status = app
        .get_json(&format!(
            "/beta/task-status/{}",
            task["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status["completionStatus"], "SUCCESS");
    assert_isc_error(app.delete(&other).await, 404, "404 Not found").await;
}

#[tokio::test]
async fn a_source_subadmin_deletes_only_sources_it_administers() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (token, sub) = app
        .token_for(&["SOURCE_SUBADMIN"], &["sp:scopes:all"])
        .await;
    let (own, _, _) = app
        .seed_subadmin_source(&f.owner, "Own", std::slice::from_ref(&sub.id))
        .await;
    let foreign = format!("/v3/sources/{}", f.source.id);
    let resp = app
        .http
        .delete(app.url(&foreign))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    assert_eq!(app.get(&foreign).await.status(), 200);
    let own_path = format!("/v3/sources/{}", own.id);
    let resp = app
        .http
        .delete(app.url(&own_path))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(app.get(&own_path).await.status(), 404);
}

async fn create_group(app: &TestApp, prefix: &str, name: &str, owner: &str) -> Value {
    json_of(
        app.post(
            prefix,
            &json!({"name": name, "description": "d", "owner": {"type": "IDENTITY", "id": owner}}),
        )
        .await,
        200,
    )
    .await
}

#[tokio::test]
async fn a_workgroup_is_patched_on_beta_and_v1() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let other = app.seed_identity(&[]).await;
    for prefix in ["/beta/workgroups", "/workgroups/v1"] {
        let group = create_group(&app, prefix, &format!("G {prefix}"), &owner.id).await;
        let path = format!("{prefix}/{}", group["id"].as_str().unwrap());
        let patched = json_of(
            app.patch(
                &path,
                &json!([{"op": "replace", "path": "/name", "value": format!("Renamed {prefix}")},
                        {"op": "replace", "path": "/owner", "value": {"type": "IDENTITY", "id": other.id}}]),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(patched["name"], format!("Renamed {prefix}"));
        assert_eq!(patched["owner"]["id"], other.id.as_str());
        assert_eq!(app.get_json(&path).await, patched);
        assert_isc_error(
            app.patch(
                &path,
                &json!([{"op": "replace", "path": "/id", "value": "x"}]),
            )
            .await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
        assert_eq!(app.get_json(&path).await, patched);
    }
}

#[tokio::test]
async fn a_workgroup_managing_a_source_is_not_deleted_and_an_unused_one_is() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let member = app.seed_identity(&[]).await;
    let (source, managing, _) = app
        .seed_subadmin_source(&owner, "Managed", std::slice::from_ref(&member.id))
        .await;
    for prefix in ["/beta/workgroups", "/workgroups/v1"] {
        let path = format!("{prefix}/{managing}");
        let before = app.get_json(&path).await;
        assert_isc_error(
            app.delete(&path).await,
            400,
            "400.2.1.0 Object in use by another",
        )
        .await;
        assert_eq!(app.get_json(&path).await, before);
        let src = app.get_json(&format!("/v3/sources/{}", source.id)).await;
        assert_eq!(src["managementWorkgroup"]["id"], managing.as_str());

        let unused = create_group(&app, prefix, &format!("Unused {prefix}"), &owner.id).await;
        let unused_path = format!("{prefix}/{}", unused["id"].as_str().unwrap());
        assert_eq!(app.delete(&unused_path).await.status(), 204);
        assert_isc_error(app.get(&unused_path).await, 404, "404 Not found").await;
    }
    // The sub-admin still administers its source.
    let listed = app
        .get_json(&format!("/beta/workgroups/{managing}/members"))
        .await;
    assert_eq!(listed[0]["id"], member.id.as_str());
}

#[tokio::test]
async fn workgroups_are_deleted_in_bulk_each_with_its_status() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let (_, managing, _) = app.seed_subadmin_source(&owner, "Managed", &[]).await;
    for prefix in ["/beta/workgroups", "/workgroups/v1"] {
        let unused = create_group(&app, prefix, &format!("Unused {prefix}"), &owner.id).await;
        let unused_id = unused["id"].as_str().unwrap();
        let missing = "0".repeat(32);
        let results = json_of(
            app.post(
                &format!("{prefix}/bulk-delete"),
                &json!({"ids": [unused_id, missing, managing]}),
            )
            .await,
            207,
        )
        .await;
        let statuses: Vec<(String, i64)> = results
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_string(),
                    r["status"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                (unused_id.to_string(), 204),
                (missing.clone(), 404),
                (managing.clone(), 409)
            ]
        );
        assert_eq!(
            app.get(&format!("{prefix}/{unused_id}")).await.status(),
            404
        );
        assert_eq!(app.get(&format!("{prefix}/{managing}")).await.status(), 200);
        assert_isc_error(
            app.post(&format!("{prefix}/bulk-delete"), &json!({"ids": []}))
                .await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
    }
}

#[tokio::test]
async fn members_are_removed_from_a_workgroup_in_bulk_on_beta() {
    let app = TestApp::spawn().await;
    let owner = app.seed_identity(&[]).await;
    let a = app.seed_identity(&[]).await;
    let b = app.seed_identity(&[]).await;
    let outsider = app.seed_identity(&[]).await;
    let group = create_group(&app, "/beta/workgroups", "G", &owner.id).await;
    let id = group["id"].as_str().unwrap();
    let added = app
        .post(
            &format!("/beta/workgroups/{id}/members/bulk-add"),
            &json!([{"type": "IDENTITY", "id": a.id}, {"type": "IDENTITY", "id": b.id}]),
        )
        .await;
    assert_eq!(added.status(), 207);
    let results = json_of(
        app.post(
            &format!("/beta/workgroups/{id}/members/bulk-delete"),
            &json!([{"type": "IDENTITY", "id": a.id}, {"type": "IDENTITY", "id": outsider.id}]),
        )
        .await,
        207,
    )
    .await;
    assert_eq!(results[0]["id"], a.id.as_str());
    assert_eq!(results[0]["status"], 204);
    assert_eq!(results[1]["id"], outsider.id.as_str());
    assert_eq!(results[1]["status"], 404);
    let members = app
        .get_json(&format!("/beta/workgroups/{id}/members"))
        .await;
    let ids: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![b.id.as_str()]);
    assert_eq!(
        app.get_json(&format!("/beta/workgroups/{id}")).await["memberCount"],
        1
    );
    // A wrong type refuses the whole request: nothing removed.
    assert_isc_error(
        app.post(
            &format!("/beta/workgroups/{id}/members/bulk-delete"),
            &json!([{"type": "IDENTITY", "id": b.id}, {"type": "ROLE", "id": "x"}]),
        )
        .await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert_eq!(
        app.get_json(&format!("/beta/workgroups/{id}")).await["memberCount"],
        1
    );
}

#[tokio::test]
async fn an_identity_that_owns_something_is_not_deleted_and_another_is() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for prefix in ["/beta/identities", "/identities/v1"] {
        let path = format!("{prefix}/{}", f.owner.id);
        let before = app.get_json(&path).await;
        assert_isc_error(
            app.delete(&path).await,
            400,
            "400.2.1.0 Object in use by another",
        )
        .await;
        assert_eq!(app.get_json(&path).await, before);
        assert_eq!(
            app.get_json(&format!("/v3/sources/{}", f.source.id)).await["owner"]["id"],
            f.owner.id.as_str()
        );

        let member = app.seed_identity(&[]).await;
        let (_, group, _) = app
            .seed_subadmin_source(
                &f.owner,
                &format!("S {prefix}"),
                std::slice::from_ref(&member.id),
            )
            .await;
        let member_path = format!("{prefix}/{}", member.id);
        assert_eq!(app.delete(&member_path).await.status(), 204);
        assert_isc_error(app.get(&member_path).await, 404, "404 Not found").await;
        assert_eq!(
            app.get_json(&format!("/beta/workgroups/{group}")).await["memberCount"],
            0
        );
        assert_isc_error(app.delete(&member_path).await, 404, "404 Not found").await;
    }
}

#[tokio::test]
async fn an_entitlement_is_patched_on_beta_and_v1_in_their_shapes() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let other = app.seed_identity(&[]).await;
    let beta = format!("/beta/entitlements/{}", f.entitlements[0]);
    let patched = json_of(
        app.patch(
            &beta,
            &json!([{"op": "replace", "path": "/requestable", "value": false},
                    {"op": "replace", "path": "/privileged", "value": true},
                    {"op": "replace", "path": "/description", "value": "Admins"},
                    {"op": "replace", "path": "/owner", "value": {"type": "IDENTITY", "id": other.id}}]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["requestable"], false);
    assert_eq!(patched["privileged"], true);
    assert_eq!(patched["description"], "Admins");
    assert_eq!(patched["owner"]["id"], other.id.as_str());
    assert_eq!(app.get_json(&beta).await, patched);
    let v1 = format!("/entitlements/v1/{}", f.entitlements[0]);
    assert_eq!(app.get_json(&v1).await["privilegeLevel"]["direct"], "HIGH");
    let renamed = json_of(
        app.patch(
            &v1,
            &json!([{"op": "replace", "path": "/name", "value": "Renamed"}]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(app.get_json(&beta).await["name"], "Renamed");

    // Refused, nothing changed: a field accessd does not patch, an owner that is no
    // identity, an owner name that is not the identity's, and v1 `privileged`.
    let before = app.get_json(&beta).await;
    for (path, ops) in [
        (
            &beta,
            json!([{"op": "replace", "path": "/attribute", "value": "x"}]),
        ),
        (
            &beta,
            json!([{"op": "replace", "path": "/owner", "value": {"type": "IDENTITY", "id": "0".repeat(32)}}]),
        ),
        (
            &beta,
            json!([{"op": "replace", "path": "/owner", "value": {"type": "IDENTITY", "id": other.id, "name": "Someone Else"}}]),
        ),
        (
            &beta,
            json!([{"op": "replace", "path": "/owner", "value": {"type": "GOVERNANCE_GROUP", "id": other.id}}]),
        ),
        (
            &v1,
            json!([{"op": "replace", "path": "/privileged", "value": false}]),
        ),
    ] {
        assert_isc_error(
            app.patch(path, &ops).await,
            400,
            "400.1 Bad Request Content",
        )
        .await;
    }
    assert_eq!(app.get_json(&beta).await, before);
    assert_isc_error(
        app.patch(
            &format!("/beta/entitlements/{}", "0".repeat(32)),
            &json!([{"op": "replace", "path": "/name", "value": "x"}]),
        )
        .await,
        404,
        "404 Not found",
    )
    .await;
}

#[tokio::test]
async fn a_workgroup_or_entitlement_patch_without_a_body_changes_nothing() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let group = create_group(&app, "/beta/workgroups", "Bodiless", &f.owner.id).await;
    for path in [
        format!("/beta/workgroups/{}", group["id"].as_str().unwrap()),
        format!("/workgroups/v1/{}", group["id"].as_str().unwrap()),
        format!("/beta/entitlements/{}", f.entitlements[0]),
        format!("/entitlements/v1/{}", f.entitlements[0]),
    ] {
        let before = app.get_json(&path).await;
        // The spec makes these bodies optional: no body is a patch of no operations.
        let resp = app.request(Method::PATCH, &path).send().await.unwrap();
        assert_eq!(json_of(resp, 200).await, before, "{path}");
        assert_eq!(app.get_json(&path).await, before, "{path}");
    }
}
