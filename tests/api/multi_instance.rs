//! Several instances on one PostgreSQL database (CONTRACT §2, §4; the issue's "three
//! instances on one PostgreSQL database, bulk deletes submitted to all three, one
//! instance SIGKILLed mid-run"). Three `accessd serve` processes share a fresh schema;
//! bulk deletes go to all three; roles that race the deletes are created through the
//! survivors while the instance holding a half-done task is killed. Every task must end
//! once, no step may run twice, and no role may reference a deleted profile. A key
//! retired with `rotate-key --retire-old` beside running instances signs nothing more.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use accessd::store::Backend;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Row};
use tokio::task::JoinSet;

use crate::helpers::{backend, fresh_postgres_schema};
use crate::process::{Api, Server};

/// Profiles seeded; every `USED_EVERY`th is used by a role from the start, so each bulk
/// delete of `PER_REQUEST` (CONTRACT §3.2's maximum) leaves 45 pending: five steps.
const PROFILES: usize = 300;
const INSTANCES: usize = 3;
const USED_EVERY: usize = 10;
const PER_REQUEST: usize = 50;

/// A 3 s claim and 250 ms steps: a task is visibly half-done for a second or more, and
/// a dead instance's task is taken over within seconds.
const INSTANCE_ARGS: [&str; 6] = [
    "--task-claim-ttl-secs",
    "3",
    "--task-poll-ms",
    "50",
    "--task-step-delay-ms",
    "250",
];
/// The runner's "task claimed" lines name the worker that `tasks.claimed_by` holds, so
/// the test can tell which instance runs which task.
const LOG_FILTER: &str = "warn,accessd::tasks=info";

async fn start(url: &str) -> Server {
    Server::start_logging(url, &INSTANCE_ARGS, LOG_FILTER).await
}

/// One bulk delete as answered: its task and the profiles it will delete.
struct Submitted {
    task_id: String,
    pending: Vec<String>,
}

/// What the test saw of the tasks over time, from any instance: a finished task never
/// changes its completion again, and progress never goes back (a task started over
/// would).
#[derive(Default)]
struct Seen {
    finished: HashMap<String, (Value, Value)>,
    percent: HashMap<String, i64>,
}

impl Seen {
    fn observe(&mut self, list: &Value) {
        for t in list.as_array().expect("task list") {
            let id = t["id"].as_str().expect("task id").to_string();
            let percent = t["percentComplete"].as_i64().expect("percentComplete");
            let before = self.percent.insert(id.clone(), percent).unwrap_or(0);
            assert!(percent >= before, "task {id} went back from {before}%: {t}");
            let completion = (t["completionStatus"].clone(), t["completed"].clone());
            match self.finished.get(&id) {
                Some(first) => assert_eq!(
                    first, &completion,
                    "task {id} changed after it finished: {t}"
                ),
                None if completion.0.is_string() => {
                    assert!(completion.1.is_string(), "completed missing: {t}");
                    self.finished.insert(id, completion);
                }
                None => assert!(completion.1.is_null(), "completed without status: {t}"),
            }
        }
    }
}

/// The (task, worker) pairs of an instance's "task claimed" log lines.
fn claims(lines: &[String]) -> Vec<(String, String)> {
    let field = |line: &str, name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .map(str::to_string)
    };
    lines
        .iter()
        .filter(|l| l.contains("task claimed"))
        .map(|l| {
            (
                field(l, "task_id=").expect("task_id in the claim line"),
                field(l, "worker=").expect("worker in the claim line"),
            )
        })
        .collect()
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("an id").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A token from each instance is accepted by the other two: the signing keys live in
/// the shared database.
async fn tokens_are_shared(apis: &[Api]) {
    for (i, issuer) in apis.iter().enumerate() {
        let token = issuer.fetch_token().await;
        for (j, other) in apis.iter().enumerate().filter(|(j, _)| *j != i) {
            let (status, body) = other
                .call_as(
                    &token,
                    reqwest::Method::GET,
                    "/v3/access-profiles?limit=1",
                    None,
                )
                .await;
            assert_eq!(status, 200, "instance {j} refused a token of {i}: {body}");
        }
    }
}

