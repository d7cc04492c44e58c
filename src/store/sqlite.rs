//! The SQLite backend: the embedded default. WAL mode, foreign keys on,
//! `synchronous=FULL` so a committed write survives a crash.
//!
//! Queries run through rusqlite, synchronously, on the thread of the request that asks:
//! a read is a call into the in-process library on a pooled connection with a cached
//! prepared statement, with no hand-off to another thread. Writes go through the one
//! write connection, one at a time, and commit in groups (see `Writer`): write
//! transactions that queue up behind each other run inside one `BEGIN IMMEDIATE` (which
//! takes the database's write lock up front, so other processes queue on the busy
//! timeout), each in a savepoint of its own, and share one `COMMIT` — one fsync — before
//! any of them is answered. The waits that can block — taking the lock and the fsync of
//! `COMMIT` — run on the blocking pool. The WAL is checkpointed by a thread of its own,
//! not inside a commit (see the `checkpoint` module). sqlx still creates the file and applies the
//! migrations, so its migration table stays the record of the schema. The SQL itself is
//! `store::sql`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions;
use tokio::sync::{oneshot, OwnedMutexGuard};

use super::db::{
    refuse_nul, Database, Dialect, Executor, Param, PoolStats, Row, Transaction, ViolationKind,
};
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

mod checkpoint;
use checkpoint::Checkpointer;

