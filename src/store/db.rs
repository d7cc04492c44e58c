//! The seam between the store's SQL and a database driver: bound values ([`Param`]),
//! decoded rows ([`Row`]), and what each backend provides ([`Database`], [`Executor`],
//! [`Transaction`], [`Dialect`]). The SQL in `store::sql` is written once against these
//! and compiled once; `store::sqlite` and `store::postgres` implement them. Nothing here
//! names a driver, so another one (e.g. rusqlite) fits behind the same traits.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{StoreError, StoreResult};

/// A value bound to a `$n` placeholder, or read from a row's column.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// SQL NULL. Bound untyped: the database infers its type from where it is used.
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// Turns a Rust value into a [`Param`]; `None` becomes [`Param::Null`].
pub trait ToParam {
    fn to_param(&self) -> Param;
}

impl ToParam for str {
    fn to_param(&self) -> Param {
        Param::Text(self.to_string())
    }
}

impl ToParam for String {
    fn to_param(&self) -> Param {
        Param::Text(self.clone())
    }
}

impl ToParam for i64 {
    fn to_param(&self) -> Param {
        Param::Int(*self)
    }
}

impl ToParam for i32 {
    fn to_param(&self) -> Param {
        Param::Int(i64::from(*self))
    }
}

impl ToParam for f64 {
    fn to_param(&self) -> Param {
        Param::Float(*self)
    }
}

impl ToParam for bool {
    fn to_param(&self) -> Param {
        Param::Bool(*self)
    }
}

impl ToParam for Param {
    fn to_param(&self) -> Param {
        self.clone()
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Param {
        self.as_ref().map_or(Param::Null, ToParam::to_param)
    }
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Param {
        (**self).to_param()
    }
}

/// `params![a, b, …]`: the values to bind to `$1`, `$2`, … in order.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::store::db::ToParam::to_param(&$value)),*]
    };
}
pub(crate) use params;

/// Reads a Rust value out of a [`Param`]; `None` when the value has another type.
pub trait FromParam: Sized {
    /// The type's name, for the error when a column holds something else.
    const EXPECTED: &'static str;
    fn from_param(value: &Param) -> Option<Self>;
}

impl FromParam for String {
    const EXPECTED: &'static str = "text";
    fn from_param(value: &Param) -> Option<Self> {
        match value {
            Param::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl FromParam for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_param(value: &Param) -> Option<Self> {
        match value {
            Param::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromParam for i32 {
    const EXPECTED: &'static str = "a 32-bit integer";
    fn from_param(value: &Param) -> Option<Self> {
        match value {
            Param::Int(i) => i32::try_from(*i).ok(),
            _ => None,
        }
    }
}

impl FromParam for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_param(value: &Param) -> Option<Self> {
        match value {
            Param::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// A flag: PostgreSQL's BOOLEAN, or SQLite's integer 0/1.
impl FromParam for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_param(value: &Param) -> Option<Self> {
        match value {
            Param::Bool(b) => Some(*b),
            Param::Int(0) => Some(false),
            Param::Int(1) => Some(true),
            _ => None,
        }
    }
}

impl<T: FromParam> FromParam for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_param(value: &Param) -> Option<Self> {
        match value {
            Param::Null => Some(None),
            v => T::from_param(v).map(Some),
        }
    }
}

/// One row of a result: its columns' names and values, decoded by the backend.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Param>,
}

/// A column of a [`Row`], by name or by position.
pub trait ColumnIndex: fmt::Display + Copy {
    fn position(self, columns: &[String]) -> Option<usize>;
}

impl ColumnIndex for &str {
    fn position(self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|c| c == self)
    }
}

impl ColumnIndex for usize {
    fn position(self, columns: &[String]) -> Option<usize> {
        (self < columns.len()).then_some(self)
    }
}

impl Row {
    /// A row of `values`, named by `columns` (shared by all rows of one result).
    pub fn new(columns: Arc<[String]>, values: Vec<Param>) -> Self {
        Self { columns, values }
    }

    /// The value of column `col` as a `T`. A missing column or a value of another
    /// type is [`StoreError::Corrupt`].
    pub fn get<T: FromParam>(&self, col: impl ColumnIndex) -> StoreResult<T> {
        let value = col
            .position(&self.columns)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {col} in the result")))?;
        T::from_param(value).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "column {col}: expected {}, found {value:?}",
                T::EXPECTED
            ))
        })
    }

    /// The value of column `i` as it was read.
    pub fn value(&self, i: usize) -> Option<&Param> {
        self.values.get(i)
    }
}

