//! `accessd admin …`: the real binary against a running server — each command's effect
//! seen through the API, and the failures (a wrong secret, a refused rule, an
//! unreachable server) as the exit status and the message on standard error.

use serde_json::{json, Value};

use crate::helpers::TestApp;

/// What `accessd admin ARGS` did: exit success, standard output, standard error.
pub struct Ran {
    pub ok: bool,
    pub out: String,
    pub err: String,
}

impl Ran {
    /// Standard output as JSON, asserting the command succeeded.
    pub fn json(&self) -> Value {
        assert!(self.ok, "failed: {}", self.err);
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("{e}: {}", self.out))
    }
}

/// Runs `accessd admin ARGS` against `app` with its admin client's credentials in the
/// environment (as a test suite would set them once). The process runs beside the
/// server on this runtime, so it is awaited, never waited for.
pub async fn admin(app: &TestApp, args: &[&str]) -> Ran {
    let (id, secret) = app.admin_client();
    admin_with(
        &[
            ("ACCESSD_URL", app.base.as_str()),
            ("ACCESSD_ADMIN_CLIENT_ID", id.as_str()),
            ("ACCESSD_ADMIN_CLIENT_SECRET", secret.as_str()),
        ],
        args,
    )
    .await
}

/// Runs `accessd admin ARGS` with exactly this environment of its own.
pub async fn admin_with(env: &[(&str, &str)], args: &[&str]) -> Ran {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_accessd"))
        .arg("admin")
        .args(args)
        .env_remove("ACCESSD_URL")
        .env_remove("ACCESSD_ADMIN_CLIENT_ID")
        .env_remove("ACCESSD_ADMIN_CLIENT_SECRET")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("accessd runs");
    Ran {
        ok: out.status.success(),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn total(resp: &reqwest::Response) -> u64 {
    resp.headers()["X-Total-Count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn reset_demo_loads_the_demo_and_reset_empties_the_tenant() {
    let app = TestApp::spawn().await;
    assert_eq!(total(&app.get("/v3/access-profiles?count=true").await), 0);
    assert_eq!(
        admin(&app, &["reset", "--demo"]).await.json(),
        json!({"to": "demo"})
    );
    assert_eq!(total(&app.get("/v3/access-profiles?count=true").await), 12);
    assert_eq!(admin(&app, &["reset"]).await.json(), json!({"to": "empty"}));
    assert_eq!(total(&app.get("/v3/access-profiles?count=true").await), 0);
    let both = admin(&app, &["reset", "--demo", "--empty"]).await;
    assert!(
        !both.ok && both.err.contains("cannot be used with"),
        "{}",
        both.err
    );
}

#[tokio::test]
async fn an_injected_429_answers_once_and_the_journal_shows_both_calls() {
    let app = TestApp::spawn().await;
    let rule = admin(
        &app,
        &[
            "faults",
            "add",
            "--operation-id",
            "listAccessProfiles",
            "--status",
            "429",
            "--times",
            "1",
        ],
    )
    .await
    .json();
    let id = rule["id"].as_str().unwrap().to_string();
    assert_eq!(rule["status"], 429);
    let listed = admin(&app, &["faults", "list"]).await.json();
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");

    assert_eq!(app.get("/v3/access-profiles").await.status(), 429);
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
    assert_eq!(admin(&app, &["faults", "list"]).await.json(), json!([]));

    let journal = admin(
        &app,
        &["requests", "list", "--operation-id", "listAccessProfiles"],
    )
    .await
    .json();
    let seen: Vec<(u64, Value)> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].as_u64().unwrap(), r["fault"].clone()))
        .collect();
    assert_eq!(seen, [(429, json!(id)), (200, Value::Null)], "{journal}");
    let only_429 = admin(&app, &["requests", "list", "--status", "429"])
        .await
        .json();
    assert_eq!(only_429.as_array().unwrap().len(), 1, "{only_429}");

    assert!(admin(&app, &["requests", "clear"]).await.ok);
    // Each `accessd admin` fetches a token: the journal holds that call only.
    let after = admin(&app, &["requests", "list"]).await.json();
    let paths: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/oauth/token"], "{after}");
}

