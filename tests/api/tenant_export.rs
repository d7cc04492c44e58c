//! `accessd export`, `accessd import` and `accessd migrate`, run as the real binary: a
//! whole tenant moves between databases (and between SQLite and PostgreSQL) unchanged
//! and keeps working; an import that cannot be right is refused and writes nothing; a
//! database migrated by a newer accessd is refused.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use accessd::config::RateLimitStore;
use accessd::domain::model::{Identity, NamedRef};
use accessd::domain::{new_id, Clock};
use accessd::store::Backend;
use serde_json::{json, Value};

use crate::helpers::*;

/// Runs `accessd ARGS`; a command that has not ended after a minute (e.g. a server
/// that started although it should not) is killed and fails the test.
async fn accessd(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("ACCESSD_DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .unwrap_or_else(|_| panic!("`accessd {}` did not end within a minute", args.join(" ")))
        .expect("accessd runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command that must succeed; returns its standard output.
async fn accessd_ok(args: &[&str]) -> String {
    let out = accessd(args).await;
    assert!(
        out.status.success(),
        "`accessd {}` failed ({}): {}",
        args.join(" "),
        out.status,
        stderr(&out)
    );
    stdout(&out)
}

/// Runs a command that must fail with exit code 1; returns its standard error.
async fn accessd_refused(args: &[&str]) -> String {
    let out = accessd(args).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "`accessd {}` should have been refused; stdout: {} stderr: {}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    stderr(&out)
}

/// `accessd export` of a database, parsed.
async fn export(url: &str) -> Value {
    let text = accessd_ok(&["export", "--database-url", url]).await;
    serde_json::from_str(&text).expect("export writes JSON")
}

/// `accessd import FILE` of this document into a database.
async fn import(dir: &Path, doc: &Value, url: &str) -> String {
    let file = dir.join(format!("import-{}.json", new_id()));
    std::fs::write(&file, doc.to_string()).expect("write export file");
    accessd_ok(&[
        "import",
        file.to_str().expect("path"),
        "--database-url",
        url,
    ])
    .await
}

/// A table as its columns and its rows keyed by column name, sorted: two databases
/// may return rows in different orders (collations differ), not different rows.
type Tables = BTreeMap<String, (Vec<String>, Vec<BTreeMap<String, Value>>)>;

fn tables(doc: &Value) -> Tables {
    let mut out = Tables::new();
    for t in doc["tables"].as_array().expect("tables") {
        let columns: Vec<String> = t["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c.as_str().expect("column name").to_string())
            .collect();
        let mut rows: Vec<BTreeMap<String, Value>> = t["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                let r = r.as_array().expect("row");
                assert_eq!(r.len(), columns.len(), "{t}");
                columns.iter().cloned().zip(r.iter().cloned()).collect()
            })
            .collect();
        rows.sort_by_key(|r| serde_json::to_string(r).expect("row json"));
        let name = t["name"].as_str().expect("table name").to_string();
        assert!(out.insert(name, (columns, rows)).is_none(), "a table twice");
    }
    out
}

/// Asserts two exports hold the same tenant, naming the first table that differs.
fn assert_same_tenant(a: &Value, b: &Value, what: &str) {
    assert_eq!(a["format"], b["format"], "{what}: format");
    assert_eq!(
        a["schema_version"], b["schema_version"],
        "{what}: schema_version"
    );
    let (ta, tb) = (tables(a), tables(b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "{what}: tables"
    );
    for (name, (cols, rows)) in &ta {
        let (other_cols, other_rows) = &tb[name];
        let (mut c1, mut c2) = (cols.clone(), other_cols.clone());
        c1.sort();
        c2.sort();
        assert_eq!(c1, c2, "{what}: columns of {name}");
        assert_eq!(rows, other_rows, "{what}: rows of {name}");
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// A POST's body, asserting its status.
async fn created(app: &TestApp, path: &str, body: &Value, status: u16) -> Value {
    let resp = app.post(path, body).await;
    let got = resp.status().as_u16();
    let json: Value = resp.json().await.expect("json");
    assert_eq!(got, status, "POST {path}: {json}");
    json
}

/// What the round trip checks on the server of an imported database.
struct Original {
    /// The admin token of the server the tenant was built on.
    token: String,
    /// A personal access token of the admin, made with `accessd client create` before
    /// the export.
    client: (String, String),
    /// The start-up admin client's id (kept in `meta`).
    startup_client_id: String,
    /// GET path → the document the original server answered.
    documents: Vec<(String, Value)>,
    used_profile: String,
    unused_profile: String,
    employee: String,
    manager: String,
}

/// Builds a tenant touching every table on a new SQLite database through the API
/// (store fixtures where there is no API), then stops its server.
async fn build_tenant(url: &str, dir: Arc<tempfile::TempDir>) -> Original {
    // Rate limits counted in the database, so that table has rows to move too.
    let mut config = test_config(url);
    config.gateway.rate_limit_store = RateLimitStore::Database;
    let mut app = TestApp::start(config, dir, Clock::system()).await;
    let f = app.fixture().await;

    // An identity with a manager. The employee's id sorts before the manager's, so the
    // import meets the reference before the row it points to.
    let now = app.clock.now();
    let mut manager = Identity::new_active("Mona", "Manager", "mona.manager", None, &[], now);
    manager.id = format!("f{}", &new_id()[1..]);
    manager.is_manager = true;
    app.store.insert_identity(&manager).await.expect("manager");
    let mut employee = Identity::new_active("Eddie", "Employee", "eddie.employee", None, &[], now);
    employee.id = format!("0{}", &new_id()[1..]);
    employee.manager = Some(NamedRef {
        id: manager.id.clone(),
        name: manager.name.clone(),
    });
    app.store
        .insert_identity(&employee)
        .await
        .expect("employee");

    // A governance group with members, managing a source created over HTTP.
    let group = created(
        &app,
        "/beta/workgroups",
        &json!({"name": "Payroll admins", "description": "d", "owner": {"id": f.owner.id}}),
        200,
    )
    .await;
    let resp = app
        .post(
            &format!("/beta/workgroups/{}/members/bulk-add", id(&group)),
            &json!([{"type": "IDENTITY", "id": employee.id}, {"type": "IDENTITY", "id": manager.id}]),
        )
        .await;
    assert_eq!(resp.status(), 207);
    let payroll = created(
        &app,
        "/v3/sources",
        &json!({"name": "Payroll", "owner": {"type": "IDENTITY", "id": f.owner.id},
                "connector": "ldap", "managementWorkgroup": {"id": id(&group)},
                "description": "the payroll system"}),
        201,
    )
    .await;

    let s1 = id(&created(&app, "/v3/segments", &json!({"name": "Europe"}), 201).await);
    let s2 = id(&created(&app, "/v3/segments", &json!({"name": "America"}), 201).await);
    let mut body = ap_body(&f, "Payroll clerk");
    body["entitlements"] = json!([{"type": "ENTITLEMENT", "id": f.entitlements[2]},
                                  {"type": "ENTITLEMENT", "id": f.entitlements[0]}]);
    body["segments"] = json!([s2, s1]);
    let used = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    let in_state = app
        .create_access_profile("/beta/access-profiles", &ap_body(&f, "Benefits"))
        .await;
    let mut body = ap_body(&f, "CRM reader");
    body["source"] = json!({"type": "SOURCE", "id": f.other_source.id});
    body["entitlements"] = json!([{"type": "ENTITLEMENT", "id": f.other_entitlements[1]}]);
    let in_app = app
        .create_access_profile("/access-profiles/v1", &body)
        .await;
    let unused = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Spare"))
        .await;
    let doomed = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Doomed"))
        .await;

    let mut body = role_body("Clerk", &f.owner.id, &[&id(&used)]);
    body["entitlements"] = json!([{"type": "ENTITLEMENT", "id": f.entitlements[1]}]);
    body["segments"] = json!([s1]);
    let role = app.create_role("/v3/roles", &body).await;

    let profile = app.seed_identity_profile("Employees").await;
    let state = created(
        &app,
        &format!("/v3/identity-profiles/{}/lifecycle-states", profile.id),
        &json!({"name": "Active", "technicalName": "active", "description": "d",
                "enabled": true, "accessProfileIds": [id(&in_state)]}),
        201,
    )
    .await;

    let source_app = created(
        &app,
        "/beta/source-apps",
        &json!({"name": "CRM app", "description": "d",
                "accountSource": {"id": f.other_source.id}}),
        200,
    )
    .await;
    let resp = app
        .patch(
            &format!("/beta/source-apps/{}", id(&source_app)),
            &json!([{"op": "replace", "path": "/accessProfiles", "value": [id(&in_app)]}]),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    let resp = app
        .post(
            "/beta/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [id(&doomed)]}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let task: Value = resp.json().await.expect("json");
    let task_id = task["taskId"].as_str().expect("taskId").to_string();
    app.drain_tasks().await;

    let mut documents = Vec::new();
    for path in [
        format!("/v3/access-profiles/{}", id(&used)),
        format!("/beta/access-profiles/{}", id(&used)),
        format!("/access-profiles/v1/{}", id(&in_app)),
        format!("/v3/roles/{}", id(&role)),
        format!(
            "/v3/identity-profiles/{}/lifecycle-states/{}",
            profile.id,
            id(&state)
        ),
        format!("/beta/source-apps/{}", id(&source_app)),
        format!("/beta/source-apps/{}/access-profiles", id(&source_app)),
        format!("/beta/workgroups/{}", id(&group)),
        format!("/beta/workgroups/{}/members", id(&group)),
        format!("/v3/sources/{}", id(&payroll)),
        format!("/beta/entitlements/{}", f.entitlements[2]),
        format!("/v3/segments/{s2}"),
        format!("/beta/identities/{}", employee.id),
        format!("/beta/task-status/{task_id}"),
    ] {
        let doc = app.get_json(&path).await;
        documents.push((path, doc));
    }
    let doc = |prefix: &str| {
        &documents
            .iter()
            .find(|(p, _)| p.starts_with(prefix))
            .expect(prefix)
            .1
    };
    let task_doc = doc("/beta/task-status/");
    assert_eq!(task_doc["completionStatus"], "SUCCESS", "{task_doc}");
    let employee_doc = doc("/beta/identities/");
    assert_eq!(employee_doc["managerRef"]["id"], manager.id.as_str());

    let original = Original {
        token: app.token.clone(),
        client: (String::new(), String::new()),
        startup_client_id: app.admin_client().0,
        documents,
        used_profile: id(&used),
        unused_profile: id(&unused),
        employee: employee.id.clone(),
        manager: manager.id.clone(),
    };
    app.stop().await;
    original
}

/// Starts a server on an imported database and checks through HTTP that the tenant
/// works as it did: old tokens and clients, documents, links, tasks.
async fn check_imported(url: &str, original: &Original, what: &str) {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut app = TestApp::start(test_config(url), dir, Clock::system()).await;
    assert_eq!(
        app.admin_client().0,
        original.startup_client_id,
        "{what}: the start-up client id (meta) moved"
    );

    // The signing keys moved: a token the original server issued is accepted.
    app.token = original.token.clone();
    for (path, doc) in &original.documents {
        assert_eq!(&app.get_json(path).await, doc, "{what}: GET {path}");
    }
    // The clients moved: the CLI-made client's secret still gets a token, which the
    // checks below use.
    let (client_id, secret) = &original.client;
    app.token = app.fetch_token(client_id, secret).await;

    // The kept number of access profiles was rebuilt by the import: the unfiltered
    // count is the length of the list, and follows a delete.
    let profiles = profile_count(&app).await;
    assert!(profiles.0 >= 2, "{what}: {profiles:?}");
    assert_eq!(
        profiles.0, profiles.1,
        "{what}: the count is the list's length"
    );

    // The role's link moved: its profile is still in use.
    let resp = app
        .delete(&format!("/v3/access-profiles/{}", original.used_profile))
        .await;
    assert_isc_error(resp, 400, "400.2.1.0 Object in use by another").await;
    app.get_json(&format!("/v3/access-profiles/{}", original.used_profile))
        .await;
    // ... while a profile nothing uses is deleted.
    let resp = app
        .delete(&format!("/v3/access-profiles/{}", original.unused_profile))
        .await;
    assert_eq!(resp.status(), 204, "{what}");
    assert_eq!(
        profile_count(&app).await,
        (profiles.0 - 1, profiles.1 - 1),
        "{what}: the count after a delete"
    );
    app.stop().await;
}

/// The unfiltered `count=true` total of the access profiles, and the list's length.
async fn profile_count(app: &TestApp) -> (i64, i64) {
    let resp = app.get("/v3/access-profiles?count=true&limit=250").await;
    assert_eq!(resp.status(), 200);
    let total = resp.headers()["X-Total-Count"]
        .to_str()
        .expect("header")
        .parse()
        .expect("a number");
    let list: Vec<Value> = resp.json().await.expect("json");
    (total, i64::try_from(list.len()).expect("small"))
}

/// In the sqlite pass (the default) this is SQLite → SQLite → SQLite; in the postgres
/// pass (`ACCESSD_TEST_BACKEND=postgres`) SQLite → PostgreSQL → SQLite. The tenant is
/// built on SQLite, exported, imported into the test backend, exported from there,
/// imported into a new SQLite file and exported again: all three exports hold the same
/// rows, and servers on both imported databases work as the original did.
#[tokio::test]
async fn a_sqlite_tenant_round_trips_through_the_test_backend_and_back_to_sqlite() {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let origin = format!("sqlite://{}", dir.path().join("origin.db").display());
    let mut original = build_tenant(&origin, dir.clone()).await;
    let out = accessd_ok(&[
        "client",
        "create",
        "--database-url",
        &origin,
        "--name",
        "exported client",
        "--identity",
        "accessd.admin",
    ])
    .await;
    let field = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} in {out}"))
            .to_string()
    };
    original.client = (field("client_id="), field("client_secret="));

    let first = export(&origin).await;
    assert_eq!(first["format"], "accessd-tenant-export");
    for (name, (_, rows)) in tables(&first) {
        assert!(!rows.is_empty(), "the tenant leaves table {name} empty");
    }
    let identities = &tables(&first)["identities"].1;
    assert!(
        identities
            .iter()
            .any(|r| r["id"] == original.employee.as_str()
                && r["manager_id"] == original.manager.as_str()),
        "the employee's manager is exported"
    );

    let middle_dir = tempfile::tempdir().expect("temp dir");
    let middle = fresh_database_url(middle_dir.path()).await;
    assert_eq!(Backend::of(&middle).expect("backend"), backend());
    let said = import(dir.path(), &first, &middle).await;
    assert!(said.starts_with("imported "), "{said}");
    let second = export(&middle).await;
    assert_same_tenant(&first, &second, "origin vs the test backend");

    let last = format!("sqlite://{}", dir.path().join("last.db").display());
    import(dir.path(), &second, &last).await;
    let third = export(&last).await;
    assert_same_tenant(&first, &third, "origin vs back on SQLite");

    check_imported(&middle, &original, "the test backend").await;
    check_imported(&last, &original, "back on SQLite").await;
}

/// Whether the database has any tables, without creating a SQLite file that is not
/// there.
async fn table_count(url: &str) -> i64 {
    use sqlx::Connection;
    match Backend::of(url).expect("backend") {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            if !Path::new(path).exists() {
                return 0;
            }
            let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=ro"))
                .await
                .expect("open");
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema()",
            )
            .fetch_one(&mut conn)
            .await
            .expect("count")
        }
    }
}

/// Runs one statement on the database behind `url`.
async fn execute(url: &str, sql: &str) {
    use sqlx::Connection;
    match Backend::of(url).expect("backend") {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("open");
            sqlx::query(sql).execute(&mut conn).await.expect(sql);
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query(sql).execute(&mut conn).await.expect(sql);
        }
    }
}

async fn scalar(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    match Backend::of(url).expect("backend") {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("open");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect(sql)
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect(sql)
        }
    }
}

/// A small tenant on the test backend, with its server stopped: returns its URL (a
/// SQLite file lives in `dir`, which the caller keeps).
async fn small_tenant(dir: Arc<tempfile::TempDir>, name: &str) -> String {
    let url = fresh_database_url(dir.path()).await;
    let mut app = TestApp::start(test_config(&url), dir, Clock::system()).await;
    let f = app.fixture().await;
    app.create_access_profile("/v3/access-profiles", &ap_body(&f, name))
        .await;
    app.stop().await;
    url
}

#[tokio::test]
async fn importing_into_a_database_that_is_not_empty_is_refused_and_changes_nothing() {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let target = small_tenant(dir.clone(), "Already here").await;
    let before = export(&target).await;

    let other_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let other = small_tenant(other_dir.clone(), "Incoming").await;
    let incoming = export(&other).await;
    let file = dir.path().join("incoming.json");
    std::fs::write(&file, incoming.to_string()).unwrap();

    let err = accessd_refused(&["import", file.to_str().unwrap(), "--database-url", &target]).await;
    assert!(
        err.contains("the database is not empty") && err.contains("import needs a new"),
        "{err}"
    );
    assert_same_tenant(&before, &export(&target).await, "after the refused import");
}

#[tokio::test]
async fn an_import_that_is_not_an_export_of_this_schema_is_refused_and_writes_no_rows() {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let source = small_tenant(dir.clone(), "Exported").await;
    let good = export(&source).await;
    let version = good["schema_version"].as_i64().expect("schema_version");
    // Migrations are numbered 1..=N, so the version is the number of files.
    assert_eq!(version, migration_files(backend()));

    let mut older = good.clone();
    older["schema_version"] = json!(version - 1);
    let mut newer = good.clone();
    newer["schema_version"] = json!(9999);
    let mut other_format = good.clone();
    other_format["format"] = json!("someone-elses-export");
    let mut missing_table = good.clone();
    missing_table["tables"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["name"] != "roles");
    let cases: Vec<(&str, String, String)> = vec![
        (
            "an older schema version",
            older.to_string(),
            format!("the export is of schema version {}", version - 1),
        ),
        (
            "a newer schema version",
            newer.to_string(),
            "the export is of schema version 9999".into(),
        ),
        (
            "another format",
            other_format.to_string(),
            "not an accessd tenant export".into(),
        ),
        (
            "a table missing",
            missing_table.to_string(),
            "the export has no table 'roles'".into(),
        ),
        (
            "garbage",
            "this is not JSON {".into(),
            "is not an accessd export".into(),
        ),
        (
            "JSON of another shape",
            json!({"hello": "world"}).to_string(),
            "is not an accessd export".into(),
        ),
        ("nothing", String::new(), "is not an accessd export".into()),
    ];
    for (what, text, message) in cases {
        let target_dir = tempfile::tempdir().expect("temp dir");
        let target = fresh_database_url(target_dir.path()).await;
        let file = dir.path().join("refused.json");
        std::fs::write(&file, &text).unwrap();
        let err =
            accessd_refused(&["import", file.to_str().unwrap(), "--database-url", &target]).await;
        assert!(err.contains(&message), "{what}: {err}");
        if table_count(&target).await > 0 {
            // Refused after migrating: the schema is there, no row is.
            for (name, (_, rows)) in tables(&export(&target).await) {
                assert!(rows.is_empty(), "{what}: {name} has rows");
            }
        }
    }

    // A file that is not there.
    let target_dir = tempfile::tempdir().expect("temp dir");
    let target = fresh_database_url(target_dir.path()).await;
    let err = accessd_refused(&[
        "import",
        "/nonexistent/tenant.json",
        "--database-url",
        &target,
    ])
    .await;
    assert!(
        err.contains("cannot read /nonexistent/tenant.json"),
        "{err}"
    );
    assert_eq!(table_count(&target).await, 0);
}

fn migration_files(backend: Backend) -> i64 {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let n = std::fs::read_dir(&dir)
        .expect("migrations folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    i64::try_from(n).expect("count")
}

#[tokio::test]
async fn migrate_applies_every_migration_and_exits_without_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(dir.path()).await;
    // `accessd` returns (within `accessd()`'s minute) only if it does not serve.
    let out = accessd_ok(&["migrate", "--database-url", &url]).await;
    assert!(out.contains("is migrated"), "{out}");
    assert!(!out.contains("listening"), "{out}");
    let files = migration_files(backend());
    assert_eq!(
        files,
        migration_files(Backend::Sqlite),
        "the same numbering"
    );
    assert_eq!(
        scalar(&url, "SELECT COUNT(*) FROM _sqlx_migrations WHERE success").await,
        files
    );
    // Migrating is all it did: no tenant, no admin, no keys.
    for (name, (_, rows)) in tables(&export(&url).await) {
        assert!(rows.is_empty(), "migrate wrote rows into {name}");
    }
    // Again: nothing to do.
    accessd_ok(&["migrate", "--database-url", &url]).await;
    assert_eq!(
        scalar(&url, "SELECT COUNT(*) FROM _sqlx_migrations").await,
        files
    );
}

#[tokio::test]
async fn export_refuses_a_database_that_is_not_migrated_and_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(dir.path()).await;
    if backend() == Backend::Sqlite {
        // No file at all: refused, and none is made.
        let err = accessd_refused(&["export", "--database-url", &url]).await;
        assert!(err.contains("there is no SQLite database at"), "{err}");
        assert!(
            !dir.path().join("accessd.db").exists(),
            "export made a file"
        );
        // An empty file is a SQLite database without tables.
        std::fs::write(dir.path().join("accessd.db"), b"").expect("empty file");
    }
    let err = accessd_refused(&["export", "--database-url", &url]).await;
    assert!(
        err.contains("is not migrated") && err.contains("run `accessd migrate` first"),
        "{err}"
    );
    assert_eq!(table_count(&url).await, 0, "export migrated the database");
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_accessd_is_refused_by_serve_migrate_and_export() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(dir.path()).await;
    accessd_ok(&["migrate", "--database-url", &url]).await;
    let checksum = match backend() {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    execute(
        &url,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from the future', TRUE, {checksum}, 0)"
        ),
    )
    .await;

    // `accessd()` fails the test if serve starts and keeps running.
    let err = accessd_refused(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--demo",
        "false",
    ])
    .await;
    assert!(
        err.contains("newer accessd") && err.contains("migration 9999"),
        "{err}"
    );
    for args in [
        ["migrate", "--database-url", &url],
        ["export", "--database-url", &url],
    ] {
        let err = accessd_refused(&args).await;
        assert!(err.contains("newer accessd"), "{args:?}: {err}");
    }
    // Nothing ran against it: no admin identity, no keys.
    assert_eq!(scalar(&url, "SELECT COUNT(*) FROM identities").await, 0);
    assert_eq!(scalar(&url, "SELECT COUNT(*) FROM signing_keys").await, 0);
    assert_eq!(
        scalar(&url, "SELECT COUNT(*) FROM _sqlx_migrations").await,
        migration_files(backend()) + 1
    );
}

