//! Configuration: every setting is a flag, an `ACCESSD_*` environment variable and a
//! key of the TOML configuration file ([`mod@file`]), with defaults that run the embedded
//! single-machine setup. Precedence: defaults < file < environment < flags. Secrets
//! (the admin client secret, the database URL's password) are redacted wherever the
//! configuration is printed: the `Debug` impls here and `serve --print-config`.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::HeaderValue;
use clap::{ArgAction, Args};

pub mod file;

/// The listen address of `serve` when none is configured.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The base URL of a server on [`DEFAULT_ADDR`], where `accessd admin` calls by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

#[derive(Args, Clone)]
pub struct DbArgs {
    /// Database URL: `sqlite://PATH` (a relative path is relative to the working
    /// directory) or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (the database
    /// must exist; add `?options=-c%20search_path%3DSCHEMA` to use a schema other than
    /// `public`). `serve`, `migrate`, `import`, `client create` and `rotate-key` create
    /// and migrate it; `export` only reads an existing one.
    #[arg(
        long,
        env = "ACCESSD_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://accessd.db"
    )]
    pub database_url: String,

    /// A TOML configuration file: its keys are the long flag names of `accessd serve`
    /// (`database-url = "sqlite://accessd.db"`); the environment and flags override it.
    #[arg(long, env = "ACCESSD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The database URL with its password redacted (atuin's `DbSettings`): a `Debug` print
/// of the configuration may reach a log.
impl std::fmt::Debug for DbArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbArgs")
            .field("database_url", &file::redact_url(&self.database_url))
            .field("config", &self.config)
            .finish()
    }
}

/// The durable task runner (CONTRACT §4).
#[derive(Args, Clone, Debug)]
pub struct TaskArgs {
    /// Run tasks in this instance. Off for an instance that only serves requests
    /// while others (sharing its database) run the tasks.
    #[arg(long, env = "ACCESSD_TASK_RUNNER", default_value_t = true, action = ArgAction::Set)]
    pub task_runner: bool,

    /// Serve the API but run no tasks (the same as `--task-runner false`): for one of
    /// several instances on a database, where another runs the tasks. A bulk delete
    /// submitted here waits, queued, until an instance with a runner takes it.
    #[arg(long)]
    pub no_task_runner: bool,

    /// How long a runner's claim on a task lasts without progress; a task whose runner
    /// died is taken over after this many seconds.
    #[arg(long, env = "ACCESSD_TASK_CLAIM_TTL_SECS", default_value_t = 30)]
    pub task_claim_ttl_secs: u64,

    /// Finished tasks are kept (and listed) this many days, then deleted.
    #[arg(long, env = "ACCESSD_TASK_RETENTION_DAYS", default_value_t = 90)]
    pub task_retention_days: u32,

    /// How often an idle runner looks for tasks enqueued by other instances or left
    /// by dead ones, in milliseconds (its own instance wakes it at once).
    #[arg(long, env = "ACCESSD_TASK_POLL_MS", default_value_t = 1000)]
    pub task_poll_ms: u64,

    /// A pause before each task step, in milliseconds. Only for crash and race
    /// testing, where a task must still be running when the process is killed.
    #[arg(
        long,
        env = "ACCESSD_TASK_STEP_DELAY_MS",
        default_value_t = 0,
        hide = true
    )]
    pub task_step_delay_ms: u64,
}

impl TaskArgs {
    /// Whether this instance runs tasks: `--task-runner` and not `--no-task-runner`.
    pub fn runs_tasks(&self) -> bool {
        self.task_runner && !self.no_task_runner
    }
}

impl Default for TaskArgs {
    fn default() -> Self {
        Self {
            task_runner: true,
            no_task_runner: false,
            task_claim_ttl_secs: 30,
            task_retention_days: 90,
            task_poll_ms: 1000,
            task_step_delay_ms: 0,
        }
    }
}

/// Where rate limits are counted.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitStore {
    Auto,
    Memory,
    Database,
}

/// The gateway: rate limits (CONTRACT §8) and the limits that protect the server from
/// oversized or slow clients.
#[derive(Args, Clone, Debug)]
pub struct GatewayArgs {
    /// Requests a client may send per window, counted per route family (v3, beta, v1)
    /// and for the token endpoint; 0 switches rate limiting off.
    #[arg(long, env = "ACCESSD_RATE_LIMIT_REQUESTS", default_value_t = 100)]
    pub rate_limit_requests: u32,

