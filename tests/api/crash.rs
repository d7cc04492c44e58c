//! Crash safety (CONTRACT §4, issue 3): the real `accessd` binary is killed with
//! SIGKILL while bulk-delete tasks run, started again on the same database, and
//! drained. Every task must end in a final state, nothing a SUCCESS task listed as
//! pending may remain, and no role may reference a deleted profile.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::fresh_database_url;

const CLIENT_ID: &str = "crash-test-admin";
const CLIENT_SECRET: &str = "crash-test-secret-0123456789abcdef";

struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Server {
    /// Starts the binary on port 0 and reads the address it prints.
    async fn start(database_url: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_accessd"))
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--database-url",
                database_url,
                "--demo",
                "false",
                "--admin-client-id",
                CLIENT_ID,
                "--admin-client-secret",
                CLIENT_SECRET,
                "--task-claim-ttl-secs",
                "2",
                "--task-poll-ms",
                "100",
                // The test sends hundreds of requests with one token in seconds.
                "--rate-limit-requests",
                "0",
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("accessd starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the banner, then keeps draining so the server never blocks on a pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("accessd is listening on ") {
                    let _ = tx.send(base.trim().to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("accessd prints its address");
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(resp.status(), 200);
        let token: Value = resp.json().await.unwrap();
        Server {
            child,
            base,
            http,
            token: token["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    fn kill(mut self) {
        // `Child::kill` is SIGKILL on Unix: no shutdown path runs.
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_killed_mid_run_finish_after_a_restart_and_the_invariant_holds() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    // Slow steps so that tasks are certainly mid-run when the process dies.
    let server = Server::start(&url, &["--task-step-delay-ms", "150"]).await;

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

    let server = Server::start(&url, &[]).await;
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
