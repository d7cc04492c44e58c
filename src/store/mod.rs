//! Persistence: the store traits the API and tasks talk to (one per concern, summed
//! in [`Store`]), the SQL that implements them once (`sql`), and the two databases it
//! runs on behind one seam (`db`; `sqlite`, `postgres`). SQL and dialect differences
//! live below this line and nowhere else.

pub mod db;
pub mod export;
pub mod fixture;
pub mod postgres;
mod sql;
pub mod sqlite;
mod traits;

pub use sql::{list_statements, Listed};

use chrono::{DateTime, Utc};

use crate::query::{Filter, Paging, Sort};

pub use traits::{
    AccessProfileStore, ControlStore, DirectoryStore, LifecycleStateStore, RoleStore, SegmentStore,
    SourceAppStore, TaskStore, TenantStore,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} '{id}' not found")]
    NotFound { kind: &'static str, id: String },
    /// A uniqueness rule refused a write: `kind`'s `field` already holds `value`.
    #[error("{kind} {field} '{value}' is taken")]
    Duplicate {
        kind: &'static str,
        field: &'static str,
        value: String,
    },
    /// A write named an object that does not exist (a foreign key refused it): in a
    /// race, or a `field` the caller's checks did not cover.
    #[error("a referenced {field} does not exist")]
    MissingReference { field: &'static str },
    /// An access profile cannot change source while source apps of its current
    /// source hold it; these apps (by name).
    #[error("held by source apps: {}", .0.join(", "))]
    HeldBySourceApps(Vec<String>),
    /// A delete refused because other objects refer to the `kind` named `name` (the
    /// database's references decided it; nothing changed).
    #[error("the {kind} '{name}' is in use")]
    InUse { kind: &'static str, name: String },
    /// The task has finished already.
    #[error("task '{0}' has finished")]
    TaskFinished(String),
    /// The object (a `kind`) exists but is outside the caller's confinement.
    #[error("the {kind} is outside the caller's sources")]
    OutsideScope { kind: &'static str },
    /// Some of the named objects (`kind`s, by id) are outside the caller's confinement.
    #[error("{kind} outside the caller's sources: {}", .ids.join(", "))]
    OutsideScopeIds {
        kind: &'static str,
        ids: Vec<String>,
    },
    /// A value the store refuses, with the reason for whoever sent it: a document that
    /// cannot be loaded (`accessd import`), a client whose user levels exclude each
    /// other, text holding U+0000 ([`db::refuse_nul`]).
    #[error("{0}")]
    Refused(String),
    /// The database's storage is full (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`,
    /// SQLSTATE 53100): the write was not saved and nothing of it remains. Reads go on,
    /// and writes succeed again as soon as space is freed.
    #[error("the database's storage is full: {0}")]
    StorageFull(Box<dyn std::error::Error + Send + Sync>),
    /// The database failed; a unique or foreign-key violation is a
    /// [`db::ConstraintViolation`] inside.
    #[error("database error: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// Stored data that does not parse (a bug or a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The store cannot be opened as configured.
    #[error("{0}")]
    Config(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A checked collection request (CONTRACT §5): the client's filter and order, both
/// already checked against the endpoint's allow-lists and naming fields by their API
/// names, and paging. The store renders them as SQL on the list's own columns.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// `None`: no `filters`.
    pub filter: Option<Filter>,
    /// The sort keys, most significant first; the store appends the rows' key.
    pub sort: Vec<Sort>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    pub kid: String,
    pub private_pem: String,
    pub public_pem: String,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ApiClient {
    pub client_id: String,
    pub secret_hash: String,
    pub name: String,
    /// `None` for an API client (authority `API`); else a personal access token.
    pub identity_id: Option<String>,
    pub scopes: Vec<String>,
    pub created: DateTime<Utc>,
}

/// A fault rule of the admin API as stored ([`ControlStore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRuleRow {
    pub id: String,
    /// The rule as the admin API took it, as JSON text.
    pub spec: String,
    /// Firings left of a rule with `times`; `None`: no limit.
    pub times_left: Option<i64>,
    /// Firings so far, by every instance.
    pub fired: i64,
}

/// The whole store: every concern's trait. What the API, the task runner and the CLI
/// hold, as `Arc<dyn Store>`; any type implementing all the traits is one.
pub trait Store:
    AccessProfileStore
    + RoleStore
    + SourceAppStore
    + LifecycleStateStore
    + SegmentStore
    + TaskStore
    + DirectoryStore
    + TenantStore
    + ControlStore
    + 'static
{
}

impl<T> Store for T where
    T: AccessProfileStore
        + RoleStore
        + SourceAppStore
        + LifecycleStateStore
        + SegmentStore
        + TaskStore
        + DirectoryStore
        + TenantStore
        + ControlStore
        + 'static
{
}

/// Restrictions on an access-profile list beyond the client's `filters`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileView {
    /// Only profiles in any of these segments (`for-segment-ids`); `None` = all.
    pub segments: Option<SegmentView>,
}

/// `for-segment-ids` and `include-unsegmented` of `listAccessProfiles` (parsed by the
/// domain's rules).
pub use crate::domain::segment::SegmentView;

/// Which source apps a list shows (docs/source-apps.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceAppView {
    /// Every app (`listAllSourceApp`).
    All,
    /// Apps open to access requests: enabled, with provisioning requests enabled.
    Available,
    /// Available apps holding at least one enabled, requestable access profile.
    Assigned,
}

/// Which tasks a task list shows (CONTRACT §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskView {
    /// Only tasks created at or after this (the retention period).
    pub since: DateTime<Utc>,
    pub status: TaskStatusView,
}

/// Which tasks by their completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatusView {
    /// Every task.
    All,
    /// Tasks with a completion status (beta's list).
    Completed,
    /// Tasks without one yet (pending tasks).
    Uncompleted,
}

/// What a delete task deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteTarget {
    AccessProfiles,
    Roles,
}

/// Opens the store named by a database URL (`sqlite://PATH` or `postgres://…`),
/// refusing a database migrated by a newer accessd and, when `migrate`, applying this
/// build's migrations.
pub async fn open_with(
    database_url: &str,
    migrate: bool,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    match Backend::of(database_url)? {
        Backend::Sqlite => Ok(std::sync::Arc::new(
            sqlite::open(database_url, migrate).await?,
        )),
        Backend::Postgres => Ok(std::sync::Arc::new(
            postgres::open(database_url, migrate).await?,
        )),
    }
}

/// A database URL without its password, for messages.
pub fn display_url(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => database_url.to_string(),
    }
}

/// Opens and migrates the store named by a database URL (what `serve` does).
pub async fn open(database_url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    open_with(database_url, true).await
}

/// The database behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(database_url: &str) -> StoreResult<Self> {
        if database_url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL '{}': accessd supports sqlite://PATH and postgres://…",
                database_url.split('@').next_back().unwrap_or("")
            )))
        }
    }
}
