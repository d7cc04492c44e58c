//! Task status (CONTRACT §4): the document, the lists, the PATCH, retention, and the
//! durability of tasks across restarts and dead runners.

use serde_json::{json, Value};

use crate::helpers::{ap_body, assert_isc_error, Fixture, TestApp};

/// A bulk-delete task over `n` new profiles, with the runner off so it stays pending.
async fn pending_task(app: &TestApp, f: &Fixture, n: usize, tag: &str) -> (String, Vec<String>) {
    let mut ids = Vec::new();
    for i in 0..n {
        let ap = app
            .create_access_profile("/v3/access-profiles", &ap_body(f, &format!("{tag} {i}")))
            .await;
        ids.push(ap["id"].as_str().unwrap().to_string());
    }
    let resp = app
        .post(
            "/beta/access-profiles/bulk-delete",
            &json!({"accessProfileIds": ids}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    (body["taskId"].as_str().unwrap().to_string(), ids)
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_task_status_carries_every_field_the_sdks_require() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    let (id, _) = pending_task(&app, &f, 1, "Doc").await;
    for path in [
        format!("/beta/task-status/{id}"),
        format!("/task-status/v1/{id}"),
    ] {
        let t = app.get_json(&path).await;
        assert_eq!(t["id"], id.as_str());
        assert_eq!(t["type"], "QUARTZ");
        for f in [
            "uniqueName",
            "description",
            "launcher",
            "created",
            "modified",
        ] {
            assert!(t[f].is_string(), "{f}: {t}");
        }
        assert!(t["messages"].is_array() && t["returns"].is_array());
        assert!(t["attributes"].is_object());
        assert_eq!(t["percentComplete"], 0);
        for f in ["parentName", "launched", "completed", "completionStatus"] {
            assert!(t[f].is_null() && t.get(f).is_some(), "{f} present and null");
        }
    }
    assert_isc_error(
        app.get("/beta/task-status/0123456789abcdef0123456789abcdef")
            .await,
        404,
        "404 Not found",
    )
    .await;
}

#[tokio::test]
async fn pending_finished_and_all_tasks_are_listed_where_the_spec_says() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    let (done, _) = pending_task(&app, &f, 1, "Done").await;
    app.drain_tasks().await;
    let (waiting, _) = pending_task(&app, &f, 1, "Waiting").await;

    let finished = app.get_json("/beta/task-status?count=true").await;
    assert_eq!(ids_of(&finished), vec![done.clone()]);
    let pending = app.get_json("/beta/task-status/pending-tasks").await;
    assert_eq!(ids_of(&pending), vec![waiting.clone()]);
    let head = app
        .request(reqwest::Method::HEAD, "/beta/task-status/pending-tasks")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["x-total-count"], "1");

    // v1 lists everything, newest first by default; filters per spec.
    let all = app.get_json("/task-status/v1").await;
    assert_eq!(ids_of(&all), vec![waiting.clone(), done.clone()]);
    let oldest_first = app.get_json("/task-status/v1?sorters=created").await;
    assert_eq!(ids_of(&oldest_first), vec![done.clone(), waiting.clone()]);
    let unfinished = app
        .get_json("/task-status/v1?filters=completionStatus%20isnull")
        .await;
    assert_eq!(ids_of(&unfinished), vec![waiting.clone()]);
    let success = app
        .get_json("/task-status/v1?filters=completionStatus%20eq%20%22SUCCESS%22")
        .await;
    assert_eq!(ids_of(&success), vec![done.clone()]);
    let by_id = app
        .get_json(&format!(
            "/beta/task-status?filters=id%20in%20(%22{done}%22)"
        ))
        .await;
    assert_eq!(ids_of(&by_id), vec![done.clone()]);
    // beta does not document isnull; neither endpoint sorts by name.
    assert_isc_error(
        app.get("/beta/task-status?filters=completionStatus%20isnull")
            .await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
    assert_isc_error(
        app.get("/task-status/v1?sorters=name").await,
        400,
        "400.1 Bad Request Content",
    )
    .await;
}

#[tokio::test]
async fn a_client_can_terminate_a_pending_task_and_it_then_deletes_nothing() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    let (id, aps) = pending_task(&app, &f, 2, "Spared").await;
    let bad = [
        json!([{"op": "replace", "path": "/launcher", "value": "me"}]),
        json!([{"op": "replace", "path": "/completionStatus", "value": "DONE"}]),
        json!([{"op": "remove", "path": "/completionStatus"}]),
        json!([{"op": "replace", "path": "/completed", "value": "yesterday"}]),
        json!([]),
    ];
    for ops in bad {
        let resp = app.patch(&format!("/task-status/v1/{id}"), &ops).await;
        assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    }
    let resp = app
        .patch(
            &format!("/beta/task-status/{id}"),
            &json!([
                {"op": "replace", "path": "/completionStatus", "value": "Terminated"},
                {"op": "replace", "path": "/completed", "value": "2026-11-21T10:00:00.000Z"}
            ]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().await.unwrap();
    assert_eq!(t["completionStatus"], "TERMINATED");
    assert_eq!(t["completed"], "2026-11-21T10:00:00.000Z");
    app.drain_tasks().await;
    for ap in &aps {
        assert_eq!(
            app.get(&format!("/v3/access-profiles/{ap}")).await.status(),
            200
        );
    }
    let again = app
        .patch(
            &format!("/beta/task-status/{id}"),
            &json!([{"op": "replace", "path": "/completionStatus", "value": "ERROR"}]),
        )
        .await;
    let text = assert_isc_error(again, 400, "400.1 Bad Request Content").await;
    assert!(text.contains("already completed"), "{text}");
}

#[tokio::test]
async fn a_queued_task_survives_a_restart_and_runs_after_it() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    let (id, aps) = pending_task(&app, &f, 3, "Durable").await;
    let app = app.restart().await;
    app.drain_tasks().await;
    let t = app.get_json(&format!("/beta/task-status/{id}")).await;
    assert_eq!(t["completionStatus"], "SUCCESS");
    for ap in &aps {
        assert_eq!(
            app.get(&format!("/v3/access-profiles/{ap}")).await.status(),
            404
        );
    }
}

#[tokio::test]
async fn a_task_whose_runner_died_is_taken_over_after_its_claim_expires() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    let (id, aps) = pending_task(&app, &f, 2, "Orphan").await;
    // A runner claims the task and dies without a step.
    let now = app.clock.now();
    let claimed = app
        .store
        .claim_task("dead-runner", now, now + chrono::Duration::seconds(30))
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claimed.id, id);
    let t = app.get_json(&format!("/beta/task-status/{id}")).await;
    assert!(t["launched"].is_string() && t["completionStatus"].is_null());
    // Nobody else may take it while the claim holds.
    let later = now + chrono::Duration::seconds(10);
    assert!(app
        .store
        .claim_task("other", later, later)
        .await
        .unwrap()
        .is_none());
    app.clock.advance(31);
    app.drain_tasks().await;
    let t = app.get_json(&format!("/beta/task-status/{id}")).await;
    assert_eq!(t["completionStatus"], "SUCCESS", "{t}");
    for ap in &aps {
        assert_eq!(
            app.get(&format!("/v3/access-profiles/{ap}")).await.status(),
            404
        );
    }
}