    /// Where rate limits are counted: `memory` (this instance alone), `database` (shared
    /// by every instance on the database), or `auto`: `database` on PostgreSQL, `memory`
    /// on SQLite.
    #[arg(long, env = "ACCESSD_RATE_LIMIT_STORE", value_enum, default_value_t = RateLimitStore::Auto)]
    pub rate_limit_store: RateLimitStore,

    /// The rate-limit window in seconds.
    #[arg(long, env = "ACCESSD_RATE_LIMIT_WINDOW_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_window_secs: u64,

    /// Failed authentications at the token endpoint allowed per client id and per peer
    /// address at once; then one more per window / this many, and every attempt with
    /// that client id or from that address is a 429 until then. 0 switches it off.
    #[arg(long, env = "ACCESSD_AUTH_FAILURE_LIMIT", default_value_t = 10)]
    pub auth_failure_limit: u32,

    /// The window of `--auth-failure-limit`, in seconds.
    #[arg(long, env = "ACCESSD_AUTH_FAILURE_WINDOW_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub auth_failure_window_secs: u64,

    /// Most requests served at once; more are refused at once with 503, `Retry-After`
    /// and the ISC body, so memory and answer times stay bounded under a burst
    /// (`/health` is not counted). 0 = no limit.
    #[arg(long, env = "ACCESSD_MAX_REQUESTS_IN_FLIGHT", default_value_t = 128)]
    pub max_requests_in_flight: usize,

    /// Most connections open at once; at the cap, a new connection closes the one idle
    /// longest (kept alive, or still sending its request head), or is answered 503
    /// when every open one is serving a request. 0 = from the descriptor limit
    /// (RLIMIT_NOFILE, whose soft limit is raised to the hard one at start), less room
    /// for the database's files and connections.
    #[arg(long, env = "ACCESSD_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,

    /// Longest time a request may take, from its headers to its answer (including a
    /// slow body); longer → 408. 0 = no limit.
    #[arg(long, env = "ACCESSD_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// A connection that has not sent a complete request head this many seconds after
    /// it was accepted (or after the previous answer, when kept alive) is closed.
    /// 0 = no limit.
    #[arg(long, env = "ACCESSD_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Largest request head (request line and headers) in bytes; larger → 431. At least 1024.
    #[arg(long, env = "ACCESSD_MAX_HEADER_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_header_bytes: u64,

    /// Most headers a request may carry; more → 431.
    #[arg(long, env = "ACCESSD_MAX_HEADERS", default_value_t = 100)]
    pub max_headers: usize,
}

impl Default for GatewayArgs {
    fn default() -> Self {
        Self {
            rate_limit_requests: 100,
            rate_limit_store: RateLimitStore::Auto,
            rate_limit_window_secs: 10,
            auth_failure_limit: 10,
            auth_failure_window_secs: 60,
            max_requests_in_flight: 128,
            max_connections: 0,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
        }
    }
}

impl GatewayArgs {
    /// The smallest head limit accepted: a request line and a bearer token fit.
    pub const MIN_HEADER_BYTES: u64 = 1024;

    /// Checks what clap checks for values that did not come through clap (tests, embedding).
    pub fn validate(&self) -> Result<(), String> {
        if self.rate_limit_window_secs == 0 {
            return Err("the rate-limit window must be at least 1 second".into());
        }
        if self.auth_failure_window_secs == 0 {
            return Err("the authentication-failure window must be at least 1 second".into());
        }
        if self.max_header_bytes < Self::MIN_HEADER_BYTES {
            return Err(format!(
                "the header limit must be at least {} bytes",
                Self::MIN_HEADER_BYTES
            ));
        }
        if self.max_headers == 0 {
            return Err("at least one header must be allowed".into());
        }
        Ok(())
    }
}

#[derive(Args, Clone)]
pub struct Config {
    /// Listen address, `host:port` (port 0 picks a free port).
    #[arg(long, env = "ACCESSD_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub db: DbArgs,

    #[command(flatten)]
    pub tasks: TaskArgs,

    #[command(flatten)]
    pub gateway: GatewayArgs,