static DIALECT: Dialect = Dialect {
    name: "SQLite",
    table_exists: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY name",
    columns: "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
    greatest: "MAX",
    // An aggregate's own ORDER BY: SQLite 3.44 and later.
    json_agg: "json_group_array",
    json_text: "",
    json_array: "json_array",
    // SQLite keeps the first rows of an `ORDER BY … LIMIT` in a B-tree, inserting and
    // deleting an entry for nearly every row that matches: for a few pages of matches
    // its sorter, with no limit, costs half as much (measured with callgrind).
    whole_sort_pages: 4,
    // SQLite has a single writer and the claim runs in a `BEGIN IMMEDIATE`
    // transaction, so nothing else can claim at the same time.
    skip_locked: "",
    // SQLite plans well enough from its indexes alone.
    after_bulk_load: None,
    // One process: nobody else to tell.
    notify: None,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Prepared statements kept per connection: every statement the store issues, so
/// each is parsed once per connection.
const STATEMENT_CACHE: usize = 512;
/// The page cache of a read connection, in KiB.
const READER_CACHE_KIB: i64 = 16 * 1024;
/// Idle read connections kept open.
const IDLE_READERS: usize = 8;
/// How much of the database file each connection maps into memory, in bytes: SQLite's
/// largest (`SQLITE_MAX_MMAP_SIZE`, 2 GiB less 64 KiB, unless built otherwise). Pages
/// read through the mapping count in the process's resident memory as file pages (the
/// kernel's page cache), not as memory accessd allocates.
const MMAP_BYTES: i64 = 0x7fff_0000;

/// Opens the SQLite store at `url`: holds the migration lock while it checks and (when
/// `migrate`) migrates the database.
pub async fn open(url: &str, migrate: bool) -> StoreResult<SqlStore> {
    let options = SqliteConnectOptions::from_str(url).map_err(sqlx_error)?;
    let path = options.get_filename();
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
        && path != Path::new(":memory:")
        && !folder.is_dir()
    {
        return Err(StoreError::Config(format!(
            "the folder of the SQLite database {} does not exist: create {} first",
            path.display(),
            folder.display()
        )));
    }
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
    let options = SqliteConnectOptions::from_str(url).map_err(sqlx_error)?;
    let path = options.get_filename();
    if path.as_os_str().is_empty() || path == Path::new(":memory:") {
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

/// An SQLite database file: a pool of read connections and the one write connection.
pub struct SqliteDb {
    path: PathBuf,
    /// sqlx's options for the same file, to create it and run the migrations.
    options: SqliteConnectOptions,
    readers: Arc<Mutex<ReaderPool>>,
    writer: Arc<tokio::sync::Mutex<Writer>>,
    /// The WAL's checkpoints, on a thread of their own (see the `checkpoint` module).
    checkpoints: Arc<Checkpointer>,
}

/// The read connections: those idle, and how many are open (idle or in use). The
/// count changes only when a connection is opened or closed, under the lock a reader
/// takes anyway.
#[derive(Default)]
struct ReaderPool {
    idle: Vec<Connection>,
    open: usize,
}

/// The write connection, and the group of write transactions it is committing together.
///
/// A write transaction takes the writer, opens the group's transaction if none is open
/// (`BEGIN IMMEDIATE`), and runs in a savepoint of its own. When it ends, a failure
/// rolls back to its savepoint and is answered at once, the others of the group keep
/// their writes; a success releases its savepoint and joins [`Writer::waiting`]. The
/// first to join queues a commit for the writer behind the write transactions already
/// waiting for it (the lock is fair), so those join the group too; the commit then
/// answers every member with the outcome of its one `COMMIT`. A write is thus
/// acknowledged only once it is durable (`synchronous=FULL`), and a group is as large
/// as the writes that arrive while the one before it commits. A failed `COMMIT` is
/// rolled back and answered to every member, and leaves the connection outside any
/// transaction.
struct Writer {
    conn: Connection,
    /// Whether this group's transaction was begun here and not yet ended: a
    /// transaction open on the connection without it is a leftover to roll back.
    open: bool,
    /// The members of the open group whose writes wait for its `COMMIT`.
    waiting: Vec<oneshot::Sender<StoreResult<()>>>,
    /// Told of each commit; asks for a checkpoint now and then (see the `checkpoint` module).
    checkpoints: Arc<Checkpointer>,
}

impl SqliteDb {
    /// Connects; `create` makes a missing database file (what `serve` and `migrate`
    /// do), else a missing file is an error rather than a new empty database.
    pub async fn connect(url: &str, create: bool) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(sqlx_error)?;
        let path = options.get_filename().to_path_buf();
        if !create && !path.exists() {
            return Err(StoreError::Config(format!(
                "there is no SQLite database at {}",
                path.display()
            )));
        }
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // Creates the file when asked and switches it to WAL (a property of the file).
        let conn = options.connect().await.map_err(sqlx_error)?;
        sqlx::Connection::close(conn).await.map_err(sqlx_error)?;
        let (writer, checkpoints) = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let writer = open_connection(&path)?;
                // Checkpoints run on a thread of their own, not inside a commit. Each
                // write's savepoint keeps the pages it changes in a sub-journal, to roll
                // back to; on disk (a temporary file once past 64 KiB, as most writes
                // were) that was most of a write's pwrite(2) calls, and a file created
                // and removed per group.
                writer
                    .execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;")
                    .map_err(error)?;
                let checkpoints = Checkpointer::start(open_connection(&path)?).map_err(|e| {
                    StoreError::database(None, format!("starting the checkpoint thread: {e}"))
                })?;
                Ok::<_, StoreError>((writer, Arc::new(checkpoints)))
            })
            .await
            .map_err(|e| StoreError::database(None, e.to_string()))??
        };
        Ok(Self {
            path,
            options,
            readers: Arc::new(Mutex::new(ReaderPool::default())),
            writer: Arc::new(tokio::sync::Mutex::new(Writer {
                conn: writer,
                open: false,
                waiting: Vec::new(),
                checkpoints: checkpoints.clone(),
            })),
            checkpoints,
        })
    }

    /// A read connection: an idle one, or a new one.
    fn reader(&self) -> StoreResult<Reader> {
        let idle = self
            .readers
            .lock()
            .ok()
            .and_then(|mut pool| pool.idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = open_connection(&self.path)?;
                // A page of profiles with its links touches more pages than SQLite's
                // default cache (2 MiB) holds, so each request read them all again
                // with pread(2). Requests run one at a time per connection and few
                // connections are ever open, so this bounds the memory it costs.
                conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)
                    .map_err(error)?;
                if let Ok(mut pool) = self.readers.lock() {
                    pool.open += 1;
                }
                conn
            }
        };
        Ok(Reader {
            conn: Some(conn),
            pool: self.readers.clone(),
        })
    }
}