#[tokio::test]
async fn a_running_task_outcome_with_its_duration_is_added_from_flags() {
    let app = TestApp::spawn().await;
    let rule = admin(
        &app,
        &[
            "faults",
            "add",
            "--operation-id",
            "deleteAccessProfilesInBulk",
            "--task-outcome",
            "RUNNING",
            "--running-ms",
            "60000",
        ],
    )
    .await
    .json();
    assert_eq!(rule["taskOutcome"], "RUNNING", "{rule}");
    let listed = admin(&app, &["faults", "list"]).await.json();
    assert_eq!(listed[0]["id"], rule["id"], "{listed}");
    assert_eq!(listed[0]["taskOutcome"], "RUNNING", "{listed}");
    assert_eq!(listed[0]["runningMs"], 60000, "{listed}");
    // RUNNING without its duration is refused by the server, with its message.
    let bad = admin(&app, &["faults", "add", "--task-outcome", "RUNNING"]).await;
    assert!(!bad.ok);
    assert!(bad.err.contains("runningMs"), "{}", bad.err);
}

#[tokio::test]
async fn faults_are_removed_one_by_one_or_all_and_a_bad_rule_is_refused_with_its_message() {
    let app = TestApp::spawn().await;
    let json_rule = admin(
        &app,
        &[
            "faults",
            "add",
            "--json",
            r#"{"family": "beta", "delayMs": 10}"#,
            "--times",
            "5",
        ],
    )
    .await
    .json();
    assert_eq!(json_rule["family"], "beta");
    assert_eq!(json_rule["times"], 5);
    let other = admin(&app, &["faults", "add", "--path", "/v3/sources*", "--drop"])
        .await
        .json();
    assert_eq!(other["drop"], true);
    let removed = admin(
        &app,
        &["faults", "remove", json_rule["id"].as_str().unwrap()],
    )
    .await;
    assert!(removed.ok, "{}", removed.err);
    let left = admin(&app, &["faults", "list"]).await.json();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["id"], other["id"]);
    assert!(admin(&app, &["faults", "clear"]).await.ok);
    assert_eq!(app.get_json("/_accessd/faults").await, json!([]));

    let bad = admin(&app, &["faults", "add", "--status", "418"]).await;
    assert!(!bad.ok);
    assert!(bad.err.contains("400"), "{}", bad.err);
    assert!(
        bad.err.contains(
            "The fault rule is invalid (1 problem), nothing was changed:\nstatus 418 is not one of"
        ),
        "{}",
        bad.err
    );
    let gone = admin(&app, &["faults", "remove", "no-such-rule"]).await;
    assert!(!gone.ok && gone.err.contains("404"), "{}", gone.err);
}

#[tokio::test]
async fn the_clock_is_frozen_advanced_set_read_and_made_real_again() {
    let mut app = TestApp::spawn().await;
    let frozen = admin(&app, &["clock", "freeze"]).await.json();
    assert_eq!(frozen["frozen"], true);
    let before = chrono::DateTime::parse_from_rfc3339(frozen["now"].as_str().unwrap()).unwrap();
    admin(&app, &["clock", "advance", "2h"]).await.json();
    let read = admin(&app, &["clock", "get"]).await.json();
    let after = chrono::DateTime::parse_from_rfc3339(read["now"].as_str().unwrap()).unwrap();
    assert_eq!(after - before, chrono::Duration::hours(2), "{read}");
    // The harness's token expired two hours ago, by this clock.
    app.renew_token().await;
    let direct = app.get_json("/_accessd/clock").await;
    assert_eq!(
        (&read["now"], &read["frozen"]),
        (&direct["now"], &direct["frozen"])
    );

    let set = admin(&app, &["clock", "set", "2031-01-01T00:00:00Z"])
        .await
        .json();
    assert!(
        set["now"]
            .as_str()
            .unwrap()
            .starts_with("2031-01-01T00:00:00"),
        "{set}"
    );
    admin(&app, &["clock", "advance", "-1d"]).await.json();
    let back = admin(&app, &["clock", "get"]).await.json();
    assert!(
        back["now"]
            .as_str()
            .unwrap()
            .starts_with("2030-12-31T00:00:00"),
        "{back}"
    );

    let real = admin(&app, &["clock", "real"]).await.json();
    assert_eq!(real["frozen"], false);
    assert_eq!(real["offsetMs"], 0);

    let typo = admin(&app, &["clock", "advance", "2 hours"]).await;
    assert!(
        !typo.ok && typo.err.contains("is not a duration"),
        "{}",
        typo.err
    );
    let bad = admin(&app, &["clock", "set", "tomorrow"]).await;
    assert!(!bad.ok, "{}", bad.out);
    assert!(
        bad.err.contains("is not an RFC 3339 date-time"),
        "{}",
        bad.err
    );
    let absurd = admin(&app, &["clock", "advance", "10000000000000s"]).await;
    assert!(
        !absurd.ok && absurd.err.contains("further than it may stand apart"),
        "{}",
        absurd.err
    );
    admin(&app, &["clock", "set", "9999-12-31T00:00:00Z"])
        .await
        .json();
    let past = admin(&app, &["clock", "advance", "2d"]).await;
    assert!(
        !past.ok && past.err.contains("400") && past.err.contains("outside the range"),
        "{}",
        past.err
    );
    let kept = admin(&app, &["clock", "get"]).await.json();
    assert!(
        kept["now"].as_str().unwrap().starts_with("9999-12-31T"),
        "{kept}"
    );
}

