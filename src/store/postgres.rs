//! The PostgreSQL backend (sqlx), for several accessd instances on one database. The
//! SQL is `store::sql`, shared with SQLite; this file holds what differs.
//!
//! Writes that read-then-write the access-profile graph (usage checks and the deletes
//! they guard, role and lifecycle-state edits, source-app links) keep SQLite's rule of
//! one writer at a time: each write transaction first takes one transaction-scoped
//! advisory lock (per schema), so the CONTRACT §2 invariant holds across instances
//! exactly as it does in one process. Reads never take it, and task claims don't
//! either: they use `FOR UPDATE SKIP LOCKED`, so two instances never claim the same
//! task and never wait for each other's claims.

use std::ops::DerefMut;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgConnection, PgListener, PgPool,
    PgPoolOptions, PgRow, PgTypeInfo,
};
use sqlx::{Column, Postgres, Row as _, TypeInfo};

use super::db::{
    refuse_nul, ChangeFeed, Database, Dialect, Executor, Heard, Param, PoolStats, Row, Transaction,
    ViolationKind,
};
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

/// `base` with every connection's `search_path` set to `schema`: how accessd (and the
/// tests and benches, one schema each) use a schema other than `public`.
pub fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

static DIALECT: Dialect = Dialect {
    name: "PostgreSQL",
    table_exists: "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = $1",
    tables: "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    columns: "SELECT column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name = $1 ORDER BY ordinal_position",
    greatest: "GREATEST",
    json_agg: "json_agg",
    json_text: "::text",
    json_array: "json_build_array",
    // PostgreSQL's top-N heapsort keeps a limited sort cheap.
    whole_sort_pages: 0,
    // A row another instance is claiming right now is skipped, not waited for, and
    // never claimed twice.
    skip_locked: " FOR UPDATE OF t SKIP LOCKED",
    // Without statistics the planner takes freshly loaded tables for empty ones (a
    // usage check of 50 profiles among 100,000 roles took 44 ms instead of 3.6 ms).
    after_bulk_load: Some("ANALYZE"),
    // The payload names the schema: instances of other tenants (schemas) of the same
    // database hear the channel too, and ignore it.
    notify: Some("SELECT pg_notify($1, current_schema()::text)"),
};

/// The first half of the advisory lock every write transaction takes ("acsd"); the
/// second half is the schema's hash, so tenants in different schemas of one database
/// don't wait for each other.
const WRITE_LOCK: i32 = 0x6163_7364;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Opens the PostgreSQL store at `url` (the database must exist), checks and (when
/// `migrate`) migrates it. sqlx's PostgreSQL migrator takes an advisory lock itself.
pub async fn open(url: &str, migrate: bool) -> StoreResult<SqlStore> {
    let db = PgDb::connect(url).await?;
    SqlStore::open(Arc::new(db), migrate).await
}

/// How long the first connection at start may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of PostgreSQL connections.
pub struct PgDb {
    pool: PgPool,
}

impl PgDb {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(error)?;
        let at = format!(
            "PostgreSQL at {}:{}",
            options.get_host(),
            options.get_port()
        );
        // No liveness ping when a connection is handed out (sqlx's default costs a
        // round trip per acquire, i.e. per request): a connection that died is
        // reported by the query that uses it, and the pool drops it.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options);
        // The first connection is opened here: an unreachable server is named within
        // seconds instead of after the pool's acquire timeout.
        let pool = tokio::time::timeout(CONNECT_TIMEOUT, pool)
            .await
            .map_err(|_| {
                StoreError::Config(format!(
                    "{at} did not answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| StoreError::Config(format!("cannot connect to {at}: {e}")))?;
        Ok(Self { pool })
    }
}

/// PostgreSQL's SQLSTATE for a full disk (`disk_full`, class 53: insufficient resources).
const DISK_FULL: &str = "53100";

/// A sqlx error as a [`StoreError`], with a full disk and unique and foreign-key
/// violations classified.
fn error(e: sqlx::Error) -> StoreError {
    if matches!(&e, sqlx::Error::Database(db) if db.code().as_deref() == Some(DISK_FULL)) {
        return StoreError::StorageFull(Box::new(e));
    }
    let violation = match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(ViolationKind::Unique),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Some(ViolationKind::ForeignKey)
        }
        _ => None,
    };
    StoreError::database(violation, e)
}

/// NULL with no declared type (OID 0): PostgreSQL infers it from where it is used, so
/// one `Param::Null` fits a text, integer or boolean column alike.
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// `sql` with `params` bound; text holding U+0000 is refused before it reaches the
/// server ([`refuse_nul`]).
fn query(sql: &str, params: Vec<Param>) -> StoreResult<Query<'_>> {
    refuse_nul(&params)?;
    Ok(params.into_iter().fold(sqlx::query(sql), |q, p| match p {
        Param::Null => q.bind(UntypedNull),
        Param::Text(s) => q.bind(s),
        Param::Int(i) => q.bind(i),
        Param::Float(f) => q.bind(f),
        Param::Bool(b) => q.bind(b),
    }))
}

/// The columns' names, once per result.
fn columns(row: &PgRow) -> Arc<[String]> {
    row.columns().iter().map(|c| c.name().to_string()).collect()
}

/// A row's values by each column's type.
fn row(r: &PgRow, names: Arc<[String]>) -> StoreResult<Row> {
    /// The value of column `i`, whose type the caller matched to `T` by name: sqlx's
    /// own check of the match (`try_get`), which tries each type `T` accepts, is
    /// skipped.
    fn get<'r, T>(r: &'r PgRow, i: usize) -> StoreResult<Option<T>>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        r.try_get_unchecked::<Option<T>, _>(i).map_err(error)
    }
    let mut values = Vec::with_capacity(names.len());
    for (i, column) in r.columns().iter().enumerate() {
        let value = match column.type_info().name() {
            "BOOL" => get::<bool>(r, i)?.map(Param::Bool),
            "INT2" => get::<i16>(r, i)?.map(|v| Param::Int(v.into())),
            "INT4" => get::<i32>(r, i)?.map(|v| Param::Int(v.into())),
            "INT8" => get::<i64>(r, i)?.map(Param::Int),
            "FLOAT4" => get::<f32>(r, i)?.map(|v| Param::Float(v.into())),
            "FLOAT8" => get::<f64>(r, i)?.map(Param::Float),
            "TEXT" | "VARCHAR" | "NAME" | "BPCHAR" => get::<String>(r, i)?.map(Param::Text),
            other => {
                return Err(StoreError::Corrupt(format!(
                    "column {}: unexpected PostgreSQL type {other}",
                    column.name()
                )))
            }
        };
        values.push(value.unwrap_or(Param::Null));
    }
    Ok(Row::new(names, values))
}

