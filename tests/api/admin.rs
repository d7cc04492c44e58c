//! The admin API for testers (`/_accessd/`): who may call it, the clock, injected
//! faults and the request journal — each through real HTTP, the refusals included.

use serde_json::{json, Value};

use crate::helpers::*;

async fn admin_post(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.post(path, body).await
}

#[tokio::test]
async fn only_a_client_with_the_admin_scope_may_call_it_and_a_refusal_changes_nothing() {
    let app = TestApp::spawn().await;
    let (org_admin, _) = app.token_for(&["ORG_ADMIN"], &["sp:scopes:all"]).await;
    let rule = json!({"status": 500});
    for path in [
        "/_accessd/clock",
        "/_accessd/faults",
        "/_accessd/requests",
        "/_accessd/openapi.json",
    ] {
        let none = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(none.status(), 401, "{path}");
        let refused = app
            .http
            .get(app.url(path))
            .bearer_auth(&org_admin)
            .send()
            .await
            .unwrap();
        let text = assert_isc_error(refused, 403, "403 Forbidden").await;
        assert!(text.contains("accessd:admin"), "{text}");
    }
    let refused = app
        .http
        .post(app.url("/_accessd/faults"))
        .bearer_auth(&org_admin)
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(app.get_json("/_accessd/faults").await, json!([]));
    // The start-up admin client holds the scope; its document is served.
    let doc = app.get_json("/_accessd/openapi.json").await;
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["paths"]["/_accessd/faults"]["post"].is_object());
}