/// A fresh PostgreSQL schema for a test about PostgreSQL itself (such tests are
/// ignored in the SQLite pass and run in the PostgreSQL one); without
/// `TEST_DATABASE_URL` a failure, never a pass.
async fn postgres_for(test: &str) -> String {
    assert!(
        std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()),
        "{test} needs PostgreSQL: set TEST_DATABASE_URL"
    );
    fresh_postgres_schema().await
}

/// `export` promises one consistent snapshot. PostgreSQL's default (READ COMMITTED)
/// gives each statement its own, so a write committed while the export is between two
/// tables would show up in the second but not the first. Here the export is held at
/// `access_profile_entitlements` (after reading `access_profiles`) by a lock while a
/// new profile and its entitlement link commit: the export must hold neither or both,
/// and must import.
#[tokio::test]
#[ignore = "PostgreSQL only: runs in the postgres pass (ACCESSD_TEST_BACKEND=postgres, --include-ignored)"]
async fn an_export_of_a_postgresql_tenant_being_written_is_one_snapshot() {
    use sqlx::Connection;
    let url = postgres_for("an_export_of_a_postgresql_tenant_being_written_is_one_snapshot").await;
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut app = TestApp::start(test_config(&url), dir.clone(), Clock::system()).await;
    let f = app.fixture().await;
    let model = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Model"))
        .await;
    app.stop().await;
    drop(app);

    let mut writer = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query("BEGIN").execute(&mut writer).await.unwrap();
    sqlx::query("LOCK TABLE access_profile_entitlements IN ACCESS EXCLUSIVE MODE")
        .execute(&mut writer)
        .await
        .unwrap();
    let export_run = tokio::spawn(async move {
        let url = url;
        let out = accessd(&["export", "--database-url", &url]).await;
        (url, out)
    });
    // Wait until the export waits for the lock.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks \
             WHERE relation = 'access_profile_entitlements'::regclass AND NOT granted",
        )
        .fetch_one(&mut writer)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline && !export_run.is_finished(),
            "the export never waited for access_profile_entitlements"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let copy = new_id();
    sqlx::query(
        "INSERT INTO access_profiles (id, name, description, owner_id, source_id, enabled, \
         requestable, doc, created, modified) SELECT $1, name || ' copy', description, \
         owner_id, source_id, enabled, requestable, doc, created, modified \
         FROM access_profiles WHERE id = $2",
    )
    .bind(&copy)
    .bind(id(&model))
    .execute(&mut writer)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO access_profile_entitlements (access_profile_id, entitlement_id, position) \
         SELECT $1, entitlement_id, position FROM access_profile_entitlements \
         WHERE access_profile_id = $2",
    )
    .bind(&copy)
    .bind(id(&model))
    .execute(&mut writer)
    .await
    .unwrap();
    sqlx::query("COMMIT").execute(&mut writer).await.unwrap();

    let (url, out) = export_run.await.expect("export task");
    assert!(out.status.success(), "export: {}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("export JSON");
    let t = tables(&doc);
    let has =
        |table: &str, column: &str, value: &str| t[table].1.iter().any(|r| r[column] == value);
    assert_eq!(
        has("access_profiles", "id", &copy),
        has("access_profile_entitlements", "access_profile_id", &copy),
        "the export holds half of a transaction"
    );
    assert!(has("access_profiles", "id", &id(&model)));
    let target = format!("sqlite://{}", dir.path().join("copy.db").display());
    import(dir.path(), &doc, &target).await;
    // The write is there for the next export.
    let again = tables(&export(&url).await);
    assert!(again["access_profile_entitlements"]
        .1
        .iter()
        .any(|r| r["access_profile_id"] == copy.as_str()));
}