/// The owner, a source and `PROFILES` profiles created through all `INSTANCES` at
/// once, and a role using every `USED_EVERY`th. Returns the owner, the profiles in
/// order, and the used ones.
async fn seed(apis: &[Api]) -> (String, Vec<String>, HashSet<String>) {
    let (_, me) = apis[0]
        .get("/beta/identities?filters=alias%20eq%20%22accessd.admin%22")
        .await;
    let owner = me[0]["id"].as_str().expect("admin identity").to_string();
    let (status, source) = apis[0]
        .post(
            "/v3/sources",
            json!({"name": "Multi source", "owner": {"type": "IDENTITY", "id": owner}, "connector": "ldap"}),
        )
        .await;
    assert_eq!(status, 201, "{source}");
    let source_id = source["id"].as_str().unwrap().to_string();
    let mut creators = JoinSet::new();
    for (k, api) in apis.iter().enumerate() {
        let (api, owner, source_id) = (api.clone(), owner.clone(), source_id.clone());
        creators.spawn(async move {
            let mut made = Vec::new();
            for i in (k..PROFILES).step_by(INSTANCES) {
                let (status, ap) = api
                    .post(
                        "/v3/access-profiles",
                        json!({"name": format!("Multi AP {i:03}"), "owner": {"type": "IDENTITY", "id": owner},
                               "source": {"type": "SOURCE", "id": source_id}, "enabled": false, "requestable": false}),
                    )
                    .await;
                assert_eq!(status, 201, "{ap}");
                made.push((i, ap["id"].as_str().unwrap().to_string()));
            }
            made
        });
    }
    let mut profiles = vec![String::new(); PROFILES];
    while let Some(made) = creators.join_next().await {
        for (i, id) in made.expect("creator") {
            profiles[i] = id;
        }
    }
    let used: Vec<&String> = profiles.iter().step_by(USED_EVERY).collect();
    let (status, role) = apis[1]
        .post("/v3/roles", role_json("Keeper", &owner, &used))
        .await;
    assert_eq!(status, 201, "{role}");
    let used = used.into_iter().cloned().collect();
    (owner, profiles, used)
}