impl SqliteDb {
    /// One statement on its own, run by `run`: on a read connection when it only
    /// reads; through the write connection, as a transaction of its own, when it
    /// writes (`… RETURNING` included), so this process never has two writers waiting
    /// for each other's lock.
    async fn one_statement<R>(
        &self,
        sql: &str,
        params: Vec<Param>,
        run: impl FnOnce(&Connection, &str, Vec<Param>) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let reader = self.reader()?;
        if reader
            .conn()?
            .prepare_cached(&numbered(sql))
            .map_err(error)?
            .readonly()
        {
            return run(reader.conn()?, sql, params);
        }
        drop(reader);
        let tx = self.write().await?;
        let done = run(tx.conn()?, sql, params)?;
        Box::new(tx).commit().await?;
        Ok(done)
    }

    /// A write transaction: the writer, the group's transaction (`BEGIN IMMEDIATE`
    /// takes the database's one write lock up front; waiting for it — another process
    /// may hold it — happens on the blocking pool), and a savepoint of its own.
    async fn write(&self) -> StoreResult<Write> {
        let mut writer = self.writer.clone().lock_owned().await;
        let shared = self.writer.clone();
        let write = if writer.open && !writer.conn.is_autocommit() {
            Write {
                writer: Some(writer),
                shared,
            }
        } else {
            // No group is open, or SQLite ended it on an error (a full disk, an I/O
            // error): its members, if any, lost their writes.
            fail_group(&mut writer);
            // The `Write` is made on the blocking thread: should this request be
            // dropped while it waits, dropping the `Write` ends the new group.
            tokio::task::spawn_blocking(move || {
                if !writer.conn.is_autocommit() {
                    // A transaction left open by a failure: undo it before a new one.
                    let _ = writer.conn.execute_batch("ROLLBACK");
                }
                transaction_control(&writer.conn, "BEGIN IMMEDIATE").map_err(error)?;
                writer.open = true;
                Ok::<_, StoreError>(Write {
                    writer: Some(writer),
                    shared,
                })
            })
            .await
            .map_err(|e| StoreError::database(None, e.to_string()))??
        };
        transaction_control(write.conn()?, "SAVEPOINT job").map_err(error)?;
        Ok(write)
    }
}

/// Commits the group once the write transactions queued for the writer when its first
/// member ended have joined it: the writer's lock is fair, so this waits behind them.
async fn commit_later(shared: Arc<tokio::sync::Mutex<Writer>>) {
    let mut writer = shared.lock_owned().await;
    if !writer.open || writer.conn.is_autocommit() {
        fail_group(&mut writer);
        return;
    }
    if writer.waiting.is_empty() {
        // Committed already, with a group that began before this one.
        return;
    }
    let _ = tokio::task::spawn_blocking(move || commit_group(writer)).await;
}

/// `COMMIT`s the group and answers its members. A failed commit is rolled back, so
/// the connection is outside any transaction for the next write. When the checkpoint
/// thread asks, the writer then checkpoints what was committed since its last pass,
/// so that the next group starts the WAL over (see the `checkpoint` module).
fn commit_group(mut writer: OwnedMutexGuard<Writer>) {
    // Cleared first: should this panic half-way, the next write rolls back what is left.
    writer.open = false;
    let done = transaction_control(&writer.conn, "COMMIT");
    if done.is_err() && !writer.conn.is_autocommit() {
        let _ = writer.conn.execute_batch("ROLLBACK");
    }
    let waiting = std::mem::take(&mut writer.waiting);
    let restart = done.is_ok() && {
        writer.checkpoints.committed();
        writer.checkpoints.take_restart()
    };
    // Kept only to checkpoint: the next group may start while the members are answered.
    let writer = restart.then_some(writer);
    for member in waiting {
        let _ = member.send(match &done {
            Ok(()) => Ok(()),
            Err(e) => Err(error(copy_error(e))),
        });
    }
    if let Some(writer) = writer
        && let Err(e) = checkpoint::passive(&writer.conn)
    {
        tracing::warn!(error = %e, "the writer's WAL checkpoint failed");
    }
}