    /// Load the demo tenant into an empty database (`ACCESSD_DEMO=false` or `--no-demo`
    /// to start empty).
    #[arg(long, env = "ACCESSD_DEMO", default_value_t = true, action = ArgAction::Set,
          hide = true)]
    pub demo: bool,

    /// Start with an empty tenant instead of the demo one (when the database is new).
    #[arg(long)]
    pub no_demo: bool,

    /// Load this fixture (YAML, or JSON by a `.json` name; docs/fixtures.md) into a new
    /// database instead of the demo. A database that holds a tenant already is left
    /// as it is; a bad file fails the start.
    #[arg(long, env = "ACCESSD_FIXTURE", value_name = "FILE")]
    pub fixture: Option<std::path::PathBuf>,

    /// Client id of an ORG_ADMIN client to create or re-key at start (with the secret).
    #[arg(long, env = "ACCESSD_ADMIN_CLIENT_ID")]
    pub admin_client_id: Option<String>,

    /// Secret of that ORG_ADMIN client.
    #[arg(long, env = "ACCESSD_ADMIN_CLIENT_SECRET", hide_env_values = true)]
    pub admin_client_secret: Option<String>,

    /// Lifetime of access tokens, in seconds (`expires_in`).
    #[arg(long, env = "ACCESSD_TOKEN_TTL_SECS", default_value_t = 749)]
    pub token_ttl_secs: u64,

    /// Tenant (org) name put in tokens.
    #[arg(long, env = "ACCESSD_ORG", default_value = "demo")]
    pub org: String,

    /// Pod name put in tokens.
    #[arg(long, env = "ACCESSD_POD", default_value = "local")]
    pub pod: String,

    /// Largest request body accepted, in bytes (larger → 413).
    #[arg(long, env = "ACCESSD_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// How many of the last requests the admin API's journal keeps (0 = none).
    #[arg(long, env = "ACCESSD_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,

    /// Record each request's body in the admin API's journal (JSON as JSON, anything
    /// else as text; at most 64 KiB each; secrets such as `client_secret` and
    /// password-like fields replaced). Off: bodies are not read by the journal at all.
    #[arg(long, env = "ACCESSD_JOURNAL_BODIES")]
    pub journal_bodies: bool,

    /// Log as JSON lines (the start-up banner too) instead of human-readable text.
    #[arg(long, env = "ACCESSD_LOG_JSON")]
    pub log_json: bool,

    /// Answer cross-origin requests from this browser origin (CORS), e.g.
    /// `http://localhost:3000`; repeat the flag or separate origins with commas. Off
    /// when none is given.
    #[arg(long, env = "ACCESSD_CORS_ORIGIN", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origin: Vec<HeaderValue>,
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after.
fn parse_origin(text: &str) -> Result<HeaderValue, String> {
    let text = text.trim();
    let url = url::Url::parse(text).map_err(|e| format!("{text} is not an origin: {e}"))?;
    let origin = url.origin().ascii_serialization();
    if origin != text.trim_end_matches('/') {
        return Err(format!(
            "{text} is not an origin (scheme://host[:port], without a path); {origin}?"
        ));
    }
    HeaderValue::from_str(&origin).map_err(|e| format!("{text}: {e}"))
}

/// The weakest configured client secret accepted: this many characters…
pub const MIN_SECRET_CHARS: usize = 16;
/// …of which this many different ones (refuses `aaaa…` and `abab…`).
pub const MIN_SECRET_DISTINCT_CHARS: usize = 8;

/// Why `secret` is too weak to configure for a client, if it is: a secret that could be
/// guessed turns the token endpoint into the way in.
pub fn secret_weakness(secret: &str) -> Option<String> {
    let chars = secret.chars().count();
    if chars < MIN_SECRET_CHARS {
        return Some(format!(
            "it has {chars} characters; at least {MIN_SECRET_CHARS} are required"
        ));
    }
    let distinct = secret
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len();
    if distinct < MIN_SECRET_DISTINCT_CHARS {
        return Some(format!(
            "it has {distinct} different characters; at least {MIN_SECRET_DISTINCT_CHARS} are required"
        ));
    }
    None
}

/// Every field but the admin client secret, redacted, and the database URL's password.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("db", &self.db)
            .field("tasks", &self.tasks)
            .field("gateway", &self.gateway)
            .field("demo", &self.demo)
            .field("no_demo", &self.no_demo)
            .field("fixture", &self.fixture)
            .field("admin_client_id", &self.admin_client_id)
            .field(
                "admin_client_secret",
                &self.admin_client_secret.as_ref().map(|_| file::REDACTED),
            )
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("org", &self.org)
            .field("pod", &self.pod)
            .field("body_limit", &self.body_limit)
            .field("journal_size", &self.journal_size)
            .field("journal_bodies", &self.journal_bodies)
            .field("log_json", &self.log_json)
            .field("cors_origin", &self.cors_origin)
            .finish()
    }
}

