//! `TestApp`: the real server on 127.0.0.1:0 with a fresh database (SQLite in a temp
//! dir, or a fresh PostgreSQL schema with `ACCESSD_TEST_BACKEND=postgres`), an ORG_ADMIN
//! token, and typed helpers. Fixtures that have no API (identities,
//! entitlements) are seeded through the store; everything asserted goes over HTTP.

use std::sync::Arc;

use accessd::domain::model::*;
use accessd::domain::{new_id, Clock};
use accessd::store::{Backend, Store};
use accessd::{App, Config};
use serde_json::{json, Value};

use crate::conformance::{assert_conforms, observe, Recorder};

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub clock: Clock,
    pub store: Arc<dyn Store>,
    pub database_url: String,
    app: Option<App>,
    pub dir: Arc<tempfile::TempDir>,
    admin: (String, String),
    /// What this server's responses broke of the spec (`crate::conformance`); checked
    /// when the `TestApp` is dropped.
    conformance: Arc<Recorder>,
}

/// A test fails if any response it received was not valid against the spec: the
/// message names the operation, status, JSON pointer and error of each.
impl Drop for TestApp {
    fn drop(&mut self) {
        assert_conforms(&self.conformance);
    }
}

/// The configuration of test servers: the defaults, except a rate limit so high that
/// no test meets it (they send hundreds of requests with one token on a running
/// clock); the limiter still counts every request. `rate_limit.rs` sets its own.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::for_database(database_url);
    config.gateway.rate_limit_requests = 1_000_000;
    config
}

/// The database the suite runs on, from `ACCESSD_TEST_BACKEND`: `sqlite` (the default)
/// or `postgres`, which needs `TEST_DATABASE_URL` and never falls back to SQLite.
pub fn backend() -> Backend {
    match std::env::var("ACCESSD_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("ACCESSD_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// A new, empty database for one test: a SQLite file in `dir`, or a new schema in the
/// PostgreSQL database of `TEST_DATABASE_URL` (the URL selects it with `search_path`).
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}", dir.join("accessd.db").display()),
        Backend::Postgres => fresh_postgres_schema().await,
    }
}

/// Creates schema `accessd_test_<pid>_<n>` and returns a URL whose connections use it.
/// Schemas left by earlier runs (whose process is gone) are dropped first, once.
pub async fn fresh_postgres_schema() -> String {
    use sqlx::Connection;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let base = std::env::var("TEST_DATABASE_URL").expect(
        "ACCESSD_TEST_BACKEND=postgres needs TEST_DATABASE_URL, e.g. \
         postgres://postgres@127.0.0.1:5432/postgres",
    );
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL does not answer: {e}"));
    SWEPT
        .get_or_init(|| async {
            let stale: Vec<String> = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'accessd_test_%'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("list test schemas");
            for schema in stale {
                let pid = schema.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
                let alive =
                    pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
                if !alive {
                    // Another sweeping process may drop it first.
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                        .execute(&mut conn)
                        .await;
                }
            }
        })
        .await;
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let schema = format!("accessd_test_{}_{n}", std::process::id());
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    accessd::store::postgres::schema_url(&base, &schema)
}