/// Answers the members of a group whose transaction SQLite rolled back (on a full disk
/// or an I/O error) with an error: their writes are gone.
fn fail_group(writer: &mut Writer) {
    writer.open = false;
    for member in writer.waiting.drain(..) {
        let _ = member.send(Err(rolled_back()));
    }
}

fn rolled_back() -> StoreError {
    StoreError::database(
        None,
        "the write transaction was rolled back by the database",
    )
}

/// The same error again, for each member of a group that shares it.
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// Runs one of the writer's transaction statements (`BEGIN IMMEDIATE`, `SAVEPOINT`,
/// `RELEASE`, `COMMIT`), prepared once: each write runs several, and parsing them again
/// each time was a few percent of a write's instructions.
fn transaction_control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(drop)
}

/// Opens a connection with the settings every connection needs.
fn open_connection(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
        .map_err(error)?;
    // SQLite empties a connection's page cache when it begins a read after another
    // connection has committed, so under writes nearly every page a request reads is
    // read again: with the file mapped, a page of the database file is a pointer into
    // the mapping instead of a pread(2) and a copy. Pages still in the WAL are read
    // from it as before, and writes still go through the WAL, so what a commit makes
    // durable is unchanged (https://sqlite.org/mmap.html).
    conn.pragma_update_and_check(None, "mmap_size", MMAP_BYTES, |r| r.get::<_, i64>(0))
        .map_err(error)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn sqlx_error(e: sqlx::Error) -> StoreError {
    StoreError::database(None, e)
}

/// A rusqlite error as a [`StoreError`], with a full disk (`SQLITE_FULL`: a write
/// that found no space, in the database file, its WAL or its shared-memory index) and
/// unique and foreign-key violations classified.
fn error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    if matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
    {
        return StoreError::StorageFull(Box::new(e));
    }
    let violation = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                Some(ViolationKind::Unique)
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(ViolationKind::ForeignKey),
            _ => None,
        },
        _ => None,
    };
    StoreError::database(violation, e)
}

/// `sql` with its `$n` placeholders written `?n`: SQLite reads both, but a `$n` is a
/// named parameter, found by a scan of the statement's names for each one bound (a
/// page's `IN` list of 250 ids made that quadratic), while `?n` is parameter number
/// n itself. Both mean the n-th value wherever and however often they appear. The
/// store's SQL binds every value, so a `$` followed by a digit is always a placeholder.
fn numbered(sql: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut start = 0;
    for (i, _) in sql.match_indices('$') {
        if !sql.as_bytes().get(i + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if out.is_empty() {
            out.reserve(sql.len());
        }
        out.push_str(&sql[start..i]);
        out.push('?');
        start = i + 1;
    }
    if out.is_empty() {
        return sql.into();
    }
    out.push_str(&sql[start..]);
    out.into()
}

/// Prepares `sql` (from the connection's cache) and binds `params` to its `$n`
/// placeholders by number, wherever and however often each appears.
fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    params: Vec<Param>,
) -> StoreResult<rusqlite::CachedStatement<'c>> {
    refuse_nul(&params)?;
    let mut stmt = conn.prepare_cached(&numbered(sql)).map_err(error)?;
    for index in 1..=stmt.parameter_count() {
        let value = match params.get(index - 1) {
            Some(Param::Null) => SqlValue::Null,
            Some(Param::Text(s)) => SqlValue::Text(s.clone()),
            Some(Param::Int(i)) => SqlValue::Integer(*i),
            Some(Param::Float(f)) => SqlValue::Real(*f),
            Some(Param::Bool(b)) => SqlValue::Integer(i64::from(*b)),
            None => {
                return Err(StoreError::database(
                    None,
                    format!("no value for ${index} of {sql}"),
                ))
            }
        };
        stmt.raw_bind_parameter(index, value).map_err(error)?;
    }
    Ok(stmt)
}