#[tokio::test]
async fn a_wrong_secret_exits_non_zero_with_the_servers_message_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (id, _) = app.admin_client();
    let ran = admin_with(
        &[
            ("ACCESSD_URL", app.base.as_str()),
            ("ACCESSD_ADMIN_CLIENT_ID", id.as_str()),
            ("ACCESSD_ADMIN_CLIENT_SECRET", "not-the-secret-0123456789"),
        ],
        &["reset", "--demo"],
    )
    .await;
    assert!(!ran.ok);
    assert!(ran.err.contains("401"), "{}", ran.err);
    assert!(ran.err.contains("Bad credentials"), "{}", ran.err);
    assert!(ran.err.contains("/oauth/token"), "{}", ran.err);
    assert!(ran.out.is_empty(), "{}", ran.out);
    assert_eq!(total(&app.get("/v3/access-profiles?count=true").await), 0);

    // Flags name the credentials too, over the environment.
    let (id, secret) = app.admin_client();
    let by_flag = admin_with(
        &[("ACCESSD_ADMIN_CLIENT_SECRET", "not-the-secret-0123456789")],
        &[
            "clock",
            "get",
            "--url",
            &app.base,
            "--admin-client-id",
            &id,
            "--admin-client-secret",
            &secret,
        ],
    )
    .await;
    assert!(by_flag.ok, "{}", by_flag.err);
    let none = admin_with(&[("ACCESSD_URL", app.base.as_str())], &["clock", "get"]).await;
    assert!(
        !none.ok && none.err.contains("ACCESSD_ADMIN_CLIENT_ID"),
        "{}",
        none.err
    );
}

#[tokio::test]
async fn an_unreachable_server_is_named_by_its_url() {
    // Port 1 on the loopback: nothing listens there, the connection is refused at once.
    let ran = admin_with(
        &[
            ("ACCESSD_ADMIN_CLIENT_ID", "ops"),
            ("ACCESSD_ADMIN_CLIENT_SECRET", "ops-secret-0123456789"),
        ],
        &["faults", "list", "--url", "http://127.0.0.1:1"],
    )
    .await;
    assert!(!ran.ok);
    assert!(
        ran.err
            .contains("cannot reach accessd at http://127.0.0.1:1"),
        "{}",
        ran.err
    );
}

#[test]
fn every_admin_command_has_an_example_in_its_help() {
    for command in [
        &["admin"][..],
        &["admin", "reset"],
        &["admin", "fixture", "export"],
        &["admin", "fixture", "load"],
        &["admin", "faults", "list"],
        &["admin", "faults", "add"],
        &["admin", "faults", "remove"],
        &["admin", "faults", "clear"],
        &["admin", "clock", "get"],
        &["admin", "clock", "set"],
        &["admin", "clock", "freeze"],
        &["admin", "clock", "advance"],
        &["admin", "clock", "real"],
        &["admin", "requests", "list"],
        &["admin", "requests", "clear"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_accessd"))
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command:?}");
        assert!(help.contains("Example"), "{command:?}: {help}");
    }
}