impl Config {
    /// Refuses an admin client id without a secret (or the reverse) and a configured
    /// admin client secret below the minimum strength, saying why and how to make a
    /// good one.
    pub fn validate(&self) -> Result<(), String> {
        self.gateway.validate()?;
        // Checked here rather than by clap, which counts a value from the file as no
        // value at all.
        match (&self.admin_client_id, &self.admin_client_secret) {
            (Some(_), None) => {
                return Err("ACCESSD_ADMIN_CLIENT_ID (--admin-client-id) needs \
                     ACCESSD_ADMIN_CLIENT_SECRET (--admin-client-secret) too"
                    .into())
            }
            (None, Some(_)) => {
                return Err("ACCESSD_ADMIN_CLIENT_SECRET (--admin-client-secret) needs \
                     ACCESSD_ADMIN_CLIENT_ID (--admin-client-id) too"
                    .into())
            }
            _ => {}
        }
        if let Some(why) = self
            .admin_client_secret
            .as_deref()
            .and_then(secret_weakness)
        {
            return Err(format!(
                "ACCESSD_ADMIN_CLIENT_SECRET (--admin-client-secret) is too weak: {why} \
                 (e.g. `openssl rand -hex 24`)"
            ));
        }
        Ok(())
    }

    /// A config for tests and embedding: port 0, the given database, no demo data.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: DbArgs {
                database_url: database_url.to_string(),
                config: None,
            },
            tasks: TaskArgs::default(),
            gateway: GatewayArgs::default(),
            demo: false,
            no_demo: false,
            fixture: None,
            admin_client_id: None,
            admin_client_secret: None,
            token_ttl_secs: 749,
            org: "demo".into(),
            pod: "local".into(),
            body_limit: 1024 * 1024,
            journal_size: 1000,
            journal_bodies: false,
            log_json: false,
            cors_origin: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_secret_needs_16_characters_of_which_8_different() {
        assert_eq!(
            secret_weakness("bench-secret").as_deref(),
            Some("it has 12 characters; at least 16 are required")
        );
        assert_eq!(
            secret_weakness("abababababababababab").as_deref(),
            Some("it has 2 different characters; at least 8 are required")
        );
        assert_eq!(
            secret_weakness("process-test-secret-0123456789abcdef"),
            None
        );
        assert_eq!(secret_weakness(&"0123456789abcdef".repeat(3)), None);
        let mut config = Config::for_database("sqlite://x.db");
        config.admin_client_id = Some("ops".into());
        config.admin_client_secret = Some("secret".into());
        let error = config.validate().unwrap_err();
        assert!(error.contains("ACCESSD_ADMIN_CLIENT_SECRET"), "{error}");
        assert!(error.contains("too weak: it has 6 characters"), "{error}");
        config.admin_client_secret = Some("a-much-longer-ops-secret-42".into());
        assert_eq!(config.validate(), Ok(()));
        config.admin_client_id = None;
        let error = config.validate().unwrap_err();
        assert!(error.contains("needs ACCESSD_ADMIN_CLIENT_ID"), "{error}");
    }

    #[test]
    fn the_admin_client_calls_the_default_address_by_default() {
        assert_eq!(DEFAULT_URL, format!("http://{DEFAULT_ADDR}"));
    }

    #[test]
    fn debug_output_names_every_field() {
        let mut config = Config::for_database("postgres://accessd:db-pass-0451@db/accessd");
        config.admin_client_secret = Some("admin-secret-0451-abcdef".into());
        let shown = format!("{config:?}");
        // Every field of the struct, read from its source, so a field added later
        // without its line in the Debug impl fails here.
        let source = include_str!("config.rs");
        let body = source
            .split("pub struct Config {")
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .unwrap();
        let fields: Vec<&str> = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub "))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert!(fields.len() >= 17, "{fields:?}");
        for field in fields {
            assert!(shown.contains(&format!("{field}: ")), "{field}: {shown}");
        }
        assert!(!shown.contains("admin-secret-0451"), "{shown}");
        assert!(!shown.contains("db-pass-0451"), "{shown}");
    }

    #[test]
    fn debug_output_redacts_the_secret_and_the_database_password() {
        let mut config = Config::for_database("postgres://accessd:db-pass-0451@db/accessd");
        config.admin_client_id = Some("ops".into());
        config.admin_client_secret = Some("admin-secret-0451-abcdef".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("admin-secret-0451"), "{shown}");
        assert!(!shown.contains("db-pass-0451"), "{shown}");
        assert!(
            shown.contains("[redacted]") && shown.contains("ops"),
            "{shown}"
        );
    }
}
