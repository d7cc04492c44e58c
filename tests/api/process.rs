//! The real `accessd` binary as a child process, for the tests that kill it with
//! SIGKILL (`crash.rs`) or run several instances on one database
//! (`multi_instance.rs`). `Server::start` runs `accessd serve` on port 0 and reads the
//! address it prints; dropping a `Server` kills it, so a failing test leaves no
//! process behind.

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub const CLIENT_ID: &str = "process-test-admin";
pub const CLIENT_SECRET: &str = "process-test-secret-0123456789abcdef";

/// An HTTP handle on one server with the admin token: cheap to clone into spawned
/// tasks, and usable with another instance's token (`call_as`).
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    /// A fresh ORG_ADMIN token from this server's token endpoint.
    pub async fn fetch_token(&self) -> String {
        let resp = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(resp.status(), 200, "token endpoint of {}", self.base);
        let token: Value = resp.json().await.expect("token json");
        token["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Status and JSON body (`Null` when there is none) of a call with `token`.
    pub async fn call_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    /// Status and JSON body of a call with a `content_type` body, or `None` when no
    /// answer came (the server was killed while it was in flight).
    pub async fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Option<(u16, Value)> {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Content-Type", content_type)
            .body(body.to_string())
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let text = resp.text().await.ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

pub struct Server {
    child: Child,
    api: Api,
    /// Every line the server printed, when started with a log filter.
    log: Arc<Mutex<Vec<String>>>,
}

impl Deref for Server {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Server {
    /// Starts the binary on port 0 with `extra` flags, logging warnings only.
    pub async fn start(database_url: &str, extra: &[&str]) -> Server {
        Self::spawn(database_url, extra, None).await
    }

    /// Like `start`, with `RUST_LOG=filter`; the lines are kept for `log_lines`.
    pub async fn start_logging(database_url: &str, extra: &[&str], filter: &str) -> Server {
        Self::spawn(database_url, extra, Some(filter)).await
    }

    /// Like `start_logging`, with the process's descriptor limit (RLIMIT_NOFILE, soft
    /// and hard) set to `nofile` (through util-linux's `prlimit`).
    pub async fn start_with_descriptor_limit(
        database_url: &str,
        extra: &[&str],
        filter: &str,
        nofile: u64,
    ) -> Server {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_accessd"));
        Self::spawn_command(command, database_url, extra, Some(filter)).await
    }

    async fn spawn(database_url: &str, extra: &[&str], filter: Option<&str>) -> Server {
        let command = Command::new(env!("CARGO_BIN_EXE_accessd"));
        Self::spawn_command(command, database_url, extra, filter).await
    }

    /// Like `start_logging`, with these environment variables set for the process.
    pub async fn start_with_env(
        database_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        filter: &str,
    ) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_accessd"));
        command.envs(env.iter().copied());
        Self::spawn_command(command, database_url, extra, Some(filter)).await
    }

    /// Runs `command` (the binary, or a wrapper that runs it in its own process) with
    /// `serve` and its flags.
    async fn spawn_command(
        mut command: Command,
        database_url: &str,
        extra: &[&str],
        filter: Option<&str>,
    ) -> Server {
        let mut child = command
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
                // These tests send hundreds of requests with one token in seconds.
                "--rate-limit-requests",
                "0",
            ])
            .args(extra)
            .env("RUST_LOG", filter.unwrap_or("warn"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("accessd starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let keep = filter.is_some().then(|| log.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        // The logs (standard error), kept when asked for; drained so the server never
        // blocks on a pipe.
        let logs = keep.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(log) = &logs {
                    log.lock().expect("log lock").push(line);
                }
            }
        });
        // Reads the banner, then keeps draining so the server never blocks on a pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("accessd is listening on ") {
                    let _ = tx.send(base.trim().to_string());
                }
                if let Some(log) = &keep {
                    log.lock().expect("log lock").push(line);
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("accessd prints its address");
        let mut api = Api {
            base,
            token: String::new(),
            http: reqwest::Client::new(),
        };
        api.token = api.fetch_token().await;
        Server { child, api, log }
    }

    /// A handle for calls from other tasks (`tokio::spawn`).
    pub fn api(&self) -> Api {
        self.api.clone()
    }

    /// The lines printed so far (empty unless started with `start_logging`).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// Sends signal `name` (`INT`, `TERM`) to the process, as Ctrl-C or a service
    /// manager would.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }

    /// The exit status, once the process has exited within `within`; `None` if it is
    /// still running then.
    pub async fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (`Child::kill` on Unix): no shutdown path runs.
    pub fn kill(mut self) {
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
