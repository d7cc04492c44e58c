//! Deleting access profiles (CONTRACT §3.1, §3.2): single and bulk, on every family,
//! with usages by roles and lifecycle states, the durable task, and the invariant
//! under concurrent role writes.

use serde_json::{json, Value};

use crate::helpers::{ap_body, assert_isc_error, Fixture, TestApp, FAMILIES};

/// A role named `name` that uses these access profiles, created over v3 (201 asserted).
async fn role_using(app: &TestApp, f: &Fixture, name: &str, ap_ids: &[&str]) -> Value {
    let resp = app.post("/v3/roles", &role_json(f, name, ap_ids)).await;
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(status, 201, "role create: {body}");
    body
}

fn role_json(f: &Fixture, name: &str, ap_ids: &[&str]) -> Value {
    json!({
        "name": name,
        "owner": {"type": "IDENTITY", "id": f.owner.id},
        "accessProfiles": ap_ids.iter().map(|id| json!({"type": "ACCESS_PROFILE", "id": id})).collect::<Vec<_>>(),
        "enabled": true,
        "requestable": false,
    })
}

async fn profile(app: &TestApp, f: &Fixture, name: &str) -> String {
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(f, name))
        .await;
    ap["id"].as_str().expect("id").to_string()
}

async fn exists(app: &TestApp, id: &str) -> bool {
    let status = app.get(&format!("/v3/access-profiles/{id}")).await.status();
    assert!(status == 200 || status == 404, "unexpected {status}");
    status == 200
}

async fn bulk(app: &TestApp, prefix: &str, body: Value) -> (u16, Value) {
    let resp = app.post(&format!("{prefix}/bulk-delete"), &body).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn task_status(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/beta/task-status/{id}")).await
}

#[tokio::test]
async fn an_unused_profile_is_deleted_with_204_on_v3_and_v1() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for prefix in ["/v3/access-profiles", "/access-profiles/v1"] {
        let id = profile(&app, &f, &format!("Gone via {prefix}")).await;
        let resp = app.delete(&format!("{prefix}/{id}")).await;
        assert_eq!(resp.status(), 204, "{prefix}");
        assert!(resp.text().await.unwrap().is_empty(), "204 has no body");
        assert!(!exists(&app, &id).await);
        assert_isc_error(
            app.get(&format!("{prefix}/{id}")).await,
            404,
            "404 Not found",
        )
        .await;
    }
}

#[tokio::test]
async fn beta_single_delete_answers_202_with_a_task_that_reports_success() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = profile(&app, &f, "Beta gone").await;
    let resp = app.delete(&format!("/beta/access-profiles/{id}")).await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "TASK_RESULT");
    assert!(body["name"].is_null() && body.get("name").is_some());
    let task_id = body["id"].as_str().unwrap();
    assert_eq!(task_id.len(), 32);
    assert!(!exists(&app, &id).await);
    let task = task_status(&app, task_id).await;
    assert_eq!(task["completionStatus"], "SUCCESS");
    assert_eq!(task["percentComplete"], 100);
    assert!(task["completed"].is_string());
}

#[tokio::test]
async fn deleting_an_unknown_profile_is_404_on_every_family() {
    let app = TestApp::spawn().await;
    for prefix in FAMILIES {
        let resp = app
            .delete(&format!("{prefix}/0123456789abcdef0123456789abcdef"))
            .await;
        assert_isc_error(resp, 404, "404 Not found").await;
    }
}

#[tokio::test]
async fn a_profile_used_by_a_role_cannot_be_deleted_on_any_family() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = profile(&app, &f, "Payroll Clerk").await;
    role_using(&app, &f, "Payroll", &[&id]).await;
    for prefix in FAMILIES {
        let text = assert_isc_error(
            app.delete(&format!("{prefix}/{id}")).await,
            400,
            "400.2.1.0 Object in use by another",
        )
        .await;
        assert_eq!(
            text,
            "The \"Payroll Clerk\" access profile can't be deleted because it's in use."
        );
    }
    assert!(exists(&app, &id).await);
}

