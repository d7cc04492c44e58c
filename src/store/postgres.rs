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

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgConnection, PgListener, PgPoolOptions,
    PgRow, PgTypeInfo,
};
use sqlx::{Column, ConnectOptions, Connection, Postgres, Row as _, TypeInfo};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Opens the PostgreSQL store at `url` (the database must exist), checks and (when
/// `migrate`) migrates it. sqlx's PostgreSQL migrator takes an advisory lock itself.
pub async fn open(url: &str, migrate: bool) -> StoreResult<SqlStore> {
    let db = PgDb::connect(url).await?;
    SqlStore::open(Arc::new(db), migrate).await
}

/// How long the first connection at start may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections one instance opens.
const MAX_CONNECTIONS: usize = 16;

/// How long a request waits for a connection when all of them are in use.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection handed back unsettled may take to settle before it is closed.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL through accessd's own pool of sqlx connections.
pub struct PgDb {
    pool: Arc<Pool>,
    /// For the LISTENing connection, which sqlx's listener opens (and opens again).
    options: PgConnectOptions,
}

impl PgDb {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(error)?;
        let at = format!(
            "PostgreSQL at {}:{}",
            options.get_host(),
            options.get_port()
        );
        let pool = Arc::new(Pool {
            options: options.clone(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            open: AtomicUsize::new(0),
        });
        // The first connection is opened here: an unreachable server is named within
        // seconds instead of after the pool's acquire timeout.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, pool.checkout())
            .await
            .map_err(|_| {
                StoreError::Config(format!(
                    "{at} did not answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| StoreError::Config(format!("cannot connect to {at}: {e}")))?;
        drop(first);
        Ok(Self { pool, options })
    }
}

/// The connections of one [`PgDb`]. sqlx's own pool sends a `Sync` and waits for the
/// server's answer whenever a connection goes back to it: a round trip per checkout,
/// so per request. Here a connection whose statements all completed goes back as it
/// is; only one handed back unsettled (a statement that failed or was cancelled with
/// its request, a transaction left open) is first brought back to a known state, off
/// the request's path, and closed if it cannot be. The next statement on a connection
/// would drain a cancelled one's answers anyway (sqlx's connection waits until it is
/// ready before it sends); settling first keeps a transaction's locks from outliving
/// its request. There is no liveness ping either: a connection that died is reported
/// by the statement that uses it, and then closed.
struct Pool {
    options: PgConnectOptions,
    /// Idle connections; the last one handed back is the first handed out, so a few
    /// connections (and their server processes) stay warm.
    idle: Mutex<Vec<PgConnection>>,
    /// One permit per connection in use: at most [`MAX_CONNECTIONS`] are open.
    permits: Arc<Semaphore>,
    /// Connections open: in use, idle or settling.
    open: AtomicUsize,
}

impl Pool {
    /// An idle connection, or a new one while fewer than [`MAX_CONNECTIONS`] are open;
    /// waits up to [`ACQUIRE_TIMEOUT`] for one to come free.
    async fn checkout(self: &Arc<Self>) -> StoreResult<Checkout> {
        let permit =
            tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.permits).acquire_owned())
                .await
                .map_err(|_| {
                    StoreError::database(
                        None,
                        format!(
                            "no PostgreSQL connection came free within {} s",
                            ACQUIRE_TIMEOUT.as_secs()
                        ),
                    )
                })?
                .map_err(|e| StoreError::database(None, e))?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            // Idle connections and the ones in use together hold at most one per
            // permit: a new one is opened only when none is idle.
            None => {
                let conn = self.options.connect().await.map_err(error)?;
                self.open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(Checkout {
            conn: Some(conn),
            pool: Arc::clone(self),
            permit: Some(permit),
            unsettled: false,
            in_transaction: false,
        })
    }

    fn put_back(&self, conn: PgConnection) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }

    fn discard(&self, conn: PgConnection) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        drop(conn);
    }
}

/// A connection taken from the [`Pool`] until dropped.
struct Checkout {
    conn: Option<PgConnection>,
    pool: Arc<Pool>,
    /// Released after the connection is back among the idle ones.
    permit: Option<OwnedSemaphorePermit>,
    /// A statement was sent whose answer was not read to its end.
    unsettled: bool,
    /// A transaction is open (BEGIN sent, no COMMIT or ROLLBACK completed since).
    in_transaction: bool,
}

impl Checkout {
    fn conn(&mut self) -> StoreResult<&mut PgConnection> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::database(None, "the connection was handed back"))
    }

    /// Runs `sql`, a statement without parameters, with PostgreSQL's simple protocol.
    async fn simple(&mut self, sql: &'static str) -> StoreResult<()> {
        // Text without arguments goes with the simple protocol, which runs each of
        // several statements in it.
        self.unsettled = true;
        sqlx::Executor::execute(self.conn()?, sql)
            .await
            .map_err(error)?;
        self.unsettled = false;
        Ok(())
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if !self.unsettled && !self.in_transaction {
            self.pool.put_back(conn);
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.pool.discard(conn);
            return;
        };
        // Settled on a task of its own, which keeps the permit meanwhile.
        let (pool, permit, in_transaction) = (
            Arc::clone(&self.pool),
            self.permit.take(),
            self.in_transaction,
        );
        runtime.spawn(async move {
            let settle = async {
                if in_transaction {
                    // Answered once every earlier statement's answer is read.
                    sqlx::Executor::execute(&mut conn, "ROLLBACK").await.map(drop)
                } else {
                    conn.ping().await
                }
            };
            match tokio::time::timeout(SETTLE_TIMEOUT, settle).await {
                Ok(Ok(())) => pool.put_back(conn),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "closing a PostgreSQL connection that did not settle");
                    pool.discard(conn);
                }
                Err(_) => {
                    tracing::warn!("closing a PostgreSQL connection that did not settle in time");
                    pool.discard(conn);
                }
            }
            drop(permit);
        });
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