pub struct Fixture {
    pub owner: Identity,
    pub source: Source,
    pub entitlements: Vec<String>,
    pub other_source: Source,
    pub other_entitlements: Vec<String>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_with_clock(Clock::system(), configure).await
    }

    /// A server on this clock (e.g. `Clock::frozen()` where time passing would change
    /// an outcome).
    pub async fn spawn_with_clock(clock: Clock, configure: impl FnOnce(&mut Config)) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let url = fresh_database_url(dir.path()).await;
        let mut config = test_config(&url);
        configure(&mut config);
        Self::start(config, dir, clock).await
    }

    pub async fn start(config: Config, dir: Arc<tempfile::TempDir>, clock: Clock) -> Self {
        let database_url = config.db.database_url.clone();
        let conformance = Arc::new(Recorder::default());
        let app = App::build_with(config, clock.clone(), observe(conformance.clone()))
            .await
            .expect("server starts");
        let base = format!("http://{}", app.addr());
        let http = reqwest::Client::new();
        let store = app.state().store.clone();
        let secret = match (
            &app.admin.client_secret,
            &app.state().config.admin_client_secret,
        ) {
            (Some(printed), _) => printed.clone(),
            (None, Some(configured)) => configured.clone(),
            (None, None) => panic!("no admin secret"),
        };
        let mut me = TestApp {
            base,
            http,
            token: String::new(),
            clock,
            store,
            database_url,
            app: Some(app),
            dir,
            admin: (String::new(), secret),
            conformance,
        };
        me.admin.0 = me
            .app
            .as_ref()
            .map(|a| a.admin.client_id.clone())
            .unwrap_or_default();
        me.renew_token().await;
        me
    }

    /// The id and secret of the ORG_ADMIN client the harness's token belongs to.
    pub fn admin_client(&self) -> (String, String) {
        self.admin.clone()
    }

    /// A fresh admin token (after moving the clock past the old one's expiry).
    pub async fn renew_token(&mut self) {
        self.token = self.fetch_token(&self.admin.0, &self.admin.1).await;
    }

    /// Stops the server (the database stays); `restart` starts a new one on it.
    pub async fn stop(&mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }

    /// Stops this server and starts another on the same database (a restart).
    pub async fn restart(mut self) -> Self {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        let config = test_config(&self.database_url);
        Self::start(config, self.dir.clone(), self.clock.clone()).await
    }

    /// Runs every unfinished task to its end (STYLE: `drain_tasks()` instead of sleeping).
    pub async fn drain_tasks(&self) {
        self.app
            .as_ref()
            .expect("running app")
            .drain_tasks()
            .await
            .expect("tasks drain");
    }

    /// Stops this server and starts another on the same database with this config.
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut Config)) -> Self {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        let mut config = test_config(&self.database_url);
        configure(&mut config);
        Self::start(config, self.dir.clone(), self.clock.clone()).await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    /// The JSON body of a 200 GET, asserting the status.
    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn fetch_token(&self, client_id: &str, secret: &str) -> String {
        let resp = self
            .http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(resp.status(), 200, "token endpoint");
        let body: Value = resp.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A token for a new identity with these user levels and a client with these scopes.
    pub async fn token_for(&self, levels: &[&str], scopes: &[&str]) -> (String, Identity) {
        let identity = self.seed_identity(levels).await;
        let (id, secret) = accessd::auth::clients::provision_client(
            self.store.as_ref(),
            None,
            None,
            "test",
            Some(identity.id.clone()),
            scopes.iter().map(|s| s.to_string()).collect(),
            self.clock.now(),
        )
        .await
        .expect("client");
        (self.fetch_token(&id, &secret).await, identity)
    }

    pub async fn seed_identity(&self, levels: &[&str]) -> Identity {
        let now = self.clock.now();
        // A unique display name and alias per test identity: an id's random end (its
        // start is the time it was made).
        let id = new_id();
        let tag = &id[id.len() - 12..];
        let identity = Identity::new_active(
            "Person",
            &tag[6..],
            &format!("person.{tag}"),
            Some(format!("{tag}@example.com")),
            levels,
            now,
        );
        self.store
            .insert_identity(&identity)
            .await
            .expect("identity");
        identity
    }

    pub async fn seed_source(
        &self,
        owner: &Identity,
        name: &str,
        entitlements: usize,
    ) -> (Source, Vec<String>) {
        self.seed_source_managed_by(owner, name, entitlements, None)
            .await
    }

    /// A governance group of `members` and a source it manages, with one entitlement:
    /// what those members administer as sub-admins. Returns (source, group id,
    /// entitlement id).
    pub async fn seed_subadmin_source(
        &self,
        owner: &Identity,
        name: &str,
        members: &[String],
    ) -> (Source, String, String) {
        let now = self.clock.now();
        let group = self
            .store
            .insert_governance_group(
                &NewGovernanceGroup {
                    name: format!("Admins of {name} {}", &new_id()[26..]),
                    description: None,
                    owner_id: Some(owner.id.clone()),
                },
                now,
            )
            .await
            .expect("group");
        self.store
            .add_group_members(&group.id, members, now)
            .await
            .expect("members");
        let (source, mut ents) = self
            .seed_source_managed_by(owner, name, 1, Some(&group.id))
            .await;
        (source, group.id, ents.remove(0))
    }

    pub async fn seed_source_managed_by(
        &self,
        owner: &Identity,
        name: &str,
        entitlements: usize,
        workgroup: Option<&str>,
    ) -> (Source, Vec<String>) {
        let source = self
            .store
            .insert_source(
                &NewSource {
                    name: name.into(),
                    description: None,
                    owner_id: owner.id.clone(),
                    management_workgroup_id: workgroup.map(str::to_string),
                    source_type: Some("Delimited File".into()),
                    connector: "delimited-file".into(),
                    connector_name: None,
                    connection_type: None,
                    authoritative: false,
                    features: vec![],
                    doc: Default::default(),
                },
                self.clock.now(),
            )
            .await
            .expect("source");
        let mut ids = Vec::new();
        for i in 0..entitlements {
            let e = Entitlement {
                id: new_id(),
                source: NamedRef {
                    id: source.id.clone(),
                    name: source.name.clone(),
                },
                name: format!("{name} group {i}"),
                attribute: "memberOf".into(),
                value: format!("CN={name}-{i}"),
                entitlement_type: "group".into(),
                description: None,
                privileged: false,
                requestable: true,
                owner: None,
                created: self.clock.now(),
                modified: self.clock.now(),
            };
            self.store
                .insert_entitlement(&e)
                .await
                .expect("entitlement");
            ids.push(e.id);
        }
        (source, ids)
    }

    /// An owner and two sources with three entitlements each.
    pub async fn fixture(&self) -> Fixture {
        let owner = self.seed_identity(&[]).await;
        let (source, entitlements) = self.seed_source(&owner, "HR", 3).await;
        let (other_source, other_entitlements) = self.seed_source(&owner, "CRM", 3).await;
        Fixture {
            owner,
            source,
            entitlements,
            other_source,
            other_entitlements,
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, ops: &Value) -> reqwest::Response {
        self.request(reqwest::Method::PATCH, path)
            .header("Content-Type", "application/json-patch+json")
            .body(ops.to_string())
            .send()
            .await
            .expect("request")
    }

    /// Creates an access profile through `prefix` (e.g. `/v3/access-profiles`), asserting 201.
    pub async fn create_access_profile(&self, prefix: &str, body: &Value) -> Value {
        let resp = self.post(prefix, body).await;
        let status = resp.status();
        let json: Value = resp.json().await.expect("json");
        assert_eq!(status, 201, "create failed: {json}");
        json
    }
}

/// A valid access-profile body for the fixture.
pub fn ap_body(f: &Fixture, name: &str) -> Value {
    json!({
        "name": name,
        "description": format!("{name} description"),
        "owner": {"type": "IDENTITY", "id": f.owner.id},
        "source": {"type": "SOURCE", "id": f.source.id},
        "entitlements": [{"type": "ENTITLEMENT", "id": f.entitlements[0]}],
        "enabled": true,
        "requestable": true,
    })
}

/// Asserts an ISC error body with this status and detail code, returning its text.
pub async fn assert_isc_error(resp: reqwest::Response, status: u16, detail_code: &str) -> String {
    assert_eq!(resp.status().as_u16(), status, "status");
    let header = resp
        .headers()
        .get("SLPT-Request-ID")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .expect("SLPT-Request-ID header");
    let body: Value = resp.json().await.expect("an ISC JSON error body");
    assert_eq!(body["detailCode"], detail_code, "{body}");
    let tracking = body["trackingId"].as_str().expect("trackingId");
    assert_eq!(tracking.len(), 32);
    assert!(tracking
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(tracking, header, "trackingId matches SLPT-Request-ID");
    assert!(body["causes"].is_array());
    body["messages"][0]["text"]
        .as_str()
        .expect("message text")
        .to_string()
}

/// Access profiles in every family: each test over them runs the same rules everywhere.
pub const FAMILIES: [&str; 6] = [
    "/v3/access-profiles",
    "/beta/access-profiles",
    "/access-profiles/v1",
    "/v2024/access-profiles",
    "/v2025/access-profiles",
    "/v2026/access-profiles",
];

pub const ROLE_FAMILIES: [&str; 6] = [
    "/v3/roles",
    "/beta/roles",
    "/roles/v1",
    "/v2024/roles",
    "/v2025/roles",
    "/v2026/roles",
];

/// A valid role body: an owner and access profiles, in this order.
pub fn role_body(name: &str, owner_id: &str, ap_ids: &[&str]) -> Value {
    json!({
        "name": name,
        "description": format!("{name} description"),
        "owner": {"type": "IDENTITY", "id": owner_id},
        "accessProfiles": ap_ids.iter()
            .map(|id| json!({"type": "ACCESS_PROFILE", "id": id}))
            .collect::<Vec<_>>(),
        "enabled": true,
        "requestable": true,
    })
}

impl TestApp {
    /// Creates a role through `prefix` (e.g. `/v3/roles`), asserting 201.
    pub async fn create_role(&self, prefix: &str, body: &Value) -> Value {
        let resp = self.post(prefix, body).await;
        let status = resp.status();
        let json: Value = resp.json().await.expect("json");
        assert_eq!(status, 201, "create role failed: {json}");
        json
    }
}

impl TestApp {
    /// An identity profile (no API: seeded through the store) owned by a new identity.
    pub async fn seed_identity_profile(&self, name: &str) -> IdentityProfile {
        let owner = self.seed_identity(&[]).await;
        self.store
            .insert_identity_profile(
                &NewIdentityProfile {
                    name: name.into(),
                    description: Some(format!("{name} description")),
                    owner_id: Some(owner.id),
                    authoritative_source_id: None,
                    priority: 10,
                },
                self.clock.now(),
            )
            .await
            .expect("identity profile")
    }
}

impl TestApp {
    /// A token for an API client: no identity behind it (authority `API`), these scopes.
    pub async fn api_client_token(&self, scopes: &[&str]) -> String {
        let (id, secret) = accessd::auth::clients::provision_client(
            self.store.as_ref(),
            None,
            None,
            "api client",
            None,
            scopes.iter().map(|s| s.to_string()).collect(),
            self.clock.now(),
        )
        .await
        .expect("client");
        self.fetch_token(&id, &secret).await
    }
}
