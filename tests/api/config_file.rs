//! The configuration file (`--config`, `ACCESSD_CONFIG`) through the real binary: the
//! precedence defaults < file < environment < flags seen on a running server, the
//! refusals naming the file and the key, secrets kept out of `--print-config` and the
//! logs; and `--no-task-runner`: an instance that serves but runs no tasks.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::fresh_database_url;
use crate::process::{Server, CLIENT_SECRET};

/// Writes `text` as `accessd.toml` in `dir` and returns its path.
fn write_config(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("accessd.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `accessd ARGS` with `env`, to its end: (success, stdout, stderr).
fn accessd(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args(args)
        .env_remove("ACCESSD_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("accessd runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `expires_in` of a token from `server`: the effective `token-ttl-secs`.
async fn token_ttl(server: &Server) -> i64 {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", server.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", crate::process::CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["expires_in"].as_i64().unwrap()
}

#[tokio::test]
async fn a_file_sets_a_value_the_environment_overrides_it_and_a_flag_overrides_both() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let config = write_config(dir.path(), "token-ttl-secs = 111\njournal-size = 7\n");
    let file = ["--config", config.as_str()];

    let server = Server::start_logging(&url, &file, "warn").await;
    assert_eq!(token_ttl(&server).await, 111, "the file's value");
    drop(server);

    let env = [("ACCESSD_TOKEN_TTL_SECS", "222")];
    let server = Server::start_with_env(&url, &file, &env, "warn").await;
    assert_eq!(
        token_ttl(&server).await,
        222,
        "the environment over the file"
    );
    drop(server);

    let flag = [&file[..], &["--token-ttl-secs", "333"]].concat();
    let server = Server::start_with_env(&url, &flag, &env, "warn").await;
    assert_eq!(
        token_ttl(&server).await,
        333,
        "the flag over the environment"
    );
    drop(server);

    // The same file through ACCESSD_CONFIG, and the origins as --print-config shows them.
    let (ok, shown, err) = accessd(
        &["serve", "--print-config", "--org", "acme"],
        &[
            ("ACCESSD_CONFIG", config.as_str()),
            ("ACCESSD_TOKEN_TTL_SECS", "222"),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        shown.contains(&format!("journal-size = 7  # file {config}")),
        "{shown}"
    );
    assert!(
        shown.contains("token-ttl-secs = 222  # env ACCESSD_TOKEN_TTL_SECS"),
        "{shown}"
    );
    assert!(shown.contains("org = \"acme\"  # flag"), "{shown}");
    assert!(
        shown.contains("addr = \"127.0.0.1:8080\"  # default"),
        "{shown}"
    );
    // What it prints is a configuration file the server takes back.
    let again = write_config(dir.path(), &shown);
    let (ok, _, err) = accessd(&["serve", "--config", &again, "--print-config"], &[]);
    assert!(ok, "{err}");
}

#[tokio::test]
async fn an_unknown_key_a_wrong_type_and_a_bad_value_stop_the_start_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, expected) in [
        (
            "rate-limit-request = 5\n",
            "unknown key `rate-limit-request`",
        ),
        ("token_ttl_secs = 5\n", "did you mean `token-ttl-secs`?"),
        (
            "journal-size = \"many\"\n",
            "`journal-size`: expected an integer, found string \"many\"",
        ),
        (
            "rate-limit-store = \"disk\"\n",
            "`rate-limit-store`: invalid value 'disk'",
        ),
        ("addr = \"nowhere\"\n", "`addr`: invalid value 'nowhere'"),
        (
            "max-header-bytes = 10\n",
            "`max-header-bytes`: invalid value '10'",
        ),
    ] {
        let config = write_config(dir.path(), text);
        let (ok, out, err) = accessd(&["serve", "--config", &config], &[]);
        assert!(!ok, "{text}: started: {out}");
        assert!(err.contains(&config), "{text}: {err}");
        assert!(err.contains(expected), "{text}: {err}");
        assert!(!out.contains("listening"), "{text}: {out}");
    }
    let (ok, _, err) = accessd(&["serve", "--config", "/nonexistent/accessd.toml"], &[]);
    assert!(!ok && err.contains("/nonexistent/accessd.toml"), "{err}");
}

#[test]
fn the_database_commands_read_the_database_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-file.db");
    let config = write_config(
        dir.path(),
        &format!(
            "database-url = \"sqlite://{}\"\njournal-size = 5\n",
            db.display()
        ),
    );
    let (ok, out, err) = accessd(&["migrate", "--config", &config], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("from-file.db"), "{out}");
    assert!(db.exists());
}

#[test]
fn secrets_are_redacted_in_the_printed_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "admin-client-id = \"ops\"\nadmin-client-secret = \"file-secret-0451-abcdefgh\"\n\
         database-url = \"postgres://accessd:db-pass-0451@127.0.0.1:1/accessd\"\n",
    );
    let (ok, shown, err) = accessd(&["serve", "--config", &config, "--print-config"], &[]);
    assert!(ok, "{err}");
    assert!(!shown.contains("file-secret-0451"), "{shown}");
    assert!(!shown.contains("db-pass-0451"), "{shown}");
    assert!(
        shown.contains("admin-client-secret = \"[redacted]\""),
        "{shown}"
    );
    assert!(
        shown.contains("postgres://accessd:***@127.0.0.1:1/accessd"),
        "{shown}"
    );
    assert!(shown.contains("admin-client-id = \"ops\""), "{shown}");
    // From the environment too.
    let (ok, shown, err) = accessd(
        &["serve", "--print-config"],
        &[
            ("ACCESSD_ADMIN_CLIENT_ID", "ops"),
            ("ACCESSD_ADMIN_CLIENT_SECRET", "env-secret-0451-abcdefgh"),
        ],
    );
    assert!(ok, "{err}");
    assert!(!shown.contains("env-secret-0451"), "{shown}");
    assert!(
        shown.contains("admin-client-secret = \"[redacted]\"  # env ACCESSD_ADMIN_CLIENT_SECRET"),
        "{shown}"
    );
}