#[async_trait]
impl Executor for Checkout {
    async fn fetch_all(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        let q = query(sql, params)?;
        self.unsettled = true;
        let rs = q.fetch_all(self.conn()?).await.map_err(error)?;
        self.unsettled = false;
        rows(rs)
    }

    async fn fetch_optional(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        let q = query(sql, params)?;
        self.unsettled = true;
        let r = q.fetch_optional(self.conn()?).await.map_err(error)?;
        self.unsettled = false;
        one(r)
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        let q = query(sql, params)?;
        self.unsettled = true;
        let done = q.execute(self.conn()?).await.map_err(error)?;
        self.unsettled = false;
        Ok(done.rows_affected())
    }
}

/// A transaction on a checked-out connection; dropped open, it is rolled back before
/// the connection is used again ([`Checkout`]'s drop).
struct PgTx(Checkout);

impl PgTx {
    /// Opens a transaction with `begin`: `BEGIN …`, possibly followed by more
    /// statements without parameters, all sent in one message (one round trip).
    async fn begin(pool: &Arc<Pool>, begin: &'static str) -> StoreResult<Self> {
        let mut conn = pool.checkout().await?;
        conn.in_transaction = true;
        conn.simple(begin).await?;
        Ok(Self(conn))
    }

    async fn end(mut self: Box<Self>, sql: &'static str) -> StoreResult<()> {
        self.0.simple(sql).await?;
        self.0.in_transaction = false;
        Ok(())
    }
}

#[async_trait]
impl Executor for PgTx {
    async fn fetch_all(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        self.0.fetch_all(sql, params).await
    }

    async fn fetch_optional(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        self.0.fetch_optional(sql, params).await
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        self.0.execute(sql, params).await
    }
}

#[async_trait]
impl Transaction for PgTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.end("COMMIT").await
    }

    async fn rollback(self: Box<Self>) -> StoreResult<()> {
        self.end("ROLLBACK").await
    }
}

/// A write transaction: `BEGIN`, then the one advisory lock every write transaction
/// takes, sent as one message (one round trip). The lock's key is "acsd"
/// (0x6163_7364) and the schema's hash, so tenants in different schemas of one
/// database don't wait for each other.
const BEGIN_WRITE: &str =
    "BEGIN; SELECT pg_advisory_xact_lock(1633907556, hashtext(current_schema()))";

#[async_trait]
impl Database for PgDb {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            open: self.pool.open.load(Ordering::Relaxed),
            idle: self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
            max: Some(MAX_CONNECTIONS),
        }
    }

    async fn connection(&self) -> StoreResult<Box<dyn Executor>> {
        Ok(Box::new(self.pool.checkout().await?))
    }

    /// Waits for the one write lock (released at commit or rollback, or when the
    /// connection of a killed instance closes).
    async fn begin_write(&self) -> StoreResult<Box<dyn Transaction>> {
        Ok(Box::new(PgTx::begin(&self.pool, BEGIN_WRITE).await?))
    }

    /// Read-only and REPEATABLE READ: PostgreSQL's default, READ COMMITTED, takes a new
    /// snapshot for each statement, so a write committed between two tables' reads
    /// would be half in the export.
    async fn begin_snapshot(&self) -> StoreResult<Box<dyn Transaction>> {
        let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
        Ok(Box::new(PgTx::begin(&self.pool, begin).await?))
    }

    /// A plain transaction: the claim query locks its row with `SKIP LOCKED`.
    async fn begin_claim(&self) -> StoreResult<Box<dyn Transaction>> {
        Ok(Box::new(PgTx::begin(&self.pool, "BEGIN").await?))
    }

    async fn fetch_all(&self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        self.pool.checkout().await?.fetch_all(sql, params).await
    }

    async fn fetch_optional(&self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        self.pool
            .checkout()
            .await?
            .fetch_optional(sql, params)
            .await
    }

    async fn execute(&self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        self.pool.checkout().await?.execute(sql, params).await
    }

    /// A connection of its own that LISTENs, from a pool of one that sqlx's listener
    /// opens again when it is lost, and says so ([`Heard::Missed`]).
    async fn listen(&self, channel: &'static str) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(self.pool.checkout().await?.conn()?)
            .await
            .map_err(error)?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(self.options.clone());
        let mut listener = PgListener::connect_with(&pool).await.map_err(error)?;
        listener.listen(channel).await.map_err(error)?;
        Ok(Some(Box::new(Feed { listener, schema })))
    }

    fn migrations(&self) -> Vec<i64> {
        MIGRATOR.iter().map(|m| m.version).collect()
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.pool.checkout().await?;
        match MIGRATOR.run_direct(conn.conn()?).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // The migrator's session lock may still be held: the connection is
                // closed rather than handed back.
                if let Some(c) = conn.conn.take() {
                    conn.pool.discard(c);
                }
                Err(StoreError::Config(format!(
                    "migrating the PostgreSQL database failed: {e}"
                )))
            }
        }
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
