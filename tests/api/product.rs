//! What a user meets first: the start-up banner and logs of the real binary, its
//! switches, the OpenAPI documents it serves, CORS, and errors that say what to do.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// `accessd serve` on port 0 over `database_url` with `args` and `env`; returns the
/// child and its standard output and error lines up to the banner (the `listening`
/// line on standard output, or the JSON event with that message on standard error).
fn serve(
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, Vec<String>, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .env_remove("ACCESSD_DATABASE_URL")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("accessd starts");
    let (tx, rx) = std::sync::mpsc::channel::<(bool, String)>();
    for (is_out, pipe) in [
        (
            true,
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        ),
        (false, Box::new(child.stderr.take().unwrap())),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send((is_out, line));
            }
        });
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    loop {
        let (is_out, line) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("accessd prints its banner");
        let done = line.contains("accessd is listening on");
        if is_out {
            out.push(line)
        } else {
            err.push(line)
        }
        // The text banner's last line, or the JSON event.
        if (is_out && line_is_last_of_banner(&out)) || (!is_out && done) {
            break;
        }
    }
    (child, out, err)
}

fn line_is_last_of_banner(out: &[String]) -> bool {
    out.last().is_some_and(|l| {
        l.contains("client_secret=(as configured)") || l.contains("ACCESSD_ADMIN_CLIENT_SECRET")
    })
}

#[tokio::test]
async fn the_banner_names_the_database_and_how_to_keep_the_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let (mut child, out, err) = serve(&url, &["--no-demo"], &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    let banner = out.join("\n");
    let shown_url = accessd::store::display_url(&url);
    assert!(
        banner.contains(&format!("database:          {shown_url}")),
        "{banner}"
    );
    assert!(banner.contains("(created)"), "{banner}");
    assert!(
        banner.contains("ACCESSD_ADMIN_CLIENT_ID and ACCESSD_ADMIN_CLIENT_SECRET"),
        "{banner}"
    );
    // Logs go to standard error, never into the banner, and carry no colour codes
    // when standard error is not a terminal.
    assert!(out.iter().all(|l| !l.contains(" INFO ")), "{banner}");
    assert!(err.iter().all(|l| !l.contains('\u{1b}')), "{err:?}");

    // A second start over the same database says it is an existing one; configured
    // credentials are not printed back.
    let (mut child, out, _) = serve(
        &url,
        &[],
        &[
            ("ACCESSD_ADMIN_CLIENT_ID", "kept-admin"),
            (
                "ACCESSD_ADMIN_CLIENT_SECRET",
                "kept-secret-0123456789abcdef",
            ),
        ],
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let banner = out.join("\n");
    assert!(banner.contains("(existing)"), "{banner}");
    assert!(banner.contains("client_id=kept-admin"), "{banner}");
    assert!(!banner.contains("kept-secret"), "{banner}");
}

#[tokio::test]
async fn with_log_json_every_line_is_json_the_banner_too() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let (mut child, out, err) = serve(&url, &["--log-json", "--no-demo"], &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.is_empty(), "nothing but JSON logs: {out:?}");
    let events: Vec<Value> = err
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let banner = events
        .iter()
        .find(|e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("accessd is listening on http://127.0.0.1:"))
        })
        .expect("the banner event");
    assert_eq!(banner["fields"]["database_state"], "created");
    assert!(banner["fields"]["client_secret"].as_str().unwrap().len() >= 16);
}

