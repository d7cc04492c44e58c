//! The PostgreSQL store, for several accessd instances on one database. The SQL is the
//! same module as SQLite's (`sql/`); this file holds what differs.
//!
//! Writes that read-then-write the access-profile graph (usage checks and the deletes
//! they guard, role and lifecycle-state edits, source-app links) keep SQLite's rule of
//! one writer at a time: each write transaction first takes one transaction-scoped
//! advisory lock (per schema), so the CONTRACT §2 invariant holds across instances exactly as it does
//! in one process. Reads never take it, and task claims don't either: they use
//! `FOR UPDATE SKIP LOCKED`, so two instances never claim the same task and never wait
//! for each other's claims.

pub type Db = sqlx::Postgres;

// The same SQL module is compiled once per database, on purpose.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub use sql::SqlStore as PostgresStore;

/// `base` with every connection's `search_path` set to `schema`: how accessd (and the
/// tests and benches, one schema each) use a schema other than `public`.
pub fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

pub(crate) mod dialect {
    use std::str::FromStr;
    use std::time::Duration;

    use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

    use super::Db;
    use crate::store::StoreResult;

    pub const NAME: &str = "PostgreSQL";

    /// One row, `COUNT(*)`, for a table named `$1` in the connection's schema.
    pub const TABLE_EXISTS: &str = "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = $1";

    /// Run after an import. Without statistics the planner takes freshly loaded tables for empty ones (a usage
    /// check of 50 profiles among 100,000 roles took 44 ms instead of 3.6 ms).
    pub const AFTER_BULK_LOAD: Option<&str> = Some("ANALYZE");

    /// The two-argument maximum.
    pub const GREATEST: &str = "GREATEST";

    /// The tables of the connection's schema (`name`), for export.
    pub const TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1";

    /// A table's columns (`$1`) in order: name and declared type.
    pub const COLUMNS: &str = "SELECT column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name = $1 ORDER BY ordinal_position";

    /// Appended to the task-claim query: a row another instance is claiming right now
    /// is skipped, not waited for, and never claimed twice.
    pub const SKIP_LOCKED: &str = " FOR UPDATE OF t SKIP LOCKED";

    /// The first half of the advisory lock every write transaction takes ("acsd"); the
    /// second half is the schema's hash, so tenants in different schemas of one database
    /// don't wait for each other.
    const WRITE_LOCK: i32 = 0x6163_7364;

    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

    pub fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    /// Nothing to hold: sqlx's PostgreSQL migrator takes an advisory lock itself.
    pub async fn migration_lock(_url: &str) -> StoreResult<Option<std::fs::File>> {
        Ok(None)
    }

    /// Connects. The database must exist: `_create` is SQLite's (a missing file).
    pub async fn connect(url: &str, _create: bool) -> StoreResult<PgPool> {
        let options = PgConnectOptions::from_str(url)?;
        Ok(PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?)
    }

    /// A write transaction: waits for the one write lock (released at commit or
    /// rollback, or when the connection of a killed instance closes).
    pub async fn begin_write(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, Db>> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// A read-only transaction that reads one snapshot throughout (`accessd export`).
    /// PostgreSQL's default, READ COMMITTED, takes a new snapshot for each statement, so
    /// a write committed between two tables' reads would be half in the export.
    pub async fn begin_snapshot(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, Db>> {
        Ok(pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    /// The transaction a task claim runs in: a plain one (see [`SKIP_LOCKED`]).
    pub async fn begin_claim(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, Db>> {
        Ok(pool.begin().await?)
    }
}