#[tokio::test]
async fn a_profile_used_by_a_lifecycle_state_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = profile(&app, &f, "Joiner kit").await;
    let ip = app
        .store
        .insert_identity_profile(
            &accessd::domain::model::NewIdentityProfile {
                name: "Employees".into(),
                description: None,
                owner_id: Some(f.owner.id.clone()),
                authoritative_source_id: Some(f.source.id.clone()),
                priority: 10,
            },
            app.clock.now(),
        )
        .await
        .expect("identity profile");
    let resp = app
        .post(
            &format!("/v3/identity-profiles/{}/lifecycle-states", ip.id),
            &json!({"name": "Active", "technicalName": "active", "enabled": true, "accessProfileIds": [id]}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    assert_isc_error(
        app.delete(&format!("/v3/access-profiles/{id}")).await,
        400,
        "400.2.1.0 Object in use by another",
    )
    .await;
    let (status, body) = bulk(
        &app,
        "/v3/access-profiles",
        json!({"accessProfileIds": [id], "bestEffortOnly": false}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["inUse"][0]["usedBy"][0]["type"], "LIFECYCLE_STATE");
    assert_eq!(body["inUse"][0]["usedBy"][0]["name"], "Active");
    assert!(exists(&app, &id).await);
}

#[tokio::test]
async fn bulk_delete_rejects_malformed_requests_and_deletes_nothing() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = profile(&app, &f, "Survivor").await;
    let many: Vec<String> = (0..51).map(|i| format!("{i:032x}")).collect();
    let cases = [
        (json!({}), "accessProfileIds is required"),
        (json!({"accessProfileIds": []}), "at least one"),
        (json!({"accessProfileIds": many}), "at most 50"),
        (json!({"accessProfileIds": [id, id]}), "duplicate"),
        (json!({"accessProfileIds": id}), "not valid"),
        (
            json!({"accessProfileIds": [id], "bestEffortOnly": "yes"}),
            "not valid",
        ),
        (json!([id]), "not valid"),
    ];
    for prefix in FAMILIES {
        for (body, needle) in &cases {
            let resp = app.post(&format!("{prefix}/bulk-delete"), body).await;
            let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
            assert!(text.contains(needle), "{body} → {text}");
        }
    }
    assert!(exists(&app, &id).await);
}

#[tokio::test]
async fn bulk_delete_with_unknown_ids_is_rejected_unless_best_effort() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = profile(&app, &f, "Known").await;
    let ghost = "0123456789abcdef0123456789abcdef";
    let resp = app
        .post(
            "/v3/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [id, ghost]}),
        )
        .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(text.contains(ghost), "{text}");
    assert!(exists(&app, &id).await);

    let (status, body) = bulk(
        &app,
        "/beta/access-profiles",
        json!({"accessProfileIds": [id, ghost], "bestEffortOnly": true}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["pending"], json!([id]));
    app.drain_tasks().await;
    let task = task_status(&app, body["taskId"].as_str().unwrap()).await;
    assert_eq!(task["completionStatus"], "SUCCESS");
    let messages = task["messages"].to_string();
    assert!(messages.contains(ghost), "{messages}");
    assert!(!exists(&app, &id).await);
}

#[tokio::test]
async fn bulk_delete_without_best_effort_deletes_nothing_when_one_is_in_use() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for (i, prefix) in FAMILIES.iter().enumerate() {
        let a = profile(&app, &f, &format!("A{i}")).await;
        let b = profile(&app, &f, &format!("B{i}")).await;
        let role = role_using(&app, &f, &format!("Role {i}"), &[&a]).await;
        // bestEffortOnly absent, null and false all mean false.
        for flag in [None, Some(Value::Null), Some(json!(false))] {
            let mut body = json!({"accessProfileIds": [a, b]});
            if let Some(v) = flag.clone() {
                body["bestEffortOnly"] = v;
            }
            let (status, answer) = bulk(&app, prefix, body).await;
            assert_eq!(status, 200, "{prefix} {flag:?}: {answer}");
            assert_eq!(answer["pending"], json!([]));
            assert!(answer.get("taskId").is_none_or(Value::is_null));
            assert_eq!(
                answer["inUse"],
                json!([{"accessProfileId": a, "usedBy": [{"type": "ROLE", "id": role["id"], "name": format!("Role {i}")}]}])
            );
        }
        assert!(exists(&app, &a).await && exists(&app, &b).await);
    }
}

