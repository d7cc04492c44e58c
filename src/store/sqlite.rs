//! The SQLite store: the embedded default. WAL mode, foreign keys on, `synchronous=FULL`
//! so a committed write survives a crash; write transactions start `IMMEDIATE` so two
//! writers queue on the busy timeout instead of failing on lock upgrade.

pub type Db = sqlx::Sqlite;

// The same SQL module is compiled once per database, on purpose.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub use sql::SqlStore as SqliteStore;

pub(crate) mod dialect {
    use std::str::FromStr;
    use std::time::Duration;

    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    };

    use super::Db;
    use crate::store::{StoreError, StoreResult};

    pub const NAME: &str = "SQLite";

    /// One row, `COUNT(*)`, for a table named `$1`.
    pub const TABLE_EXISTS: &str =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1";

    /// Run after an import. SQLite plans well enough from its indexes alone.
    pub const AFTER_BULK_LOAD: Option<&str> = None;

    /// The two-argument maximum.
    pub const GREATEST: &str = "MAX";

    /// The tables (`name`), for export.
    pub const TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY name";

    /// A table's columns (`$1`) in order: name and declared type.
    pub const COLUMNS: &str = "SELECT name, type FROM pragma_table_info($1) ORDER BY cid";

    /// Appended to the task-claim query. SQLite has a single writer and the claim runs
    /// in a `BEGIN IMMEDIATE` transaction, so nothing else can claim at the same time.
    pub const SKIP_LOCKED: &str = "";

    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

    pub fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    /// Held while this process migrates: an exclusive lock on `PATH.migrate-lock` next to
    /// the database, so processes starting together on one new file migrate it one
    /// after the other (sqlx's SQLite migrator takes no lock of its own).
    pub async fn migration_lock(url: &str) -> StoreResult<Option<std::fs::File>> {
        let options = SqliteConnectOptions::from_str(url)?;
        let path = options.get_filename();
        if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
            return Ok(None);
        }
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".migrate-lock");
        let file = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|locked| locked)
        .map_err(|e| StoreError::Config(format!("locking the database for migration: {e}")))?;
        Ok(Some(file))
    }

    /// Connects; `create` makes a missing database file (what `serve` and `migrate`
    /// do), else a missing file is an error rather than a new empty database.
    pub async fn connect(url: &str, create: bool) -> StoreResult<SqlitePool> {
        let options = SqliteConnectOptions::from_str(url)?;
        if !create && !options.get_filename().exists() {
            return Err(StoreError::Config(format!(
                "there is no SQLite database at {}",
                options.get_filename().display()
            )));
        }
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        Ok(SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?)
    }

    /// A write transaction: `BEGIN IMMEDIATE` takes the database's one write lock up
    /// front, so a usage check and the delete it guards are never interleaved with
    /// another write (CONTRACT §2).
    pub async fn begin_write(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Db>> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A transaction whose reads all see one snapshot (`accessd export`): a deferred
    /// transaction reads the database as of its first read.
    pub async fn begin_snapshot(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Db>> {
        Ok(pool.begin().await?)
    }

    /// The transaction a task claim runs in.
    pub async fn begin_claim(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Db>> {
        begin_write(pool).await
    }
}