#[tokio::test]
async fn the_clock_moves_stamps_and_token_expiry_and_returns_to_real_time() {
    let mut app = TestApp::spawn().await;
    let f = app.fixture().await;
    let resp = admin_post(
        &app,
        "/_accessd/clock",
        &json!({"freeze": true, "to": "2031-05-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let clock: Value = resp.json().await.unwrap();
    assert_eq!(clock["now"], "2031-05-01T10:00:00.000Z");
    assert_eq!(clock["frozen"], true);
    // The harness's token was issued before the clock jumped ahead: it expired.
    assert_eq!(app.get("/v3/access-profiles").await.status(), 401);
    app.renew_token().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Stamped"))
        .await;
    assert_eq!(ap["created"], "2031-05-01T10:00:00.000Z");
    // A token lives 749 s of this clock.
    let resp = admin_post(&app, "/_accessd/clock", &json!({"advanceSeconds": 748})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
    let resp = admin_post(&app, "/_accessd/clock", &json!({"advanceSeconds": 2})).await;
    assert_eq!(resp.status(), 200, "checked before the clock moved");
    assert_eq!(app.get("/v3/access-profiles").await.status(), 401);
    app.renew_token().await;
    let clock = app.get_json("/_accessd/clock").await;
    assert_eq!(clock["now"], "2031-05-01T10:12:30.000Z");
    // Back to real time.
    let resp = admin_post(&app, "/_accessd/clock", &json!({"real": true})).await;
    let clock: Value = resp.json().await.unwrap();
    assert_eq!(clock["frozen"], false);
    assert!(clock["offsetMs"].as_i64().unwrap().abs() < 5_000, "{clock}");
    app.renew_token().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Now"))
        .await;
    assert!(ap["created"].as_str().unwrap() < "2031");
    // Bad changes are refused and change nothing.
    for bad in [
        json!({}),
        json!({"to": "tomorrow"}),
        json!({"real": true, "freeze": true}),
        json!({"advance": "1h"}),
    ] {
        let resp = admin_post(&app, "/_accessd/clock", &bad).await;
        assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    }
    assert_eq!(app.get_json("/_accessd/clock").await["frozen"], false);
}

#[tokio::test]
async fn a_clock_change_outside_1970_to_9999_is_refused_and_changes_nothing() {
    let mut app = TestApp::spawn().await;
    let resp = admin_post(
        &app,
        "/_accessd/clock",
        &json!({"freeze": true, "to": "2031-05-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    app.renew_token().await;
    for bad in [
        json!({"advanceSeconds": 10_000_000_000_000_i64}),
        json!({"advanceSeconds": -10_000_000_000_000_i64}),
        json!({"advanceSeconds": i64::MIN}),
        json!({"advanceSeconds": i64::MIN + 1}),
        json!({"advanceSeconds": i64::MAX}),
        json!({"to": "9999-12-31T23:59:59Z", "advanceSeconds": 1}),
        json!({"to": "1969-12-31T23:59:59Z"}),
        json!({"advanceSeconds": -2_000_000_000}),
        json!({"to": "10000-01-01T00:00:00Z"}),
        json!({"real": true, "advanceSeconds": i64::MAX}),
    ] {
        let resp = admin_post(&app, "/_accessd/clock", &bad).await;
        assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        let clock = app.get_json("/_accessd/clock").await;
        assert_eq!(clock["now"], "2031-05-01T10:00:00.000Z", "{bad}: {clock}");
        assert_eq!(clock["frozen"], true, "{bad}: {clock}");
    }
    // The same from a running clock.
    let resp = admin_post(&app, "/_accessd/clock", &json!({"real": true})).await;
    assert_eq!(resp.status(), 200);
    app.renew_token().await;
    let resp = admin_post(
        &app,
        "/_accessd/clock",
        &json!({"advanceSeconds": 10_000_000_000_000_i64}),
    )
    .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(text.contains("1970-01-01T00:00:00Z"), "{text}");
    let clock = app.get_json("/_accessd/clock").await;
    assert_eq!(clock["frozen"], false, "{clock}");
    assert!(clock["offsetMs"].as_i64().unwrap().abs() < 5_000, "{clock}");
    // The server still answers, and the last instant of 9999 may be set.
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
    let resp = admin_post(
        &app,
        "/_accessd/clock",
        &json!({"freeze": true, "to": "9999-12-31T23:59:59.999Z"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let clock: Value = resp.json().await.unwrap();
    assert_eq!(clock["now"], "9999-12-31T23:59:59.999Z");
    app.renew_token().await;
    let resp = admin_post(&app, "/_accessd/clock", &json!({"advanceSeconds": -86_399})).await;
    assert_eq!(resp.status(), 200);
    // Nothing out of range was stored: a new server on the database starts on it.
    let app = {
        let config = test_config(&app.database_url);
        let dir = app.dir.clone();
        let mut old = app;
        old.stop().await;
        TestApp::start(config, dir, accessd::domain::Clock::system()).await
    };
    let clock = app.get_json("/_accessd/clock").await;
    assert_eq!(clock["now"], "9999-12-31T00:00:00.999Z", "{clock}");
}

#[tokio::test]
async fn concurrent_advances_on_one_instance_add_up_exactly() {
    const CALLS: i64 = 6;
    let app = TestApp::spawn_with_clock(accessd::domain::Clock::frozen(), |_| {}).await;
    let before = app.get_json("/_accessd/clock").await;
    let before = chrono::DateTime::parse_from_rfc3339(before["now"].as_str().unwrap()).unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..CALLS {
        let call = app
            .request(reqwest::Method::POST, "/_accessd/clock")
            .json(&json!({"advanceSeconds": 10}));
        calls.spawn(async move {
            let resp = call.send().await.expect("request");
            (resp.status(), resp.text().await.unwrap())
        });
    }
    while let Some(answer) = calls.join_next().await {
        let (status, text) = answer.unwrap();
        assert_eq!(status, 200, "{text}");
    }
    let after = app.get_json("/_accessd/clock").await;
    let now = chrono::DateTime::parse_from_rfc3339(after["now"].as_str().unwrap()).unwrap();
    assert_eq!(
        now - before,
        chrono::Duration::seconds(CALLS * 10),
        "{after}"
    );
    let (setting, _) = app.store.clock_setting().await.unwrap();
    assert_eq!(
        setting.and_then(|s| s.frozen_at),
        Some(now.with_timezone(&chrono::Utc)),
        "the stored clock is the one this instance reads"
    );
}

#[tokio::test]
async fn a_fault_answers_in_place_of_its_operation_as_often_as_asked() {
    let app = TestApp::spawn().await;
    let resp = admin_post(
        &app,
        "/_accessd/faults",
        &json!({"operationId": "listAccessProfiles", "family": "v3", "status": 429,
                "retryAfter": 2, "times": 2}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let rule: Value = resp.json().await.unwrap();
    let rule_id = rule["id"].as_str().unwrap().to_string();
    // Another family and another operation are not matched.
    assert_eq!(app.get("/beta/access-profiles").await.status(), 200);
    assert_eq!(app.get("/v3/roles").await.status(), 200);
    for _ in 0..2 {
        let resp = app.get("/v3/access-profiles").await;
        assert_eq!(resp.headers()["Retry-After"], "2");
        assert_isc_error(resp, 429, "429 Too Many Requests").await;
    }
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
    assert_eq!(app.get_json("/_accessd/faults").await, json!([]), "used up");

    // A path pattern, a status for every method, removed by id.
    let resp = admin_post(
        &app,
        "/_accessd/faults",
        &json!({"path": "/v2025/roles*", "status": 503}),
    )
    .await;
    let rule: Value = resp.json().await.unwrap();
    assert_isc_error(
        app.get("/v2025/roles").await,
        503,
        "503 Service Unavailable",
    )
    .await;
    let resp = app
        .delete(&format!(
            "/_accessd/faults/{}",
            rule["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(app.get("/v2025/roles").await.status(), 200);
    let gone = app.delete(&format!("/_accessd/faults/{rule_id}")).await;
    assert_isc_error(gone, 404, "404 Not found").await;

    // A dropped connection: the client gets no complete answer; a delay alone lets
    // the operation answer.
    admin_post(
        &app,
        "/_accessd/faults",
        &json!({"operationId": "getRole", "drop": true, "times": 1}),
    )
    .await;
    let dropped = app
        .request(
            reqwest::Method::GET,
            "/v3/roles/0123456789abcdef0123456789abcdef",
        )
        .send()
        .await;
    assert!(dropped.is_err(), "{dropped:?}");
    assert_eq!(
        app.get("/v3/roles/0123456789abcdef0123456789abcdef")
            .await
            .status(),
        404,
        "fired once"
    );
    admin_post(
        &app,
        "/_accessd/faults",
        &json!({"method": "get", "path": "/v3/sources", "delayMs": 50}),
    )
    .await;
    assert_eq!(app.get("/v3/sources").await.status(), 200);
    let cleared = app
        .request(reqwest::Method::DELETE, "/_accessd/faults")
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(app.get_json("/_accessd/faults").await, json!([]));
}

#[tokio::test]
async fn an_invalid_rule_is_refused_with_every_problem_and_nothing_is_added() {
    let app = TestApp::spawn().await;
    let resp = admin_post(
        &app,
        "/_accessd/faults",
        &json!({"status": 418, "retryAfter": 1, "times": 0, "probability": 2.0}),
    )
    .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    for part in ["418", "retryAfter", "times", "probability"] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let resp = admin_post(&app, "/_accessd/faults", &json!({"stauts": 500})).await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(text.contains("stauts"), "{text}");
    let resp = admin_post(&app, "/_accessd/faults", &json!({"operationId": "getRole"})).await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert_eq!(app.get_json("/_accessd/faults").await, json!([]));
}

#[tokio::test]
async fn the_journal_records_each_request_with_its_operation_client_and_fault() {
    let app = TestApp::spawn().await;
    let (client, _) = app.admin_client();
    let resp = admin_post(
        &app,
        "/_accessd/faults",
        &json!({"operationId": "listRoles", "status": 500, "times": 1}),
    )
    .await;
    let rule: Value = resp.json().await.unwrap();
    assert_eq!(app.get("/beta/roles").await.status(), 500);
    assert_eq!(app.get("/v3/access-profiles?limit=1").await.status(), 200);
    assert_eq!(
        app.http
            .get(app.url("/v3/roles"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let all = app.get_json("/_accessd/requests").await;
    let entries = all.as_array().unwrap();
    let roles = entries
        .iter()
        .find(|e| e["path"] == "/beta/roles")
        .expect("the faulted request");
    assert_eq!(roles["status"], 500);
    assert_eq!(roles["family"], "beta");
    assert_eq!(roles["operationId"], "listRoles");
    assert_eq!(roles["clientId"], client.as_str());
    assert_eq!(roles["fault"], rule["id"]);
    assert_eq!(roles["trackingId"].as_str().unwrap().len(), 32);
    let list = entries
        .iter()
        .find(|e| e["path"] == "/v3/access-profiles")
        .unwrap();
    assert_eq!(list["query"], "limit=1");
    assert!(list["fault"].is_null());

    let by_op = app
        .get_json("/_accessd/requests?operationId=listAccessProfiles")
        .await;
    assert_eq!(by_op.as_array().unwrap().len(), 1);
    let refused = app.get_json("/_accessd/requests?status=401").await;
    assert_eq!(refused.as_array().unwrap().len(), 1);
    assert!(refused[0]["clientId"].is_null());
    let future = app
        .get_json("/_accessd/requests?since=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(future, json!([]));
    let bad = app.get("/_accessd/requests?status=abc").await;
    assert_isc_error(bad, 400, "400.1 Bad Request Content").await;

    let cleared = app
        .request(reqwest::Method::DELETE, "/_accessd/requests")
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    // The admin API's own calls are not journaled.
    assert_eq!(app.get_json("/_accessd/requests").await, json!([]));
}

#[tokio::test]
async fn a_fault_decides_the_outcome_of_the_task_a_bulk_delete_starts() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Kept"))
        .await;
    let resp = admin_post(
        &app,
        "/_accessd/faults",
        &json!({"operationId": "deleteAccessProfilesInBulk", "taskOutcome": "ERROR", "times": 1}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .post(
            "/v2025/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [ap["id"]]}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let task_id = resp.json::<Value>().await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    app.drain_tasks().await;
    let task = app.get_json(&format!("/v2025/task-status/{task_id}")).await;
    assert_eq!(task["completionStatus"], "ERROR", "{task}");
    assert!(task["completed"].is_string());
    let still = app
        .get(&format!(
            "/v3/access-profiles/{}",
            ap["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(still.status(), 200, "nothing deleted");

    // Used up: the next bulk delete runs for real. Roles: TERMINATED.
    admin_post(
        &app,
        "/_accessd/faults",
        &json!({"operationId": "deleteBulkRoles", "taskOutcome": "terminated"}),
    )
    .await;
    let role = app
        .create_role(
            "/v3/roles",
            &role_body("Kept role", &f.owner.id, &[ap["id"].as_str().unwrap()]),
        )
        .await;
    let resp = app
        .post("/v3/roles/bulk-delete", &json!({"roleIds": [role["id"]]}))
        .await;
    assert_eq!(resp.status(), 202);
    let task_id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.drain_tasks().await;
    let task = app.get_json(&format!("/beta/task-status/{task_id}")).await;
    assert_eq!(task["completionStatus"], "TERMINATED");
    let role_still = app
        .get(&format!("/v3/roles/{}", role["id"].as_str().unwrap()))
        .await;
    assert_eq!(role_still.status(), 200);
    // The access-profile rule fired its one time and is gone; the role rule stays.
    let rules = app.get_json("/_accessd/faults").await;
    assert_eq!(rules.as_array().unwrap().len(), 1, "{rules}");
    assert_eq!(rules[0]["operationId"], "deleteBulkRoles");

    // Only bulk deletes, only the four outcomes.
    for bad in [
        json!({"operationId": "getRole", "taskOutcome": "ERROR"}),
        json!({"taskOutcome": "SUCCESS"}),
        json!({"taskOutcome": "ERROR", "status": 500}),
    ] {
        let resp = admin_post(&app, "/_accessd/faults", &bad).await;
        assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    }
}

#[tokio::test]
async fn a_reset_empties_the_tenant_or_loads_the_demo_and_the_callers_token_survives() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Before"))
        .await;
    let resp = app
        .post(
            "/v3/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [ap["id"]]}),
        )
        .await;
    assert!(resp.status().is_success());
    app.drain_tasks().await;
    let (org_admin, _) = app.token_for(&["ORG_ADMIN"], &["sp:scopes:all"]).await;

    // Refused without the scope: nothing changes.
    let refused = app
        .http
        .post(app.url("/_accessd/reset"))
        .bearer_auth(&org_admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        app.get_json("/v3/sources").await.as_array().unwrap().len(),
        2
    );

    let resp = admin_post(&app, "/_accessd/reset", &json!({})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"to": "empty"}));
    for path in [
        "/v3/access-profiles",
        "/v3/sources",
        "/v3/roles",
        "/beta/task-status",
        "/beta/workgroups",
        "/v3/segments",
    ] {
        assert_eq!(app.get_json(path).await, json!([]), "{path}");
    }
    // The caller's client and identity stay; other identities go.
    let identities = app.get_json("/beta/identities").await;
    let aliases: Vec<&str> = identities
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["alias"].as_str())
        .collect();
    assert_eq!(aliases, vec!["accessd.admin"]);

    let resp = admin_post(&app, "/_accessd/reset", &json!({"to": "demo"})).await;
    assert_eq!(resp.status(), 200);
    let profiles = app.get_json("/v3/access-profiles?limit=250").await;
    assert_eq!(profiles.as_array().unwrap().len(), 12);
    assert_eq!(app.get_json("/v3/roles").await.as_array().unwrap().len(), 2);
    // A second demo reset gives the same tenant again (not twice the demo).
    admin_post(&app, "/_accessd/reset", &json!({"to": "demo"})).await;
    let again = app.get_json("/v3/access-profiles?limit=250").await;
    assert_eq!(again.as_array().unwrap().len(), 12);

    let resp = admin_post(&app, "/_accessd/reset", &json!({"to": "yesterday"})).await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    let resp = admin_post(&app, "/_accessd/reset", &json!({"fixture": {}})).await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert_eq!(
        app.get_json("/v3/access-profiles?limit=250")
            .await
            .as_array()
            .unwrap()
            .len(),
        12,
        "a refused reset changes nothing"
    );
}

#[tokio::test]
async fn a_fault_holds_a_bulk_delete_running_until_the_server_clock_passes_the_hold() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Held"))
        .await;
    let ap_id = ap["id"].as_str().unwrap().to_string();
    let resp = admin_post(
        &app,
        "/_accessd/faults",
        &json!({"operationId": "deleteAccessProfilesInBulk", "taskOutcome": "RUNNING",
                "runningMs": 60_000, "times": 1}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let rule: Value = resp.json().await.unwrap();
    assert_eq!(rule["runningMs"], 60_000);
    let resp = app
        .post(
            "/v2025/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [ap_id]}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let task_id = resp.json::<Value>().await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    // Running as ISC shows it: launched, no completion yet, listed as pending.
    let task = app.get_json(&format!("/v2025/task-status/{task_id}")).await;
    assert!(task["launched"].is_string(), "{task}");
    assert!(task["completed"].is_null(), "{task}");
    assert!(task["completionStatus"].is_null(), "{task}");
    let pending = app.get_json("/beta/task-status/pending-tasks").await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == task_id.as_str()),
        "{pending}"
    );
    // No runner may take it before the hold ends, even 59 s into it.
    admin_post(&app, "/_accessd/clock", &json!({"advanceSeconds": 59})).await;
    let now = app.clock.now();
    let claimed = app
        .store
        .claim_task("test-runner", now, now + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert!(claimed.is_none(), "claimed while held: {claimed:?}");
    assert_eq!(
        app.get(&format!("/v3/access-profiles/{ap_id}"))
            .await
            .status(),
        200,
        "nothing deleted while it runs"
    );
    // Past the hold, the task runs as usual.
    let resp = admin_post(&app, "/_accessd/clock", &json!({"advanceSeconds": 2})).await;
    assert_eq!(resp.status(), 200);
    app.drain_tasks().await;
    let task = app.get_json(&format!("/v2025/task-status/{task_id}")).await;
    assert_eq!(task["completionStatus"], "SUCCESS", "{task}");
    assert_eq!(
        app.get(&format!("/v3/access-profiles/{ap_id}"))
            .await
            .status(),
        404
    );

    for bad in [
        json!({"taskOutcome": "RUNNING"}),
        json!({"taskOutcome": "ERROR", "runningMs": 1000}),
        json!({"runningMs": 1000}),
        json!({"taskOutcome": "RUNNING", "runningMs": 0}),
        json!({"taskOutcome": "RUNNING", "runningMs": 2_592_000_001_u64}),
    ] {
        let resp = admin_post(&app, "/_accessd/faults", &bad).await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("runningMs"), "{bad}: {text}");
    }
    assert_eq!(app.get_json("/_accessd/faults").await, json!([]));
}

#[tokio::test]
async fn without_journal_bodies_no_entry_carries_a_body() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.create_access_profile("/v3/access-profiles", &ap_body(&f, "Plain"))
        .await;
    let entries = app.get_json("/_accessd/requests").await;
    let create = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operationId"] == "createAccessProfile")
        .expect("the create");
    assert!(create.get("body").is_none(), "{create}");
    assert!(create.get("bodyTruncated").is_none(), "{create}");
}

#[tokio::test]
async fn credentials_in_a_token_requests_query_are_not_journaled() {
    let app = TestApp::spawn().await;
    let (client, secret) = app.admin_client();
    let resp = app
        .http
        .post(app.url(&format!(
            "/oauth/token?grant_type=client_credentials&client_id={client}&client_secret={secret}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let entries = app.get_json("/_accessd/requests").await;
    let token = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "/oauth/token" && !e["query"].is_null())
        .expect("the token request with a query");
    let query = token["query"].as_str().unwrap();
    assert_eq!(
        query,
        format!("grant_type=client_credentials&client_id={client}&client_secret=[redacted]")
    );
    assert!(!entries.to_string().contains(&secret), "{entries}");
}

#[tokio::test]
async fn a_json_body_that_does_not_parse_is_not_journaled() {
    let app = TestApp::spawn_with(|c| c.journal_bodies = true).await;
    let body = r#"{"name": "x", "clientSecret": "hush-hush", "#;
    let resp = app
        .request(reqwest::Method::POST, "/v3/access-profiles")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let entries = app.get_json("/_accessd/requests?status=400").await;
    assert_eq!(
        entries[0]["body"],
        format!(
            "[a JSON body of {} bytes that does not parse, not recorded]",
            body.len()
        ),
        "{entries}"
    );
    assert!(!entries.to_string().contains("hush-hush"), "{entries}");
}

#[tokio::test]
async fn with_journal_bodies_entries_carry_the_body_with_secrets_redacted_and_big_ones_cut() {
    let app = TestApp::spawn_with(|c| c.journal_bodies = true).await;
    let (client, secret) = app.admin_client();
    let f = app.fixture().await;
    let body = ap_body(&f, "Recorded");
    app.create_access_profile("/v3/access-profiles", &body)
        .await;
    // The harness fetched its token at start: that request is in the journal too.
    let entries = app.get_json("/_accessd/requests").await;
    let entries = entries.as_array().unwrap();
    let token = entries
        .iter()
        .find(|e| e["path"] == "/oauth/token")
        .expect("the token request");
    let text = token["body"].as_str().expect("a form body as text");
    assert!(text.contains(&format!("client_id={client}")), "{text}");
    assert!(text.contains("client_secret=%5Bredacted%5D"), "{text}");
    assert!(!text.contains(&secret), "the secret is recorded: {text}");
    assert_eq!(token["bodyTruncated"], false);
    let create = entries
        .iter()
        .find(|e| e["operationId"] == "createAccessProfile")
        .expect("the create");
    assert_eq!(create["body"], body);
    assert_eq!(create["bodyTruncated"], false);
    // A request without a body has none recorded.
    app.get("/v3/sources").await;
    let listed = app
        .get_json("/_accessd/requests?operationId=listSources")
        .await;
    assert!(listed[0].get("body").is_none(), "{listed}");

    // A body over 64 KiB: its start, as text, flagged.
    let mut big = ap_body(&f, "Big");
    big["description"] = json!("x".repeat(100_000));
    let resp = app.post("/v3/access-profiles", &big).await;
    assert_eq!(resp.status(), 400);
    let entries = app.get_json("/_accessd/requests?status=400").await;
    let cut = &entries[0];
    assert_eq!(cut["bodyTruncated"], true, "{cut}");
    let text = cut["body"].as_str().expect("the start of the body as text");
    assert_eq!(text.len(), 64 * 1024);
    assert!(text.starts_with('{'), "{}", &text[..40]);
}

#[tokio::test]
async fn fault_rules_and_the_clock_are_kept_over_a_restart() {
    let app = TestApp::spawn().await;
    let resp = admin_post(
        &app,
        "/_accessd/faults",
        &json!({"operationId": "listRoles", "status": 503, "times": 3}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(app.get("/v3/roles").await.status(), 503);
    let resp = admin_post(
        &app,
        "/_accessd/clock",
        &json!({"freeze": true, "to": "2031-05-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // A new server on the same database, with a clock of its own.
    let mut app = {
        let config = test_config(&app.database_url);
        let dir = app.dir.clone();
        let mut old = app;
        old.stop().await;
        TestApp::start(config, dir, accessd::domain::Clock::system()).await
    };
    let clock = app.get_json("/_accessd/clock").await;
    assert_eq!(clock["now"], "2031-05-01T10:00:00.000Z", "{clock}");
    assert_eq!(clock["frozen"], true);
    app.renew_token().await;
    let rules = app.get_json("/_accessd/faults").await;
    assert_eq!(rules[0]["fired"], 1, "{rules}");
    for _ in 0..2 {
        assert_eq!(app.get("/v3/roles").await.status(), 503);
    }
    assert_eq!(
        app.get("/v3/roles").await.status(),
        200,
        "used up: three in all"
    );
    assert_eq!(app.get_json("/_accessd/faults").await, json!([]));
}