#[tokio::test]
async fn bulk_delete_with_best_effort_deletes_the_unused_ones_in_a_task() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for (i, prefix) in FAMILIES.iter().enumerate() {
        let a = profile(&app, &f, &format!("Used {i}")).await;
        let b = profile(&app, &f, &format!("Free {i}")).await;
        role_using(&app, &f, &format!("User {i}"), &[&a]).await;
        let (status, answer) = bulk(
            &app,
            prefix,
            json!({"accessProfileIds": [a, b], "bestEffortOnly": true}),
        )
        .await;
        assert_eq!(status, 202, "{prefix}: {answer}");
        assert_eq!(answer["pending"], json!([b]));
        assert_eq!(answer["inUse"][0]["accessProfileId"], a.as_str());
        let task_id = answer["taskId"].as_str().unwrap().to_string();
        app.drain_tasks().await;
        for path in [
            format!("/beta/task-status/{task_id}"),
            format!("/task-status/v1/{task_id}"),
        ] {
            let task = app.get_json(&path).await;
            assert_eq!(task["completionStatus"], "SUCCESS", "{task}");
            assert_eq!(task["percentComplete"], 100);
        }
        assert!(exists(&app, &a).await, "the used profile is kept");
        assert!(!exists(&app, &b).await, "the free profile is gone");
    }
}

#[tokio::test]
async fn bulk_delete_with_best_effort_and_everything_in_use_answers_200() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let a = profile(&app, &f, "Only").await;
    role_using(&app, &f, "Holder", &[&a]).await;
    let (status, answer) = bulk(
        &app,
        "/v3/access-profiles",
        json!({"accessProfileIds": [a], "bestEffortOnly": true}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["pending"], json!([]));
    assert_eq!(answer["inUse"][0]["accessProfileId"], a.as_str());
}

#[tokio::test]
async fn a_profile_that_comes_into_use_before_the_task_runs_is_kept_with_a_warning() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    let a = profile(&app, &f, "Late user").await;
    let b = profile(&app, &f, "Still free").await;
    let (status, answer) = bulk(
        &app,
        "/v3/access-profiles",
        json!({"accessProfileIds": [a, b]}),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["pending"], json!([a, b]));
    // Between the answer and the execution, a role starts using A.
    role_using(&app, &f, "Latecomer", &[&a]).await;
    app.drain_tasks().await;
    let task = task_status(&app, answer["taskId"].as_str().unwrap()).await;
    assert_eq!(task["completionStatus"], "WARNING", "{task}");
    let text = task["messages"][0]["localizedText"]["message"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("Late user") && text.contains("Latecomer"),
        "{text}"
    );
    assert!(exists(&app, &a).await);
    assert!(!exists(&app, &b).await);
}

/// Each finished `(task, profile)` of a race: SUCCESS deleted the profile, WARNING kept
/// it. Returns how many were deleted.
async fn check_task_outcomes(app: &TestApp, tasks: &[(String, String)]) -> usize {
    let mut deleted = 0;
    for (task_id, x) in tasks {
        let task = task_status(app, task_id).await;
        match task["completionStatus"].as_str() {
            Some("SUCCESS") => {
                assert!(!exists(app, x).await, "SUCCESS left {x}");
                deleted += 1;
            }
            Some("WARNING") => assert!(exists(app, x).await, "WARNING but {x} gone"),
            other => panic!("task ended {other:?}: {task}"),
        }
    }
    deleted
}

/// Many rounds of "bulk delete X" racing "create a role using X" and "patch a role to
/// use X": whatever the interleaving, no role ever references a deleted profile, and
/// a SUCCESS task deleted everything it listed as pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_invariant_holds_when_bulk_deletes_race_role_writes() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let patched = role_using(&app, &f, "Patched role", &[]).await;
    let patched_id = patched["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for round in 0..25 {
        let x = profile(&app, &f, &format!("Contested {round}")).await;
        let delete_body = json!({"accessProfileIds": [x], "bestEffortOnly": true});
        let role_body = role_json(&f, &format!("Racer {round}"), &[&x]);
        let patch_path = format!("/v3/roles/{patched_id}");
        let patch_ops = json!([{"op": "replace", "path": "/accessProfiles", "value": [{"type": "ACCESS_PROFILE", "id": x}]}]);
        let delete = app.post("/v3/access-profiles/bulk-delete", &delete_body);
        let create = app.post("/v3/roles", &role_body);
        let patch = app.patch(&patch_path, &patch_ops);
        let (d, c, p) = tokio::join!(delete, create, patch);
        let d_status = d.status().as_u16();
        let d_body: Value = d.json().await.unwrap();
        assert!(matches!(d_status, 200 | 202), "{d_status} {d_body}");
        assert!(
            matches!(c.status().as_u16(), 201 | 400),
            "create {}",
            c.status()
        );
        assert!(
            matches!(p.status().as_u16(), 200 | 400),
            "patch {}",
            p.status()
        );
        if d_status == 202 {
            tasks.push((d_body["taskId"].as_str().unwrap().to_string(), x.clone()));
        }
    }
    app.drain_tasks().await;
    check_task_outcomes(&app, &tasks).await;
    // The invariant over the whole database: every referenced profile exists.
    let roles = app.get_json("/v3/roles?limit=50&count=true").await;
    let roles = roles.as_array().unwrap();
    assert!(!roles.is_empty());
    for role in roles {
        for ap in role["accessProfiles"].as_array().into_iter().flatten() {
            assert!(
                exists(&app, ap["id"].as_str().unwrap()).await,
                "role {} references a deleted profile",
                role["name"]
            );
        }
    }
}