/// Every row of `sql`, each value by its own type (SQLite's columns are dynamically
/// typed).
fn fetch(conn: &Connection, sql: &str, params: Vec<Param>, limit: usize) -> StoreResult<Vec<Row>> {
    let mut stmt = prepare(conn, sql, params)?;
    let columns: Arc<[String]> = stmt
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(row) = rows.next().map_err(error)? else {
            break;
        };
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match row.get_ref(i).map_err(error)? {
                ValueRef::Null => Param::Null,
                ValueRef::Integer(i) => Param::Int(i),
                ValueRef::Real(f) => Param::Float(f),
                ValueRef::Text(t) => Param::Text(
                    std::str::from_utf8(t)
                        .map_err(|e| StoreError::Corrupt(format!("column {}: {e}", columns[i])))?
                        .to_string(),
                ),
                ValueRef::Blob(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "column {}: unexpected blob",
                        columns[i]
                    )))
                }
            });
        }
        out.push(Row::new(columns.clone(), values));
    }
    Ok(out)
}

/// Runs a statement to its end; returns the rows it changed.
fn execute(conn: &Connection, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
    let mut stmt = prepare(conn, sql, params)?;
    if stmt.column_count() == 0 {
        return Ok(stmt.raw_execute().map_err(error)? as u64);
    }
    // A statement that returns rows (`SELECT 1`, `… RETURNING`): step through them.
    let mut rows = stmt.raw_query();
    while rows.next().map_err(error)?.is_some() {}
    Ok(conn.changes())
}

/// Runs the statements of [`Executor`] on one connection, in the calling thread.
trait RunsSql {
    fn conn(&self) -> StoreResult<&Connection>;
}

#[async_trait]
impl<T: RunsSql + Send> Executor for T {
    async fn fetch_all(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        fetch(self.conn()?, sql, params, usize::MAX)
    }

    async fn fetch_optional(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        Ok(fetch(self.conn()?, sql, params, 1)?.pop())
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        execute(self.conn()?, sql, params)
    }
}

/// A pooled read connection; it goes back to the pool when dropped, or is closed
/// when the pool is full or the connection is inside a transaction it did not end.
struct Reader {
    conn: Option<Connection>,
    pool: Arc<Mutex<ReaderPool>>,
}

impl RunsSql for Reader {
    fn conn(&self) -> StoreResult<&Connection> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::database(None, "the connection was closed"))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let Ok(mut pool) = self.pool.lock() else {
            return;
        };
        if conn.is_autocommit() && pool.idle.len() < IDLE_READERS {
            pool.idle.push(conn);
        } else {
            // Closed when `conn` goes out of scope.
            pool.open = pool.open.saturating_sub(1);
        }
    }
}

/// A read transaction on a pooled connection (`accessd export`, a bulk delete's
/// facts): a deferred transaction reads the database as of its first read.
struct Snapshot(Reader);