fn role_json(name: &str, owner: &str, profiles: &[&String]) -> Value {
    json!({"name": name, "owner": {"type": "IDENTITY", "id": owner},
           "accessProfiles": profiles.iter().map(|id| json!({"type": "ACCESS_PROFILE", "id": id})).collect::<Vec<_>>(),
           "enabled": true, "requestable": false})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: runs in the postgres pass (ACCESSD_TEST_BACKEND=postgres, --include-ignored)"]
async fn three_instances_share_bulk_deletes_and_one_killed_mid_run_loses_and_repeats_nothing() {
    assert!(
        backend() == Backend::Postgres,
        "multi_instance runs three processes on one PostgreSQL database and cannot run on \
         SQLite: set ACCESSD_TEST_BACKEND=postgres and TEST_DATABASE_URL \
         (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
    );
    let url = fresh_postgres_schema().await;
    let mut db = PgConnection::connect(&url).await.expect("test connection");

    // The first instance migrates the schema and creates the signing key; the other two
    // then start together on it.
    let first = start(&url).await;
    let (second, third) = tokio::join!(start(&url), start(&url));
    let mut servers = [Some(first), Some(second), Some(third)];
    assert_eq!(servers.len(), INSTANCES);
    let apis: Vec<Api> = servers.iter().flatten().map(Server::api).collect();
    tokens_are_shared(&apis).await;

    let (owner, profiles, used) = seed(&apis).await;
    let mut submitted = Vec::new();
    for (k, chunk) in profiles.chunks(PER_REQUEST).enumerate() {
        let (status, answer) = apis[k % apis.len()]
            .post(
                "/v3/access-profiles/bulk-delete",
                json!({"accessProfileIds": chunk, "bestEffortOnly": true}),
            )
            .await;
        assert_eq!(status, 202, "{answer}");
        let pending = str_list(&answer["pending"]);
        let in_use: HashSet<String> = answer["inUse"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["accessProfileId"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = chunk
            .iter()
            .filter(|id| !used.contains(*id))
            .cloned()
            .collect();
        assert_eq!(pending, expected, "pending of bulk delete {k}");
        assert_eq!(
            in_use,
            chunk
                .iter()
                .filter(|id| used.contains(*id))
                .cloned()
                .collect()
        );
        submitted.push(Submitted {
            task_id: answer["taskId"].as_str().unwrap().to_string(),
            pending,
        });
    }
    let mut seen = Seen::default();

    // The victim: an instance whose worker holds a running claim on a task that the API
    // shows part-way (at most 2 of its 5 steps done, so it cannot finish before the kill).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut poll = 0;
    let (victim, victim_worker, victim_task) = 'found: loop {
        assert!(
            Instant::now() < deadline,
            "no task was ever seen mid-run on a known instance"
        );
        poll += 1;
        let (_, list) = apis[poll % apis.len()].get("/task-status/v1").await;
        seen.observe(&list);
        let workers: HashMap<String, usize> = servers
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                claims(&s.as_ref().unwrap().log_lines())
                    .into_iter()
                    .map(move |(_, w)| (w, i))
            })
            .collect();
        let running = sqlx::query(
            "SELECT id, claimed_by FROM tasks WHERE state = 'RUNNING' \
             AND percent_complete > 0 AND percent_complete < 50 ORDER BY id",
        )
        .fetch_all(&mut db)
        .await
        .expect("running tasks");
        for row in running {
            let (task, worker): (String, Option<String>) = (row.get(0), row.get(1));
            let Some(&instance) = worker.as_ref().and_then(|w| workers.get(w)) else {
                continue;
            };
            let (_, status) = apis[(instance + 1) % apis.len()]
                .get(&format!("/beta/task-status/{task}"))
                .await;
            let p = status["percentComplete"].as_i64().unwrap_or(0);
            if p > 0 && p < 100 && status["completionStatus"].is_null() {
                break 'found (instance, worker.unwrap(), task);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let survivors: Vec<Api> = (0..apis.len())
        .filter(|i| *i != victim)
        .map(|i| apis[i].clone())
        .collect();

    // Roles using profiles the tasks have pending, created through the survivors while
    // the victim dies: per task its first profile (most likely deleted already), the
    // one at its cursor (what its next step deletes: a close race) and its last one
    // (most likely still there). Each role either wins (the task keeps the profile)
    // or is refused with 400 (the profile is gone).
    let (_, now) = survivors[0].get("/task-status/v1").await;
    seen.observe(&now);
    let mut contested: Vec<String> = Vec::new();
    for s in &submitted {
        let t = now
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == s.task_id.as_str())
            .expect("task listed");
        let cursor = t["attributes"]["done"].as_u64().unwrap_or(0) as usize;
        let last = s.pending.len() - 1;
        for i in [0, cursor.min(last), last] {
            if !contested.contains(&s.pending[i]) {
                contested.push(s.pending[i].clone());
            }
        }
    }
    let mut racers = JoinSet::new();
    for (n, x) in contested.iter().enumerate() {
        let api = survivors[n % survivors.len()].clone();
        let body = role_json(&format!("Racer {n}"), &owner, &[x]);
        let x = x.clone();
        racers.spawn(async move {
            let (status, role) = api.post("/v3/roles", body).await;
            (x, status, role)
        });
    }
    let victim_log = servers[victim].as_ref().unwrap().log_lines();
    servers[victim].take().unwrap().kill();
    let mut race = Vec::new();
    while let Some(r) = racers.join_next().await {
        let (x, status, role) = r.expect("racer");
        assert!(matches!(status, 201 | 400), "racer on {x}: {status} {role}");
        race.push((x, status, role));
    }

    // The dead instance's claim is still on its task, half done: nobody else runs it
    // until the claim expires.
    let orphaned: Vec<(String, i64)> = sqlx::query_as(
        "SELECT id, percent_complete FROM tasks WHERE claimed_by = $1 AND state = 'RUNNING'",
    )
    .bind(&victim_worker)
    .fetch_all(&mut db)
    .await
    .expect("orphaned tasks");
    assert_eq!(orphaned.len(), 1, "the killed runner held {orphaned:?}");
    assert_eq!(orphaned[0].0, victim_task);
    assert!(
        orphaned[0].1 > 0 && orphaned[0].1 < 100,
        "{victim_task} was not mid-run when killed: {orphaned:?}"
    );

    // Every task ends, as the survivors see it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let started = Instant::now();
    let final_list = loop {
        poll += 1;
        let (_, list) = survivors[poll % survivors.len()]
            .get("/task-status/v1")
            .await;
        seen.observe(&list);
        if seen.finished.len() == submitted.len() {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "tasks did not all finish after the kill: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "multi_instance: victim instance {victim} held task {victim_task}; all tasks finished {:?} after the kill",
        started.elapsed()
    );

    // Exactly the submitted tasks, each finished once, the same on both survivors.
    let listed: HashSet<&str> = final_list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let task_ids: HashSet<&str> = submitted.iter().map(|s| s.task_id.as_str()).collect();
    assert_eq!(
        listed, task_ids,
        "the task list is exactly the submitted tasks"
    );
    let (_, other_list) = survivors[(poll + 1) % survivors.len()]
        .get("/task-status/v1")
        .await;
    seen.observe(&other_list);

    let mut deleted_all = HashSet::new();
    let mut kept_all = HashSet::new();
    for s in &submitted {
        let (status, t) = survivors[0]
            .get(&format!("/beta/task-status/{}", s.task_id))
            .await;
        assert_eq!(status, 200, "{t}");
        assert_eq!(t["percentComplete"], 100, "{t}");
        assert!(
            t["completed"].is_string() && t["launched"].is_string(),
            "{t}"
        );
        let attrs = &t["attributes"];
        let deleted = str_list(&attrs["deleted"]);
        let kept = str_list(&attrs["kept"]);
        assert!(
            str_list(&attrs["alreadyDeleted"]).is_empty(),
            "a step of {} ran on profiles already deleted (a step ran twice?): {t}",
            s.task_id
        );
        assert_eq!(attrs["done"], json!(s.pending.len()), "{t}");
        assert_eq!(attrs["total"], json!(s.pending.len()), "{t}");
        // Each pending profile reported once, in order: no step was repeated or skipped.
        let mut reported: Vec<&String> = deleted.iter().chain(&kept).collect();
        reported.sort();
        let mut expected: Vec<&String> = s.pending.iter().collect();
        expected.sort();
        assert_eq!(reported, expected, "task {} results: {t}", s.task_id);
        let warned: Vec<String> = t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m["type"], "WARN", "{m}");
                m["parameters"][0]["accessProfileId"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(warned, kept, "one warning per kept profile: {t}");
        let expected_status = if kept.is_empty() {
            "SUCCESS"
        } else {
            "WARNING"
        };
        assert_eq!(t["completionStatus"], expected_status, "{t}");
        deleted_all.extend(deleted);
        kept_all.extend(kept);
    }

    // The database agrees: one claim per task, two for the one whose runner died, and
    // nothing written to a task after its completion.
    let rows = sqlx::query(
        "SELECT id, state, claimed_by, attempts, completed, modified FROM tasks ORDER BY id",
    )
    .fetch_all(&mut db)
    .await
    .expect("tasks");
    assert_eq!(rows.len(), submitted.len());
    for row in &rows {
        let id: String = row.get("id");
        let attempts: i64 = row.get("attempts");
        assert_eq!(row.get::<String, _>("state"), "FINISHED", "{id}");
        assert_eq!(row.get::<Option<String>, _>("claimed_by"), None, "{id}");
        assert_eq!(
            row.get::<Option<String>, _>("completed").as_deref(),
            Some(row.get::<String, _>("modified").as_str()),
            "{id} was written after its completion"
        );
        let expected = if id == victim_task { 2 } else { 1 };
        assert_eq!(attempts, expected, "attempts of {id}");
    }
    // The logs agree: each task claimed once by a live instance; the victim's task once
    // more, by a survivor.
    let mut claimed: HashMap<String, Vec<String>> = HashMap::new();
    let logs = servers
        .iter()
        .flatten()
        .map(Server::log_lines)
        .chain([victim_log]);
    for (task, worker) in logs.flat_map(|l| claims(&l)) {
        claimed.entry(task).or_default().push(worker);
    }
    for s in &submitted {
        let workers = claimed.get(&s.task_id).cloned().unwrap_or_default();
        if s.task_id == victim_task {
            assert_eq!(workers.len(), 2, "claims of {}: {workers:?}", s.task_id);
            assert!(workers.contains(&victim_worker));
        } else {
            assert_eq!(workers.len(), 1, "claims of {}: {workers:?}", s.task_id);
        }
    }

    // The invariant (CONTRACT §2): deleted profiles are gone, kept ones are used by a
    // role, the role-used ones all survive, and every role's profiles exist.
    let (status, roles) = survivors[1].get("/v3/roles?limit=50").await;
    assert_eq!(status, 200, "{roles}");
    let referenced: HashSet<String> = roles
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["accessProfiles"].as_array().unwrap().iter())
        .map(|ap| ap["id"].as_str().unwrap().to_string())
        .collect();
    for (n, id) in profiles.iter().enumerate() {
        let (status, _) = survivors[n % survivors.len()]
            .get(&format!("/v3/access-profiles/{id}"))
            .await;
        if deleted_all.contains(id) {
            assert_eq!(status, 404, "{id} reported deleted but still there");
            assert!(!referenced.contains(id), "a role references deleted {id}");
        } else {
            assert_eq!(status, 200, "{id} is gone but no task deleted it");
            assert!(
                used.contains(id) || kept_all.contains(id),
                "{id} was neither deleted nor in use"
            );
            assert!(referenced.contains(id), "{id} survived unused");
        }
    }
    assert_eq!(
        deleted_all.len() + kept_all.len() + used.len(),
        PROFILES,
        "deleted {}, kept {}, used from the start {}",
        deleted_all.len(),
        kept_all.len(),
        used.len()
    );
    let remaining: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_profiles")
        .fetch_one(&mut db)
        .await
        .expect("count");
    assert_eq!(remaining as usize, PROFILES - deleted_all.len());

    // Each race ended one way: the role won and its task kept the profile, or the role
    // was refused and the profile is gone.
    let mut won = 0;
    for (x, status, role) in &race {
        if *status == 201 {
            won += 1;
            assert_eq!(role["accessProfiles"][0]["id"], x.as_str(), "{role}");
            assert!(
                kept_all.contains(x),
                "role {} uses {x}, not kept",
                role["name"]
            );
        } else {
            assert!(
                deleted_all.contains(x),
                "role on {x} refused, yet {x} not deleted: {role}"
            );
        }
    }
    eprintln!(
        "multi_instance: {} deleted, {} kept by racing roles ({won} of {} races won by the role)",
        deleted_all.len(),
        kept_all.len(),
        race.len()
    );
}

/// The key id in a token's header.
fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("a JWT header")
        .kid
        .expect("kid")
}

/// `accessd rotate-key --retire-old` beside two running instances (CONTRACT §6): the
/// very next token of each is signed with the new key and accepted by both, and the
/// retired key's tokens are refused — no instance goes on signing with the retired key
/// until its periodic reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: runs in the postgres pass (ACCESSD_TEST_BACKEND=postgres, --include-ignored)"]
async fn after_rotate_key_retire_old_no_instance_signs_with_the_retired_key() {
    assert!(
        backend() == Backend::Postgres,
        "multi_instance runs processes on one PostgreSQL database: set \
         ACCESSD_TEST_BACKEND=postgres and TEST_DATABASE_URL"
    );
    let url = fresh_postgres_schema().await;
    let first = Server::start(&url, &[]).await;
    let second = Server::start(&url, &[]).await;
    let apis = [first.api(), second.api()];
    tokens_are_shared(&apis).await;
    let retired_kid = kid_of(&first.token);
    assert_eq!(kid_of(&second.token), retired_kid);

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args(["rotate-key", "--database-url", &url, "--retire-old"])
        .output()
        .await
        .expect("accessd rotate-key runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("retired 1 older key"), "{stdout}");

    for (i, issuer) in apis.iter().enumerate() {
        let token = issuer.fetch_token().await;
        assert_ne!(
            kid_of(&token),
            retired_kid,
            "instance {i} signs with the new key"
        );
        for (j, api) in apis.iter().enumerate() {
            let (status, body) = api
                .call_as(
                    &token,
                    reqwest::Method::GET,
                    "/v3/access-profiles?limit=1",
                    None,
                )
                .await;
            assert_eq!(
                status, 200,
                "instance {j} refused a new token of {i}: {body}"
            );
        }
    }
    for (j, api) in apis.iter().enumerate() {
        let (status, body) = api
            .call_as(
                &first.token,
                reqwest::Method::GET,
                "/v3/access-profiles?limit=1",
                None,
            )
            .await;
        assert_eq!(
            status, 401,
            "instance {j} accepted a retired key's token: {body}"
        );
    }
}

/// How long an instance may take to apply a change another instance announced before a
/// test gives up: far beyond the moments it takes, never a measurement.
const HEARD_WITHIN: Duration = Duration::from_secs(20);

/// Two instances on one fresh schema: the first migrates it, the second starts on it.
async fn two_instances() -> (Server, Server) {
    assert!(
        backend() == Backend::Postgres,
        "shared controls need two instances on one PostgreSQL database: set \
         ACCESSD_TEST_BACKEND=postgres and TEST_DATABASE_URL"
    );
    let url = fresh_postgres_schema().await;
    let a = Server::start(&url, &[]).await;
    let b = Server::start(&url, &[]).await;
    (a, b)
}

/// Calls `path` on `api` (with a token fetched from it when `fresh_token`) until the
/// answer satisfies `done`, for at most [`HEARD_WITHIN`]; returns that answer.
async fn until(
    api: &Api,
    path: &str,
    fresh_token: bool,
    done: impl Fn(u16, &Value) -> bool,
) -> (u16, Value) {
    let deadline = Instant::now() + HEARD_WITHIN;
    loop {
        let token = if fresh_token {
            api.fetch_token().await
        } else {
            api.token.clone()
        };
        let (status, body) = api.call_as(&token, reqwest::Method::GET, path, None).await;
        if done(status, &body) {
            return (status, body);
        }
        assert!(
            Instant::now() < deadline,
            "{} never answered {path} as expected; last: {status} {body}",
            api.base
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: runs in the postgres pass (ACCESSD_TEST_BACKEND=postgres, --include-ignored)"]
async fn a_fault_rule_added_on_one_instance_fires_on_another_and_times_counts_across_them() {
    let (a, b) = two_instances().await;

    // Added on A, it fires on B once B has heard of it.
    let (status, rule) = a
        .post(
            "/_accessd/faults",
            json!({"operationId": "listRoles", "status": 500}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    until(&b, "/v3/roles", false, |status, _| status == 500).await;
    let (_, rules) = b.get("/_accessd/faults").await;
    assert_eq!(rules[0]["id"], rule["id"], "B lists A's rule: {rules}");

    // Removed on A, it stops on B at once: B's copy may still hold it, but a match is
    // counted in the database, where the rule is gone.
    let (status, _) = a
        .call(
            reqwest::Method::DELETE,
            &format!("/_accessd/faults/{}", rule["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    for _ in 0..3 {
        assert_eq!(b.get("/v3/roles").await.0, 200);
    }

    // times=2 fires exactly twice in all: once on A (its own copy has it at once),
    // once on B (when it has heard of it), and never again on either.
    let (status, rule) = a
        .post(
            "/_accessd/faults",
            json!({"operationId": "listAccessProfiles", "status": 503, "times": 2}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(a.get("/v3/access-profiles").await.0, 503);
    until(&b, "/v3/access-profiles", false, |status, _| status == 503).await;
    for _ in 0..3 {
        assert_eq!(
            a.get("/v3/access-profiles").await.0,
            200,
            "A fired a third time"
        );
        assert_eq!(
            b.get("/v3/access-profiles").await.0,
            200,
            "B fired a third time"
        );
    }
    for server in [&a, &b] {
        assert_eq!(server.get("/_accessd/faults").await.1, json!([]));
        let (_, fired) = server
            .get("/_accessd/requests?operationId=listAccessProfiles&status=503")
            .await;
        let fired = fired.as_array().expect("journal");
        assert_eq!(fired.len(), 1, "{} journaled {fired:?}", server.base);
        assert_eq!(fired[0]["fault"], rule["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: runs in the postgres pass (ACCESSD_TEST_BACKEND=postgres, --include-ignored)"]
async fn the_clock_set_on_one_instance_is_read_on_another_and_its_tokens_expire_by_it() {
    let (a, b) = two_instances().await;
    let (status, clock) = a
        .post(
            "/_accessd/clock",
            json!({"freeze": true, "to": "2031-05-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(status, 200, "{clock}");
    // B's tokens from before the jump expired with it: each poll takes a new one.
    let (_, clock) = until(&b, "/_accessd/clock", true, |status, body| {
        status == 200 && body["now"] == "2031-05-01T10:00:00.000Z"
    })
    .await;
    assert_eq!(clock["frozen"], true, "{clock}");

    // A token B issues lives 749 s of the shared clock: advanced on A past that, B
    // refuses it.
    let token = b.fetch_token().await;
    let (status, _) = b
        .call_as(&token, reqwest::Method::GET, "/v3/access-profiles", None)
        .await;
    assert_eq!(status, 200);
    let a_token = a.fetch_token().await;
    let (status, clock) = a
        .call_as(
            &a_token,
            reqwest::Method::POST,
            "/_accessd/clock",
            Some(json!({"advanceSeconds": 750})),
        )
        .await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["now"], "2031-05-01T10:12:30.000Z");
    let deadline = Instant::now() + HEARD_WITHIN;
    loop {
        let (status, body) = b
            .call_as(&token, reqwest::Method::GET, "/v3/access-profiles", None)
            .await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "B never expired the token");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, clock) = until(&b, "/_accessd/clock", true, |status, _| status == 200).await;
    assert_eq!(clock["now"], "2031-05-01T10:12:30.000Z", "{clock}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL only: runs in the postgres pass (ACCESSD_TEST_BACKEND=postgres, --include-ignored)"]
async fn an_instance_whose_listening_connection_is_cut_listens_again_and_catches_up() {
    let (a, b) = two_instances().await;
    // Cut every listening connection to the database: B's among them (instances of
    // other tests running now listen again too, as this test expects of B).
    let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let mut db = PgConnection::connect(&url).await.expect("test connection");
    let cut: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN \"accessd_control\"%' AND pg_terminate_backend(pid)",
    )
    .fetch_all(&mut db)
    .await
    .expect("terminate the listeners");
    assert!(cut.len() >= 2, "A's and B's listeners: {cut:?}");
    // A change made while B may not be listening: B hears it, or reloads when it
    // listens again.
    let (status, rule) = a
        .post(
            "/_accessd/faults",
            json!({"operationId": "listSources", "status": 502}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    until(&b, "/v3/sources", false, |status, _| status == 502).await;
}
