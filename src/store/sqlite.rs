//! The SQLite backend (sqlx): the embedded default. WAL mode, foreign keys on,
//! `synchronous=FULL` so a committed write survives a crash; write transactions start
//! `IMMEDIATE` so two writers queue on the busy timeout instead of failing on lock
//! upgrade. The SQL itself is `store::sql`; this file only runs it.

use std::ops::DerefMut;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Column, Row as _, Sqlite, TypeInfo, ValueRef};

use super::db::{Database, Dialect, Executor, Param, Row, Transaction, ViolationKind};
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

static DIALECT: Dialect = Dialect {
    name: "SQLite",
    table_exists: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY name",
    columns: "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
    greatest: "MAX",
    // SQLite has a single writer and the claim runs in a `BEGIN IMMEDIATE`
    // transaction, so nothing else can claim at the same time.
    skip_locked: "",
    // SQLite plans well enough from its indexes alone.
    after_bulk_load: None,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens the SQLite store at `url`: holds the migration lock while it checks and (when
/// `migrate`) migrates the database.
pub async fn open(url: &str, migrate: bool) -> StoreResult<SqlStore> {
    let _lock = if migrate {
        migration_lock(url).await?
    } else {
        None
    };
    // Only a migrating open creates a database: `export` of a mistyped path must not
    // leave an empty database file behind.
    let db = SqliteDb::connect(url, migrate).await?;
    SqlStore::open(Arc::new(db), migrate).await
}

/// Held while this process migrates: an exclusive lock on `PATH.migrate-lock` next to
/// the database, so processes starting together on one new file migrate it one after
/// the other (sqlx's SQLite migrator takes no lock of its own).
async fn migration_lock(url: &str) -> StoreResult<Option<std::fs::File>> {
    let options = SqliteConnectOptions::from_str(url).map_err(error)?;
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

/// A pool of SQLite connections.
pub struct SqliteDb {
    pool: SqlitePool,
}

impl SqliteDb {
    /// Connects; `create` makes a missing database file (what `serve` and `migrate`
    /// do), else a missing file is an error rather than a new empty database.
    pub async fn connect(url: &str, create: bool) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(error)?;
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(error)?;
        Ok(Self { pool })
    }
}

/// A sqlx error as a [`StoreError`], with unique and foreign-key violations classified.
fn error(e: sqlx::Error) -> StoreError {
    let violation = match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(ViolationKind::Unique),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Some(ViolationKind::ForeignKey)
        }
        _ => None,
    };
    StoreError::database(violation, e)
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn query(sql: &str, params: Vec<Param>) -> Query<'_> {
    params.into_iter().fold(sqlx::query(sql), |q, p| match p {
        Param::Null => q.bind(None::<i64>),
        Param::Text(s) => q.bind(s),
        Param::Int(i) => q.bind(i),
        Param::Float(f) => q.bind(f),
        Param::Bool(b) => q.bind(b),
    })
}

/// The columns' names, once per result.
fn columns(row: &SqliteRow) -> Arc<[String]> {
    row.columns().iter().map(|c| c.name().to_string()).collect()
}

/// A row's values by each value's own type (SQLite's columns are dynamically typed).
fn row(r: &SqliteRow, columns: Arc<[String]>) -> StoreResult<Row> {
    let mut values = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        let raw = r.try_get_raw(i).map_err(error)?;
        let value = if raw.is_null() {
            Param::Null
        } else {
            let kind = raw.type_info().name().to_string();
            match kind.as_str() {
                "INTEGER" | "BOOLEAN" | "NUMERIC" => {
                    Param::Int(r.try_get_unchecked::<i64, _>(i).map_err(error)?)
                }
                "REAL" => Param::Float(r.try_get_unchecked::<f64, _>(i).map_err(error)?),
                "TEXT" | "DATE" | "TIME" | "DATETIME" => {
                    Param::Text(r.try_get_unchecked::<String, _>(i).map_err(error)?)
                }
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "column {}: unexpected SQLite value type {other}",
                        columns[i]
                    )))
                }
            }
        };
        values.push(value);
    }
    Ok(Row::new(columns, values))
}

fn rows(rs: Vec<SqliteRow>) -> StoreResult<Vec<Row>> {
    let Some(first) = rs.first() else {
        return Ok(Vec::new());
    };
    let names = columns(first);
    rs.iter().map(|r| row(r, names.clone())).collect()
}

fn one(r: Option<SqliteRow>) -> StoreResult<Option<Row>> {
    r.map(|r| row(&r, columns(&r))).transpose()
}

/// A pooled connection, or a transaction on one: both are a connection underneath.
struct Conn<C>(C);

type Tx = sqlx::Transaction<'static, Sqlite>;

#[async_trait]
impl<C> Executor for Conn<C>
where
    C: DerefMut<Target = SqliteConnection> + Send,
{
    async fn fetch_all(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        rows(
            query(sql, params)
                .fetch_all(&mut *self.0)
                .await
                .map_err(error)?,
        )
    }

    async fn fetch_optional(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        one(query(sql, params)
            .fetch_optional(&mut *self.0)
            .await
            .map_err(error)?)
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        let done = query(sql, params)
            .execute(&mut *self.0)
            .await
            .map_err(error)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl Transaction for Conn<Tx> {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.0.commit().await.map_err(error)
    }

    async fn rollback(self: Box<Self>) -> StoreResult<()> {
        self.0.rollback().await.map_err(error)
    }
}

#[async_trait]
impl Database for SqliteDb {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    async fn connection(&self) -> StoreResult<Box<dyn Executor>> {
        Ok(Box::new(Conn(self.pool.acquire().await.map_err(error)?)))
    }

    /// `BEGIN IMMEDIATE` takes the database's one write lock up front.
    async fn begin_write(&self) -> StoreResult<Box<dyn Transaction>> {
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(error)?;
        Ok(Box::new(Conn(tx)))
    }

    /// A deferred transaction reads the database as of its first read.
    async fn begin_snapshot(&self) -> StoreResult<Box<dyn Transaction>> {
        Ok(Box::new(Conn(self.pool.begin().await.map_err(error)?)))
    }

    /// A write transaction: claims queue on the write lock like every other write.
    async fn begin_claim(&self) -> StoreResult<Box<dyn Transaction>> {
        self.begin_write().await
    }

    async fn fetch_all(&self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        rows(
            query(sql, params)
                .fetch_all(&self.pool)
                .await
                .map_err(error)?,
        )
    }

    async fn fetch_optional(&self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        one(query(sql, params)
            .fetch_optional(&self.pool)
            .await
            .map_err(error)?)
    }

    async fn execute(&self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        let done = query(sql, params)
            .execute(&self.pool)
            .await
            .map_err(error)?;
        Ok(done.rows_affected())
    }

    fn migrations(&self) -> Vec<i64> {
        MIGRATOR.iter().map(|m| m.version).collect()
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Config(format!("migrating the SQLite database failed: {e}")))
    }
}