impl RunsSql for Snapshot {
    fn conn(&self) -> StoreResult<&Connection> {
        self.0.conn()
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Ok(conn) = self.0.conn()
            && !conn.is_autocommit()
        {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

#[async_trait]
impl Transaction for Snapshot {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.0.conn()?.execute_batch("COMMIT").map_err(error)
    }

    async fn rollback(self: Box<Self>) -> StoreResult<()> {
        self.0.conn()?.execute_batch("ROLLBACK").map_err(error)
    }
}

/// A write transaction: a savepoint in the group's transaction on the write
/// connection, which it holds until it ends. Dropped without commit, it rolls back to
/// its savepoint.
struct Write {
    writer: Option<OwnedMutexGuard<Writer>>,
    shared: Arc<tokio::sync::Mutex<Writer>>,
}

impl RunsSql for Write {
    fn conn(&self) -> StoreResult<&Connection> {
        self.writer
            .as_deref()
            .map(|w| &w.conn)
            .ok_or_else(|| StoreError::database(None, "the transaction has ended"))
    }
}

impl Write {
    /// Undoes this transaction's writes and leaves the group; a group left without
    /// members is rolled back at once, so the database's write lock is not held for
    /// nothing.
    fn undo(&mut self) {
        let Some(mut writer) = self.writer.take() else {
            return;
        };
        if !writer.conn.is_autocommit() {
            let _ = writer.conn.execute_batch("ROLLBACK TO job; RELEASE job");
        }
        if writer.conn.is_autocommit() {
            fail_group(&mut writer);
        } else if writer.waiting.is_empty() {
            writer.open = false;
            let _ = writer.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Drop for Write {
    fn drop(&mut self) {
        self.undo();
    }
}

#[async_trait]
impl Transaction for Write {
    /// Keeps this transaction's writes in the group and answers once the group's
    /// `COMMIT` has made them durable (or failed).
    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        if writer.conn.is_autocommit() {
            // SQLite rolled the group back on an error: this member's writes are gone.
            fail_group(&mut writer);
            return Err(rolled_back());
        }
        if let Err(e) = transaction_control(&writer.conn, "RELEASE job").map_err(error) {
            self.writer = Some(writer);
            self.undo();
            return Err(e);
        }
        let (answer, done) = oneshot::channel();
        writer.waiting.push(answer);
        if writer.waiting.len() == 1 {
            // The first member: the group is committed once those queued behind it
            // have joined.
            tokio::spawn(commit_later(self.shared.clone()));
        }
        drop(writer);
        done.await.unwrap_or_else(|_| {
            Err(StoreError::database(
                None,
                "the write transaction ended without being committed",
            ))
        })
    }

    async fn rollback(mut self: Box<Self>) -> StoreResult<()> {
        self.undo();
        Ok(())
    }
}

#[async_trait]
impl Database for SqliteDb {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    /// The read connections and the one write connection; readers are opened as
    /// requests need them (no bound), and at most `IDLE_READERS` are kept idle.
    fn pool_stats(&self) -> PoolStats {
        let (open, idle) = self
            .readers
            .lock()
            .map(|pool| (pool.open, pool.idle.len()))
            .unwrap_or_default();
        PoolStats {
            open: open + 1,
            idle,
            max: None,
        }
    }

    async fn connection(&self) -> StoreResult<Box<dyn Executor>> {
        Ok(Box::new(self.reader()?))
    }

    async fn begin_write(&self) -> StoreResult<Box<dyn Transaction>> {
        Ok(Box::new(self.write().await?))
    }

    async fn begin_snapshot(&self) -> StoreResult<Box<dyn Transaction>> {
        let reader = self.reader()?;
        reader.conn()?.execute_batch("BEGIN").map_err(error)?;
        Ok(Box::new(Snapshot(reader)))
    }

    /// A write transaction: claims queue on the write lock like every other write.
    async fn begin_claim(&self) -> StoreResult<Box<dyn Transaction>> {
        self.begin_write().await
    }

    async fn fetch_all(&self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        self.one_statement(sql, params, |c, sql, p| fetch(c, sql, p, usize::MAX))
            .await
    }

    async fn fetch_optional(&self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>> {
        let mut rows = self
            .one_statement(sql, params, |c, sql, p| fetch(c, sql, p, 1))
            .await?;
        Ok(rows.pop())
    }

    async fn execute(&self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        self.one_statement(sql, params, execute).await
    }

    fn migrations(&self) -> Vec<i64> {
        MIGRATOR.iter().map(|m| m.version).collect()
    }

    /// Copies every committed page from the WAL into the database file and empties the
    /// WAL (`wal_checkpoint(TRUNCATE)`), so that after a clean shutdown `accessd.db`
    /// alone is the whole database (a copy of it copies everything). Run on the write
    /// connection once its last group has committed; idle readers hold no snapshot.
    async fn close(&self) -> StoreResult<()> {
        // The writer's lock is fair: a group's queued commit runs before this.
        let writer = self.writer.clone().lock_owned().await;
        let checkpoints = self.checkpoints.clone();
        tokio::task::spawn_blocking(move || {
            // A background pass would make this checkpoint busy.
            checkpoints.stop();
            if !writer.conn.is_autocommit() || !writer.waiting.is_empty() {
                // A write still under way: left to finish (or to recovery) untouched.
                return Err(StoreError::database(
                    None,
                    "a write transaction is still open; the WAL is left as it is",
                ));
            }
            // One row: busy (1 when a reader or writer blocked it), WAL pages, pages
            // copied.
            let (busy, log, copied): (i64, i64, i64) = writer
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(error)?;
            if busy != 0 {
                return Err(StoreError::database(
                    None,
                    format!("the WAL checkpoint was blocked ({copied} of {log} pages copied)"),
                ));
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::database(None, e.to_string()))?
    }

    async fn migrate(&self) -> StoreResult<()> {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(self.options.clone())
            .await
            .map_err(sqlx_error)?;
        let done = MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Config(format!("migrating the SQLite database failed: {e}")));
        pool.close().await;
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::params;

    async fn database() -> (tempfile::TempDir, Arc<SqliteDb>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = SqliteDb::connect(&url, true).await.unwrap();
        db.execute("CREATE TABLE t (name TEXT PRIMARY KEY)", vec![])
            .await
            .unwrap();
        (dir, Arc::new(db))
    }

    async fn names(db: &SqliteDb) -> Vec<String> {
        db.fetch_all("SELECT name FROM t ORDER BY name", vec![])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect()
    }

    /// Inserts `name` in a write transaction of its own, spawned.
    fn insert(
        db: &Arc<SqliteDb>,
        name: impl Into<String>,
    ) -> tokio::task::JoinHandle<StoreResult<()>> {
        let db = db.clone();
        let name: String = name.into();
        tokio::spawn(async move {
            let mut tx = db.begin_write().await?;
            tx.execute("INSERT INTO t (name) VALUES ($1)", params![name])
                .await?;
            tx.commit().await
        })
    }

    /// Waits until `n` write transactions queue for the writer while one holds it: a
    /// waiting one holds a reference to the writer, the holder two (its lock and the
    /// writer to commit on), the database one.
    async fn until_queued(db: &SqliteDb, n: usize) {
        while Arc::strong_count(&db.writer) < 3 + n {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn a_full_disk_is_its_own_error_and_other_failures_stay_database_errors() {
        use rusqlite::ffi;
        let full = rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        assert!(matches!(error(full), StoreError::StorageFull(_)));
        let io = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_IOERR), None);
        assert!(matches!(error(io), StoreError::Database(_)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_commit_together_and_a_failing_one_loses_only_its_own() {
        let (_dir, db) = database().await;
        let mut first = db.begin_write().await.unwrap();
        first
            .execute("INSERT INTO t (name) VALUES ('a')", vec![])
            .await
            .unwrap();
        let b = insert(&db, "b");
        until_queued(&db, 1).await;
        let duplicate = insert(&db, "a");
        until_queued(&db, 2).await;
        let c = insert(&db, "c");
        until_queued(&db, 3).await;

        // `first` leaves the group open for the three queued behind it and is
        // answered once the commit queued behind them has made the group durable.
        first.commit().await.unwrap();
        b.await.unwrap().unwrap();
        let refused = duplicate.await.unwrap().unwrap_err();
        assert_eq!(
            refused.violation(),
            Some(ViolationKind::Unique),
            "{refused}"
        );
        c.await.unwrap().unwrap();
        assert_eq!(names(&db).await, ["a", "b", "c"]);
        assert!(!db.writer.lock().await.open);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_panics_is_rolled_back_and_the_writer_goes_on() {
        let (_dir, db) = database().await;
        let panicking = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await.unwrap();
                tx.execute("INSERT INTO t (name) VALUES ('lost')", vec![])
                    .await
                    .unwrap();
                panic!("a bug in the middle of a write");
            })
        };
        assert!(panicking.await.unwrap_err().is_panic());
        insert(&db, "kept").await.unwrap().unwrap();
        assert_eq!(names(&db).await, ["kept"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_answers_every_member_and_the_next_write_works() {
        let (_dir, db) = database().await;
        // A deferred foreign key is checked by COMMIT: a group holding a violation
        // fails to commit, as it would on a full disk.
        db.execute("CREATE TABLE parent (id TEXT PRIMARY KEY)", vec![])
            .await
            .unwrap();
        db.execute(
            "CREATE TABLE child (parent_id TEXT REFERENCES parent(id) \
             DEFERRABLE INITIALLY DEFERRED)",
            vec![],
        )
        .await
        .unwrap();
        let mut first = db.begin_write().await.unwrap();
        first
            .execute("INSERT INTO t (name) VALUES ('a')", vec![])
            .await
            .unwrap();
        let orphan = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await?;
                tx.execute("INSERT INTO child (parent_id) VALUES ('none')", vec![])
                    .await?;
                tx.commit().await
            })
        };
        until_queued(&db, 1).await;

        let failed = first.commit().await.unwrap_err();
        assert_eq!(failed.violation(), Some(ViolationKind::ForeignKey));
        let failed = orphan.await.unwrap().unwrap_err();
        assert_eq!(failed.violation(), Some(ViolationKind::ForeignKey));
        assert!(names(&db).await.is_empty());
        assert!(db.writer.lock().await.conn.is_autocommit());

        insert(&db, "later").await.unwrap().unwrap();
        assert_eq!(names(&db).await, ["later"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_given_up_while_queued_does_not_leave_the_group_open() {
        let (_dir, db) = database().await;
        let mut first = db.begin_write().await.unwrap();
        first
            .execute("INSERT INTO t (name) VALUES ('a')", vec![])
            .await
            .unwrap();
        let gives_up = insert(&db, "never");
        until_queued(&db, 1).await;
        // `first` leaves the group to the queued write, which is then dropped: the
        // group's commit, queued behind it, still comes.
        let committed = tokio::spawn(async move { Box::new(first).commit().await });
        gives_up.abort();
        committed.await.unwrap().unwrap();
        assert_eq!(names(&db).await.first().map(String::as_str), Some("a"));
        insert(&db, "b").await.unwrap().unwrap();
        assert!(!db.writer.lock().await.open);
    }

    /// Eight writes at once, `rounds` times, each eight committing as a group; the
    /// rows are named `{round}-{i}`.
    async fn write_groups(db: &Arc<SqliteDb>, rounds: usize, each_round: impl Fn()) {
        for round in 0..rounds {
            let writes: Vec<_> = (0..8)
                .map(|i| insert(db, format!("{round:03}-{i}")))
                .collect();
            for write in writes {
                write.await.unwrap().unwrap();
            }
            each_round();
        }
    }

    /// The WAL's length in pages, and checkpoints it.
    fn wal_pages(db: &SqliteDb) -> i64 {
        checkpoint::passive(&open_connection(&db.path).unwrap()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_commit_while_checkpoints_run_and_every_one_is_kept() {
        let (_dir, db) = database().await;
        // Checkpoints one after the other on a connection of their own, as the
        // checkpoint thread runs them, only without its pause.
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checkpoints = std::thread::spawn({
            let path = db.path.clone();
            let done = done.clone();
            move || {
                let conn = open_connection(&path).unwrap();
                let mut passes = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    checkpoint::passive(&conn).unwrap();
                    passes += 1;
                }
                passes
            }
        });
        // The writer checkpoints too, every other group.
        let round = std::sync::atomic::AtomicUsize::new(0);
        write_groups(&db, 60, || {
            if round
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .is_multiple_of(2)
            {
                db.checkpoints.request_restart();
            }
        })
        .await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(checkpoints.join().unwrap() > 0);

        let names = names(&db).await;
        assert_eq!(names.len(), 480);
        assert_eq!((names[0].as_str(), names[479].as_str()), ("000-0", "059-7"));
        let check = db
            .fetch_all("PRAGMA integrity_check", vec![])
            .await
            .unwrap();
        assert_eq!(check[0].get::<String>(0).unwrap(), "ok");
        db.close().await.unwrap();
        assert_eq!(wal_pages(&db), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_checkpoints_when_asked_so_that_the_wal_starts_over() {
        let (_dir, db) = database().await;
        // Without the writer's checkpoints, 50 groups write 50 pages or more, one
        // after the other: the WAL only grows.
        write_groups(&db, 50, || db.checkpoints.request_restart()).await;
        // With one after each group, each group writes from the WAL's start: the WAL
        // holds the last group's pages (a few more should a pass of the checkpoint
        // thread have kept one group from starting over).
        let pages = wal_pages(&db);
        assert!(pages < 20, "the WAL holds {pages} pages");
        assert_eq!(names(&db).await.len(), 400);
    }
}