#[tokio::test]
async fn progress_moves_step_by_step_while_a_big_task_runs() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    let (id, _) = pending_task(&app, &f, 25, "Step").await;
    let now = app.clock.now();
    let mut task = app
        .store
        .claim_task("stepper", now, now + chrono::Duration::seconds(30))
        .await
        .unwrap()
        .expect("claimed");
    let mut seen = Vec::new();
    while task.completion_status.is_none() {
        task = app
            .store
            .run_delete_step(
                &task,
                "stepper",
                accessd::store::DeleteTarget::AccessProfiles,
                app.clock.now(),
                app.clock.now() + chrono::Duration::seconds(30),
            )
            .await
            .unwrap()
            .expect("still claimed");
        let t = app.get_json(&format!("/task-status/v1/{id}")).await;
        seen.push((
            t["percentComplete"].as_i64().unwrap(),
            t["progress"].clone(),
        ));
    }
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![40, 80, 100]
    );
    assert_eq!(seen[0].1, "Processed 10 of 25");
    assert_eq!(seen[2].1, "Completed");
}

#[tokio::test]
async fn tasks_older_than_the_retention_period_are_gone() {
    let mut app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (id, _) = pending_task(&app, &f, 1, "Old").await;
    app.drain_tasks().await;
    assert_eq!(
        app.get(&format!("/beta/task-status/{id}")).await.status(),
        200
    );
    app.clock.advance(91 * 24 * 3600);
    app.renew_token().await;
    assert_isc_error(
        app.get(&format!("/beta/task-status/{id}")).await,
        404,
        "404 Not found",
    )
    .await;
    assert_eq!(app.get_json("/task-status/v1").await, json!([]));
    let purged = app
        .store
        .purge_tasks(app.clock.now() - chrono::Duration::days(90))
        .await
        .unwrap();
    assert_eq!(purged, 1);
}