/// The same race with source apps: "bulk delete X" against "patch an app to hold X".
/// Afterwards no app holds a deleted profile, and each task's outcome matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_invariant_holds_when_bulk_deletes_race_source_app_patches() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let created = app
        .post(
            "/beta/source-apps",
            &json!({"name": "Racing app", "description": "holds contested profiles",
                    "accountSource": {"id": f.source.id}}),
        )
        .await;
    assert_eq!(created.status(), 200);
    let app_id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tasks = Vec::new();
    for round in 0..25 {
        let x = profile(&app, &f, &format!("App contested {round}")).await;
        let delete_body = json!({"accessProfileIds": [x], "bestEffortOnly": true});
        let patch_ops = json!([{"op": "add", "path": "/accessProfiles/-", "value": x}]);
        let patch_path = format!("/beta/source-apps/{app_id}");
        let delete = app.post("/v3/access-profiles/bulk-delete", &delete_body);
        let patch = app.patch(&patch_path, &patch_ops);
        let (d, p) = tokio::join!(delete, patch);
        let d_status = d.status().as_u16();
        let d_body: Value = d.json().await.unwrap();
        assert!(matches!(d_status, 200 | 202), "{d_status} {d_body}");
        assert!(
            matches!(p.status().as_u16(), 200 | 400),
            "patch {}",
            p.status()
        );
        if d_status == 202 {
            tasks.push((d_body["taskId"].as_str().unwrap().to_string(), x.clone()));
        }
    }
    app.drain_tasks().await;
    let deleted = check_task_outcomes(&app, &tasks).await;
    let held = app
        .get_json(&format!("/beta/source-apps/{app_id}/access-profiles"))
        .await;
    let held = held.as_array().unwrap();
    for ap in held {
        assert!(
            exists(&app, ap["id"].as_str().unwrap()).await,
            "the app holds a deleted profile"
        );
    }
    // Each round ends one way: the profile was deleted, or the app holds it.
    assert_eq!(
        deleted + held.len(),
        25,
        "deleted {deleted}, held {}",
        held.len()
    );
}

/// The unfiltered `count=true` total (read from the count the store keeps) and, for
/// comparison, the length of the full list.
async fn counted(app: &TestApp) -> (i64, usize) {
    let resp = app.get("/v3/access-profiles?count=true&limit=250").await;
    assert_eq!(resp.status(), 200);
    let total = resp.headers()["X-Total-Count"]
        .to_str()
        .expect("header")
        .parse()
        .expect("a number");
    let list: Vec<Value> = resp.json().await.expect("json");
    (total, list.len())
}

#[tokio::test]
async fn the_unfiltered_count_stays_exact_through_creates_refusals_and_deletes() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    assert_eq!(counted(&app).await, (0, 0));
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(profile(&app, &f, &format!("Counted {i}")).await);
    }
    assert_eq!(counted(&app).await, (6, 6));

    // A create refused by the name's uniqueness and a delete refused by a usage
    // change nothing.
    let resp = app
        .post("/v3/access-profiles", &ap_body(&f, "Counted 0"))
        .await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    role_using(&app, &f, "Counting role", &[&ids[5]]).await;
    let resp = app.delete(&format!("/v3/access-profiles/{}", ids[5])).await;
    assert_isc_error(resp, 400, "400.2.1.0 Object in use by another").await;
    assert_eq!(counted(&app).await, (6, 6));

    // A single delete, then a bulk delete of two (one in use, best effort).
    let resp = app.delete(&format!("/v3/access-profiles/{}", ids[0])).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(counted(&app).await, (5, 5));
    let (status, body) = bulk(
        &app,
        "/beta/access-profiles",
        json!({"accessProfileIds": [ids[1], ids[2], ids[5]], "bestEffortOnly": true}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    app.drain_tasks().await;
    assert_eq!(counted(&app).await, (3, 3));

    // The filtered count is counted by the query, and agrees.
    let resp = app
        .get("/v3/access-profiles?count=true&filters=name%20sw%20%22Counted%22")
        .await;
    assert_eq!(resp.headers()["X-Total-Count"], "3");
}