#[tokio::test]
async fn the_demo_tenant_is_switched_off_by_a_switch_or_the_environment() {
    for (args, env) in [
        (&["--no-demo"][..], &[][..]),
        (&[][..], &[("ACCESSD_DEMO", "false")][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database_url(dir.path()).await;
        let (mut child, out, _) = serve(&url, args, env);
        let base = out[0]
            .trim_start_matches("accessd is listening on ")
            .to_string();
        let field = |name: &str| {
            out.iter()
                .find_map(|l| l.trim().strip_prefix(name))
                .unwrap()
                .trim()
                .to_string()
        };
        let (id, secret) = (
            field("ORG_ADMIN client:  client_id="),
            field("client_secret="),
        );
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!(
                "{base}/oauth/token?grant_type=client_credentials&client_id={id}&client_secret={secret}"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let profiles: Vec<Value> = http
            .get(format!("{base}/v3/access-profiles"))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(profiles.is_empty(), "{args:?} {env:?}: {profiles:?}");
    }
}

#[tokio::test]
async fn each_family_s_openapi_document_is_served() {
    let app = TestApp::spawn().await;
    for family in ["v3", "beta", "v1", "v2024", "v2025", "v2026"] {
        let resp = app.get(&format!("/openapi/{family}.json")).await;
        assert_eq!(resp.status(), 200, "{family}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let served: Value = resp.json().await.unwrap();
        let file: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{}/spec/{family}.json", env!("CARGO_MANIFEST_DIR")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(served, file, "{family}");
    }
    let message =
        assert_isc_error(app.get("/openapi/v2023.json").await, 404, "404 Not found").await;
    assert!(message.contains("/openapi/v2026.json"), "{message}");
}

#[tokio::test]
async fn an_unknown_family_is_told_the_families_served() {
    let app = TestApp::spawn().await;
    let message = assert_isc_error(
        app.get("/v2023/access-profiles").await,
        404,
        "404 Not found",
    )
    .await;
    assert!(
        message.contains("/v2023 is not served")
            && message.contains("/v3, /beta, /v2024, /v2025, /v2026"),
        "{message}"
    );
    // Any other unknown path keeps the plain answer.
    let message = assert_isc_error(app.get("/v3/nothing-here").await, 404, "404 Not found").await;
    assert!(!message.contains("families"), "{message}");
}

#[tokio::test]
async fn a_403_names_the_missing_scope_or_user_level() {
    let app = TestApp::spawn().await;
    let (token, _) = app
        .token_for(&["ORG_ADMIN"], &["idn:role-unchecked:read"])
        .await;
    let resp = app
        .http
        .get(app.url("/v3/access-profiles"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let message = assert_isc_error(resp, 403, "403 Forbidden").await;
    assert!(message.contains("idn:access-profile:read"), "{message}");
    let (token, _) = app.token_for(&["HELPDESK"], &["sp:scopes:all"]).await;
    let resp = app
        .http
        .post(app.url("/v3/access-profiles"))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    let message = assert_isc_error(resp, 403, "403 Forbidden").await;
    assert!(
        message.contains("user levels") && message.contains("ORG_ADMIN"),
        "{message}"
    );
}

#[tokio::test]
async fn cors_is_off_by_default_and_answers_the_configured_origin() {
    let origin = "http://localhost:3000";
    let app = TestApp::spawn().await;
    let resp = app
        .request(reqwest::Method::GET, "/v3/access-profiles")
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let app = TestApp::spawn_with(|c| c.cors_origin = vec![origin.parse().unwrap()]).await;
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/v3/access-profiles"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], origin);
    assert!(preflight
        .headers()
        .contains_key("access-control-allow-methods"));
    let resp = app
        .request(reqwest::Method::GET, "/v3/access-profiles")
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], origin);
    // Another origin gets no grant.
    let resp = app
        .request(reqwest::Method::GET, "/v3/access-profiles")
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

/// Runs `accessd ARGS` that must fail; returns its standard error.
fn refused(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args(args)
        .env_remove("ACCESSD_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("accessd runs");
    assert!(
        !out.status.success(),
        "`accessd {}` should fail",
        args.join(" ")
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_sqlite_path_in_a_missing_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("no-such-folder");
    let url = format!("sqlite://{}/accessd.db", folder.display());
    for command in ["migrate", "export"] {
        let err = refused(&[command, "--database-url", &url]);
        assert!(
            err.contains(&format!("create {} first", folder.display())),
            "{command}: {err}"
        );
    }
}

#[test]
fn an_unreachable_postgresql_is_named_by_host_and_port() {
    // Port 1 on the loopback: nothing listens there, the connection is refused at once.
    let err = refused(&[
        "migrate",
        "--database-url",
        "postgres://postgres:pw@127.0.0.1:1/db",
    ]);
    assert!(err.contains("PostgreSQL at 127.0.0.1:1"), "{err}");
    assert!(!err.contains("pw@"), "{err}");
}

/// Runs `accessd ARGS` that must succeed; returns its standard output.
fn succeeds(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("accessd runs");
    assert!(
        out.status.success(),
        "`accessd {}`: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help_gives_a_starting_point_an_example_per_command_and_the_truth() {
    let help = succeeds(&["--help"]);
    assert!(
        help.contains("Start here:") && help.contains("accessd serve"),
        "{help}"
    );
    for command in [
        &["serve"][..],
        &["migrate"],
        &["export"],
        &["import"],
        &["client", "create"],
        &["rotate-key"],
        &["completions"],
    ] {
        let help = succeeds(&[command, &["--help"]].concat());
        assert!(help.contains("Example:"), "{command:?}: {help}");
    }
    let serve = succeeds(&["serve", "--help"]);
    assert!(
        serve.contains("[default: 127.0.0.1:8080]") && serve.contains("--no-demo"),
        "{serve}"
    );
    let export = succeeds(&["export", "--help"]);
    assert!(!export.contains("created if missing"), "{export}");
    assert!(export.contains("neither created nor migrated"), "{export}");
}

#[test]
fn completion_scripts_are_printed_for_the_common_shells() {
    let bash = succeeds(&["completions", "bash"]);
    assert!(
        bash.contains("complete -F") && bash.contains("rotate-key"),
        "{bash}"
    );
    let zsh = succeeds(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef accessd"), "{zsh}");
    let fish = succeeds(&["completions", "fish"]);
    assert!(fish.contains("complete -c accessd"), "{fish}");
}