#[test]
fn help_does_not_print_the_secrets_set_in_the_environment() {
    let env = [
        (
            "ACCESSD_DATABASE_URL",
            "postgres://accessd:db-pass-0451@127.0.0.1:1/accessd",
        ),
        ("ACCESSD_ADMIN_CLIENT_ID", "ops"),
        ("ACCESSD_ADMIN_CLIENT_SECRET", "env-secret-0451-abcdefgh"),
    ];
    for args in [
        &["serve", "--help"][..],
        &["migrate", "--help"],
        &["admin", "faults", "list", "--help"],
    ] {
        let (ok, shown, err) = accessd(args, &env);
        assert!(ok, "{args:?}: {err}");
        // The variables are still named; their values are not.
        assert!(shown.contains("ACCESSD_"), "{args:?}: {shown}");
        assert!(!shown.contains("db-pass-0451"), "{args:?}: {shown}");
        assert!(!shown.contains("env-secret-0451"), "{args:?}: {shown}");
    }
}

#[tokio::test]
async fn the_configured_secret_never_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let config = write_config(dir.path(), "journal-size = 3\n");
    // The admin secret is given by flag (the harness's), the rest by the file; debug
    // logs print the effective configuration.
    let server = Server::start_logging(&url, &["--config", &config], "debug").await;
    let (status, _) = server.get("/v3/access-profiles").await;
    assert_eq!(status, 200);
    let lines = server.log_lines();
    let logged = lines.join("\n");
    assert!(
        logged.contains("configuration file read") && logged.contains("effective configuration"),
        "{logged}"
    );
    assert!(logged.contains("journal_size: 3"), "{logged}");
    assert!(!logged.contains(CLIENT_SECRET), "the secret was logged");
}

/// A bulk delete on an instance started with `--no-task-runner` stays queued: nothing
/// in that process runs it. Then an instance with a runner on the same database takes
/// it — beside the first on PostgreSQL, after it on SQLite (one process at a time on the
/// file, as the README recommends).
#[tokio::test]
async fn a_bulk_delete_on_an_instance_without_a_task_runner_waits_for_one_with_a_runner() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let serving = Server::start_logging(&url, &["--no-task-runner"], "info").await;
    let banner = serving.log_lines().join("\n");
    assert!(
        banner.contains("not run here (--no-task-runner)"),
        "{banner}"
    );
    assert!(banner.contains("this instance runs no tasks"), "{banner}");
    let (status, _) = serving.post("/_accessd/reset", json!({"to": "demo"})).await;
    assert_eq!(status, 200);
    // Three new profiles like the demo's first (the demo's own are all in use).
    let (_, profiles) = serving.get("/v3/access-profiles").await;
    let model = &profiles[0];
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, created) = serving
            .post(
                "/v3/access-profiles",
                json!({
                    "name": format!("Queued {i}"),
                    "owner": {"type": "IDENTITY", "id": model["owner"]["id"]},
                    "source": {"type": "SOURCE", "id": model["source"]["id"]},
                    "entitlements": [{"type": "ENTITLEMENT", "id": model["entitlements"][0]["id"]}],
                }),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let (status, accepted) = serving
        .post(
            "/beta/access-profiles/bulk-delete",
            json!({"accessProfileIds": ids}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let task = accepted["taskId"].as_str().unwrap().to_string();
    let path = format!("/beta/task-status/{task}");
    // A runner is woken at once by its own instance's enqueue; this one has none, so
    // after many requests (and many poll periods of a runner, were there one) the task
    // has not moved.
    for _ in 0..20 {
        let (status, t) = serving.get(&path).await;
        assert_eq!(status, 200, "{t}");
        assert_eq!(t["percentComplete"], 0, "{t}");
        assert!(
            t["completionStatus"].is_null() && t["launched"].is_null(),
            "{t}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        let (status, _) = serving.get(&format!("/v3/access-profiles/{id}")).await;
        assert_eq!(status, 200, "{id} is deleted before any runner ran");
    }

    let serving = match crate::helpers::backend() {
        accessd::store::Backend::Postgres => Some(serving),
        accessd::store::Backend::Sqlite => {
            drop(serving);
            None
        }
    };
    let runner = Server::start(&url, &["--task-poll-ms", "50"]).await;
    let watch = serving.as_ref().map_or(&runner, |s| s);
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let (_, t) = watch.get(&path).await;
        if t["completionStatus"].is_string() {
            break t;
        }
        assert!(Instant::now() < deadline, "the task never ran: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(finished["completionStatus"], "SUCCESS", "{finished}");
    for id in &ids {
        let (status, _) = watch.get(&format!("/v3/access-profiles/{id}")).await;
        assert_eq!(status, 404, "{id} deleted by the runner");
    }
}