fn rows(rs: Vec<PgRow>) -> StoreResult<Vec<Row>> {
    let Some(first) = rs.first() else {
        return Ok(Vec::new());
    };
    let names = columns(first);
    rs.iter().map(|r| row(r, names.clone())).collect()
}

fn one(r: Option<PgRow>) -> StoreResult<Option<Row>> {
    r.map(|r| row(&r, columns(&r))).transpose()
}

/// A pooled connection, or a transaction on one: both are a connection underneath.
struct Conn<C>(C);

type Tx = sqlx::Transaction<'static, Postgres>;

#[async_trait]
impl<C> Executor for Conn<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn fetch_all(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        rows(
            query(sql, params)?
                .fetch_all(&mut *self.0)
                .await
                .map_err(error)?,
        )
    }

    async fn fetch_optional(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        one(query(sql, params)?
            .fetch_optional(&mut *self.0)
            .await
            .map_err(error)?)
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        let done = query(sql, params)?
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
impl Database for PgDb {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            open: usize::try_from(self.pool.size()).unwrap_or(usize::MAX),
            idle: self.pool.num_idle(),
            max: usize::try_from(self.pool.options().get_max_connections()).ok(),
        }
    }

    async fn connection(&self) -> StoreResult<Box<dyn Executor>> {
        Ok(Box::new(Conn(self.pool.acquire().await.map_err(error)?)))
    }

    /// Waits for the one write lock (released at commit or rollback, or when the
    /// connection of a killed instance closes).
    async fn begin_write(&self) -> StoreResult<Box<dyn Transaction>> {
        let mut tx = self.pool.begin().await.map_err(error)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(error)?;
        Ok(Box::new(Conn(tx)))
    }

    /// Read-only and REPEATABLE READ: PostgreSQL's default, READ COMMITTED, takes a new
    /// snapshot for each statement, so a write committed between two tables' reads
    /// would be half in the export.
    async fn begin_snapshot(&self) -> StoreResult<Box<dyn Transaction>> {
        let tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(error)?;
        Ok(Box::new(Conn(tx)))
    }

    /// A plain transaction: the claim query locks its row with `SKIP LOCKED`.
    async fn begin_claim(&self) -> StoreResult<Box<dyn Transaction>> {
        Ok(Box::new(Conn(self.pool.begin().await.map_err(error)?)))
    }

    async fn fetch_all(&self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        rows(
            query(sql, params)?
                .fetch_all(&self.pool)
                .await
                .map_err(error)?,
        )
    }

    async fn fetch_optional(&self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        one(query(sql, params)?
            .fetch_optional(&self.pool)
            .await
            .map_err(error)?)
    }

    async fn execute(&self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        let done = query(sql, params)?
            .execute(&self.pool)
            .await
            .map_err(error)?;
        Ok(done.rows_affected())
    }

    /// A connection of its own (taken from the pool for good) that LISTENs; sqlx's
    /// listener opens it again when it is lost and says so ([`Heard::Missed`]).
    async fn listen(&self, channel: &'static str) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&self.pool)
            .await
            .map_err(error)?;
        let mut listener = PgListener::connect_with(&self.pool).await.map_err(error)?;
        listener.listen(channel).await.map_err(error)?;
        Ok(Some(Box::new(Feed { listener, schema })))
    }

    fn migrations(&self) -> Vec<i64> {
        MIGRATOR.iter().map(|m| m.version).collect()
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| {
            StoreError::Config(format!("migrating the PostgreSQL database failed: {e}"))
        })
    }
}

/// The announcements of one schema, heard on a LISTENing connection.
struct Feed {
    listener: PgListener,
    schema: String,
}

#[async_trait]
impl ChangeFeed for Feed {
    async fn next(&mut self) -> StoreResult<Heard> {
        loop {
            match self.listener.try_recv().await.map_err(error)? {
                Some(n) if n.payload() == self.schema => return Ok(Heard::Changed),
                // Another schema's instances.
                Some(_) => continue,
                None => return Ok(Heard::Missed),
            }
        }
    }
}