/// What a constraint violation broke, classified by the backend from its driver's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    Unique,
    ForeignKey,
}

/// A statement refused by a UNIQUE or FOREIGN KEY constraint: carried inside
/// [`StoreError::Database`], so code that does not expect one still reports it as a
/// database error, and `conflict` turns it into a client-facing message.
#[derive(Debug)]
pub struct ConstraintViolation {
    pub kind: ViolationKind,
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl fmt::Display for ConstraintViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl std::error::Error for ConstraintViolation {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl StoreError {
    /// A driver's error, classified as a constraint violation when it is one.
    pub fn database(
        violation: Option<ViolationKind>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let source = source.into();
        match violation {
            Some(kind) => Self::Database(Box::new(ConstraintViolation { kind, source })),
            None => Self::Database(source),
        }
    }

    /// The constraint this error broke, if it is a violation.
    pub fn violation(&self) -> Option<ViolationKind> {
        match self {
            Self::Database(e) => e.downcast_ref::<ConstraintViolation>().map(|v| v.kind),
            _ => None,
        }
    }
}

/// Runs SQL text with `$n` placeholders: a connection or a transaction.
#[async_trait]
pub trait Executor: Send {
    /// Every row the statement returns.
    async fn fetch_all(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>>;
    /// The first row the statement returns, if any.
    async fn fetch_optional(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>>;
    /// Runs a statement; returns the rows it changed.
    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<u64>;

    /// The first row; a statement that returns none is a database error.
    async fn fetch_one(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Row> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or_else(|| StoreError::database(None, "the statement returned no row"))
    }
}

/// Runs each statement on any pooled connection of a [`Database`], holding none in
/// between: an [`Executor`] for reads that need no connection of their own.
pub struct Pooled<'a>(pub &'a dyn Database);

#[async_trait]
impl Executor for Pooled<'_> {
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

/// A transaction. Dropped without [`commit`](Transaction::commit), it rolls back.
#[async_trait]
pub trait Transaction: Executor {
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    async fn rollback(self: Box<Self>) -> StoreResult<()>;
}

/// The SQL that differs between the databases; everything else in `store::sql` is
/// portable.
#[derive(Debug)]
pub struct Dialect {
    /// The database's name, for messages.
    pub name: &'static str,
    /// One row, `COUNT(*)`, for a table named `$1` (in the connection's schema).
    pub table_exists: &'static str,
    /// The tables (`name`) in order, for export.
    pub tables: &'static str,
    /// A table's (`$1`) columns in order: name and declared type.
    pub columns: &'static str,
    /// The two-argument maximum function.
    pub greatest: &'static str,
    /// Appended to the task-claim query, whose task table has the alias `t`.
    pub skip_locked: &'static str,
    /// Run after an import, outside its transaction.
    pub after_bulk_load: Option<&'static str>,
}

/// A database accessd's store runs on: a connection pool, its transactions, its
/// dialect and its migrations.
#[async_trait]
pub trait Database: Send + Sync + 'static {
    /// The SQL fragments of this database.
    fn dialect(&self) -> &'static Dialect;
    /// A connection from the pool, for several reads in a row.
    async fn connection(&self) -> StoreResult<Box<dyn Executor>>;
    /// A write transaction: writers run one at a time, so a check and the write it
    /// guards are never interleaved with another write (CONTRACT §2).
    async fn begin_write(&self) -> StoreResult<Box<dyn Transaction>>;
    /// A read transaction whose reads all see one snapshot (`accessd export`).
    async fn begin_snapshot(&self) -> StoreResult<Box<dyn Transaction>>;
    /// The transaction a task claim runs in (see [`Dialect::skip_locked`]).
    async fn begin_claim(&self) -> StoreResult<Box<dyn Transaction>>;
    /// Every row of one statement, on any pooled connection.
    async fn fetch_all(&self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>>;
    /// The first row of one statement, on any pooled connection.
    async fn fetch_optional(&self, sql: &str, params: Vec<Param>) -> StoreResult<Option<Row>>;
    /// Runs one statement on any pooled connection; returns the rows it changed.
    async fn execute(&self, sql: &str, params: Vec<Param>) -> StoreResult<u64>;
    /// The versions of the migrations this build carries for this database.
    fn migrations(&self) -> Vec<i64>;
    /// Applies this build's migrations that the database lacks.
    async fn migrate(&self) -> StoreResult<()>;

    /// The first row of one statement; none is a database error.
    async fn fetch_one(&self, sql: &str, params: Vec<Param>) -> StoreResult<Row> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or_else(|| StoreError::database(None, "the statement returned no row"))
    }
}