#[tokio::test]
async fn a_graceful_restart_releases_a_running_task_for_the_next_runner() {
    let app = TestApp::spawn_with(|c| c.tasks.task_step_delay_ms = 100).await;
    let f = app.fixture().await;
    let (id, aps) = pending_task(&app, &f, 50, "Restarted").await;
    loop {
        let t = app.get_json(&format!("/task-status/v1/{id}")).await;
        if t["percentComplete"].as_i64().unwrap_or(0) > 0 {
            assert!(t["completionStatus"].is_null(), "finished too soon: {t}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // The next instance runs no tasks itself, so the row shows what shutdown left.
    let app = app.restart_with(|c| c.tasks.task_runner = false).await;
    let task = app.store.get_task(&id).await.unwrap();
    assert!(
        task.completion_status.is_none(),
        "shutdown finished the task"
    );
    assert!(task.claimed_by.is_none(), "claim left behind: {task:?}");
    assert!(task.percent_complete > 0 && task.percent_complete < 100);
    // Taken over at once, without waiting for a claim to expire.
    let now = app.clock.now();
    let claimed = app
        .store
        .claim_task("next", now, now + chrono::Duration::seconds(30))
        .await
        .unwrap()
        .expect("released task is claimable now");
    assert_eq!(claimed.id, id);
    assert_eq!(
        claimed.attempts, 1,
        "a graceful release is not a failed attempt"
    );
    app.store.release_task(&id, "next").await.unwrap();
    app.drain_tasks().await;
    let t = app.get_json(&format!("/beta/task-status/{id}")).await;
    assert_eq!(t["completionStatus"], "SUCCESS", "{t}");
    for ap in &aps {
        assert_eq!(
            app.get(&format!("/v3/access-profiles/{ap}")).await.status(),
            404
        );
    }
}

/// A task whose runners keep dying is given up after its fifth claim (CONTRACT §4: it
/// ends, and is never run twice at once); it ends `ERROR` naming the profiles no step
/// deleted, which are still there, while those its first step deleted are gone.
#[tokio::test]
async fn a_task_abandoned_after_five_claims_names_the_profiles_it_left() {
    let app = TestApp::spawn_with_clock(accessd::domain::Clock::frozen(), |c| {
        c.tasks.task_runner = false
    })
    .await;
    let f = app.fixture().await;
    // 15 profiles: a first step of 10, and 5 that no step reaches.
    let (id, aps) = pending_task(&app, &f, 15, "Abandoned").await;
    let claim = |worker: &'static str| {
        let now = app.clock.now();
        let store = app.store.clone();
        async move {
            store
                .claim_task(worker, now, now + chrono::Duration::seconds(30))
                .await
                .expect("claim")
                .expect("the task is claimable")
        }
    };
    let task = claim("dies-after-one-step").await;
    let now = app.clock.now();
    app.store
        .run_delete_step(
            &task,
            "dies-after-one-step",
            accessd::store::DeleteTarget::AccessProfiles,
            now,
            now + chrono::Duration::seconds(30),
        )
        .await
        .expect("step")
        .expect("still claimed");
    for worker in ["dies-2", "dies-3", "dies-4", "dies-5"] {
        app.clock.advance(31);
        claim(worker).await;
    }
    app.clock.advance(31);
    app.drain_tasks().await;

    let t = app.get_json(&format!("/beta/task-status/{id}")).await;
    assert_eq!(t["completionStatus"], "ERROR", "{t}");
    let left = &aps[10..];
    assert_eq!(t["attributes"]["notDeleted"], json!(left), "{t}");
    let text = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "ERROR")
        .and_then(|m| m["localizedText"]["message"].as_str())
        .expect("an ERROR message")
        .to_string();
    assert!(text.contains("abandoned after 5 attempts"), "{text}");
    for ap in left {
        assert!(text.contains(ap.as_str()), "{ap} not named: {text}");
        assert_eq!(
            app.get(&format!("/v3/access-profiles/{ap}")).await.status(),
            200
        );
    }
    for ap in &aps[..10] {
        assert!(!text.contains(ap.as_str()), "{ap} was deleted: {text}");
        assert_eq!(
            app.get(&format!("/v3/access-profiles/{ap}")).await.status(),
            404
        );
    }
}
