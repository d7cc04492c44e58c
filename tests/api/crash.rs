//! Crash safety (CONTRACT §4): the real `accessd` binary is killed with
//! SIGKILL while bulk-delete tasks run, started again on the same database, and
//! drained. Every task must end in a final state, nothing a SUCCESS task listed as
//! pending may remain, and no role may reference a deleted profile. Killed while many
//! clients create and patch at once, every write it acknowledged is there after the
//! restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::fresh_database_url;
use crate::process::Server;

/// A short claim, so a killed runner's task is taken over within seconds.
const TASK_ARGS: [&str; 4] = ["--task-claim-ttl-secs", "2", "--task-poll-ms", "100"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_killed_mid_run_finish_after_a_restart_and_the_invariant_holds() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    // Slow steps so that tasks are certainly mid-run when the process dies.
    let slow = [&TASK_ARGS[..], &["--task-step-delay-ms", "150"]].concat();
    let server = Server::start(&url, &slow).await;

    let (_, me) = server
        .get("/beta/identities?filters=alias%20eq%20%22accessd.admin%22")
        .await;
    let owner = me[0]["id"].as_str().expect("admin identity").to_string();
    let (status, source) = server
        .post(
            "/v3/sources",
            json!({"name": "Crash source", "owner": {"type": "IDENTITY", "id": owner}, "connector": "ldap"}),
        )
        .await;
    assert_eq!(status, 201);
    let mut profiles = Vec::new();
    for i in 0..200 {
        let (status, ap) = server
            .post(
                "/v3/access-profiles",
                json!({"name": format!("Crash AP {i}"), "owner": {"type": "IDENTITY", "id": owner},
                       "source": {"type": "SOURCE", "id": source["id"]}, "enabled": false, "requestable": false}),
            )
            .await;
        assert_eq!(status, 201, "{ap}");
        profiles.push(ap["id"].as_str().unwrap().to_string());
    }
    // Every 20th profile is used by a role and must survive.
    let used: Vec<&String> = profiles.iter().step_by(20).collect();
    let (status, role) = server
        .post(
            "/v3/roles",
            json!({"name": "Crash role", "owner": {"type": "IDENTITY", "id": owner},
                   "accessProfiles": used.iter().map(|id| json!({"type": "ACCESS_PROFILE", "id": id})).collect::<Vec<_>>(),
                   "enabled": true, "requestable": false}),
        )
        .await;
    assert_eq!(status, 201, "{role}");

    let mut tasks = Vec::new();
    for chunk in profiles.chunks(50) {
        let (status, answer) = server
            .post(
                "/v3/access-profiles/bulk-delete",
                json!({"accessProfileIds": chunk, "bestEffortOnly": true}),
            )
            .await;
        assert_eq!(status, 202, "{answer}");
        let pending: Vec<String> = serde_json::from_value(answer["pending"].clone()).unwrap();
        assert_eq!(
            pending.len(),
            50 - answer["inUse"].as_array().unwrap().len()
        );
        tasks.push((answer["taskId"].as_str().unwrap().to_string(), pending));
    }

    // Kill once a task is visibly part-way through.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, list) = server.get("/task-status/v1").await;
        let mid_run = list.as_array().unwrap().iter().any(|t| {
            let p = t["percentComplete"].as_i64().unwrap_or(0);
            p > 0 && p < 100 && t["completionStatus"].is_null()
        });
        if mid_run {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no task was ever seen mid-run: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();

    let server = Server::start(&url, &TASK_ARGS).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let statuses = loop {
        let (_, list) = server.get("/task-status/v1").await;
        let list = list.as_array().unwrap().clone();
        if list.len() == tasks.len() && list.iter().all(|t| t["completionStatus"].is_string()) {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "tasks did not finish after the restart: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (task_id, pending) in &tasks {
        let t = statuses
            .iter()
            .find(|t| t["id"] == task_id.as_str())
            .expect("task listed");
        assert_eq!(t["completionStatus"], "SUCCESS", "{t}");
        assert_eq!(t["percentComplete"], 100);
        for id in pending {
            let (status, _) = server.get(&format!("/v3/access-profiles/{id}")).await;
            assert_eq!(status, 404, "{id} was pending in a SUCCESS task");
        }
    }
    let (_, role) = server
        .get(&format!("/v3/roles/{}", role["id"].as_str().unwrap()))
        .await;
    for ap in role["accessProfiles"].as_array().unwrap() {
        let (status, _) = server
            .get(&format!(
                "/v3/access-profiles/{}",
                ap["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status, 200, "the role references a deleted profile");
    }
    assert_eq!(role["accessProfiles"].as_array().unwrap().len(), used.len());
}

/// Writes acknowledged before the kill: the descriptions each profile may have after
/// the restart (two when a patch was in flight, unanswered, as the process died).
type Acknowledged = Arc<Mutex<HashMap<String, Vec<String>>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_acknowledged_to_many_concurrent_clients_survives_a_sigkill() {
    const CLIENTS: usize = 16;
    const BEFORE_THE_KILL: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let server = Server::start(&url, &[]).await;
    let (_, me) = server
        .get("/beta/identities?filters=alias%20eq%20%22accessd.admin%22")
        .await;
    let owner = me[0]["id"].as_str().expect("admin identity").to_string();
    let (status, source) = server
        .post(
            "/v3/sources",
            json!({"name": "Durable source", "owner": {"type": "IDENTITY", "id": owner}, "connector": "ldap"}),
        )
        .await;
    assert_eq!(status, 201);

    // Each client creates a profile, then patches its description, until the server
    // stops answering.
    let acknowledged: Acknowledged = Arc::default();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let api = server.api();
        let acknowledged = acknowledged.clone();
        let (owner, source) = (owner.clone(), source["id"].clone());
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let body = json!({"name": format!("Durable {c} {i}"), "description": "created",
                    "owner": {"type": "IDENTITY", "id": owner},
                    "source": {"type": "SOURCE", "id": source}});
                let Some((status, ap)) = api
                    .try_send(
                        Method::POST,
                        "/v3/access-profiles",
                        "application/json",
                        &body,
                    )
                    .await
                else {
                    return;
                };
                assert_eq!(status, 201, "{ap}");
                let id = ap["id"].as_str().unwrap().to_string();
                acknowledged
                    .lock()
                    .unwrap()
                    .insert(id.clone(), vec!["created".into()]);
                let patched = format!("patched {c} {i}");
                let ops = json!([{"op": "replace", "path": "/description", "value": patched}]);
                let path = format!("/v3/access-profiles/{id}");
                let answer = api
                    .try_send(Method::PATCH, &path, "application/json-patch+json", &ops)
                    .await;
                let mut acknowledged = acknowledged.lock().unwrap();
                let allowed = acknowledged.get_mut(&id).unwrap();
                match answer {
                    Some((status, ap)) => {
                        assert_eq!(status, 200, "{ap}");
                        *allowed = vec![patched];
                    }
                    None => {
                        allowed.push(patched);
                        return;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < BEFORE_THE_KILL {
        assert!(Instant::now() < deadline, "the writes are too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for client in clients {
        client.await.unwrap();
    }

    let server = Server::start(&url, &[]).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= BEFORE_THE_KILL);
    for (id, allowed) in &acknowledged {
        let (status, ap) = server.get(&format!("/v3/access-profiles/{id}")).await;
        assert_eq!(status, 200, "acknowledged profile {id} was lost");
        let description = ap["description"].as_str().unwrap().to_string();
        assert!(
            allowed.contains(&description),
            "{id}: description {description:?}, acknowledged {allowed:?}"
        );
    }
}
