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
    /// TEXT (timestamps and JSON documents are text too).
    Text(String),
    /// A 64-bit integer (BIGINT; SQLite's INTEGER).
    Int(i64),
    /// A double (filters on numeric fields).
    Float(f64),
    /// A flag: PostgreSQL's BOOLEAN; SQLite stores and reads it as 0/1.
    Bool(bool),
}

/// Refuses bound text holding U+0000, before the statement runs. PostgreSQL's text
/// cannot hold it (its driver's error would be a 500) while SQLite would store or
/// compare it; refused by both backends alike, it is the same client error on each
/// (the HTTP edge refuses it first wherever a request can carry it, CONTRACT §7).
pub fn refuse_nul(params: &[Param]) -> StoreResult<()> {
    if params
        .iter()
        .any(|p| matches!(p, Param::Text(s) if s.contains('\0')))
    {
        return Err(StoreError::Refused(
            "Text must not contain the character U+0000.".into(),
        ));
    }
    Ok(())
}

/// Turns a Rust value into a [`Param`]; `None` becomes [`Param::Null`].
pub trait ToParam {
    /// The value to bind.
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

impl ToParam for crate::domain::text::Name {
    fn to_param(&self) -> Param {
        Param::Text(self.as_str().to_string())
    }
}

impl ToParam for crate::domain::text::Description {
    fn to_param(&self) -> Param {
        Param::Text(self.as_str().to_string())
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
    /// The value, or `None` when `value` holds another type.
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
    /// The column's position among `columns`, if it is there.
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

    /// The row's values, in the order of its columns.
    pub fn into_values(self) -> Vec<Param> {
        self.values
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
}

/// What a constraint violation broke, classified by the backend from its driver's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// A UNIQUE constraint or primary key.
    Unique,
    /// A FOREIGN KEY constraint.
    ForeignKey,
}

/// A statement refused by a UNIQUE or FOREIGN KEY constraint: carried inside
/// [`StoreError::Database`], so code that does not expect one still reports it as a
/// database error, and `conflict` turns it into a client-facing message.
#[derive(Debug)]
pub struct ConstraintViolation {
    /// Which kind of constraint.
    pub kind: ViolationKind,
    /// The driver's error.
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

/// The table where applied migrations are recorded (sqlx's), read by the store to
/// refuse a database from a newer accessd and to stamp exports. A backend on another
/// driver keeps this table so databases stay interchangeable.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

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
    /// Makes the transaction's writes durable and visible, and ends it.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    /// Undoes the transaction's writes and ends it.
    async fn rollback(self: Box<Self>) -> StoreResult<()>;
}

/// A database's connections at one moment (`GET /metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open: idle and in use.
    pub open: usize,
    /// Connections open and waiting to be used.
    pub idle: usize,
    /// The most the pool opens, when it has a bound.
    pub max: Option<usize>,
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
    /// The aggregate of a subquery's values into one JSON array, in the order of its
    /// `ORDER BY`: `{json_agg}(value ORDER BY …){json_text}`, JSON text (NULL or `[]`
    /// for no rows).
    pub json_agg: &'static str,
    /// Appended to [`json_agg`](Self::json_agg)'s call: its value as text.
    pub json_text: &'static str,
    /// The function building a JSON array of its arguments.
    pub json_array: &'static str,
    /// A counted page whose list matches at most this many pages has its keys sorted
    /// whole and cut by the store, instead of by the statement's `LIMIT` (0: never).
    pub whole_sort_pages: i64,
    /// Appended to the task-claim query, whose task table has the alias `t`.
    pub skip_locked: &'static str,
    /// Run after an import, outside its transaction.
    pub after_bulk_load: Option<&'static str>,
    /// Announces a change on channel `$1` to the other instances on this database, when
    /// the transaction commits; `None` where there are no others to tell (SQLite: one
    /// process).
    pub notify: Option<&'static str>,
}

/// What a [`ChangeFeed`] heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// Another instance (or this one) announced a change.
    Changed,
    /// The connection was lost and has been opened again: announcements made meanwhile
    /// are lost, so whatever they announce must be read again.
    Missed,
}

/// Announcements of changes made by the instances on one database (PostgreSQL's
/// LISTEN), for this instance's schema only.
#[async_trait]
pub trait ChangeFeed: Send {
    /// Waits for the next announcement. An error means the connection could not be
    /// opened again; the next call tries again.
    async fn next(&mut self) -> StoreResult<Heard>;
}

/// A database accessd's store runs on: a connection pool, its transactions, its
/// dialect and its migrations.
#[async_trait]
pub trait Database: Send + Sync + 'static {
    /// The SQL fragments of this database.
    fn dialect(&self) -> &'static Dialect;
    /// The connections open and idle now (`GET /metrics`).
    fn pool_stats(&self) -> PoolStats;
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
    /// Listens to the announcements on `channel` (see [`Dialect::notify`]); `None`
    /// where nothing announces.
    async fn listen(&self, _channel: &'static str) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        Ok(None)
    }
    /// Called once at a clean shutdown, after the last write: leaves the database whole
    /// in its main file(s). Nothing to do for a server database.
    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }

    /// The first row of one statement; none is a database error.
    async fn fetch_one(&self, sql: &str, params: Vec<Param>) -> StoreResult<Row> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or_else(|| StoreError::database(None, "the statement returned no row"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: Vec<Param>) -> Row {
        let columns: Arc<[String]> = (0..values.len()).map(|i| format!("c{i}")).collect();
        Row::new(columns, values)
    }

    #[test]
    fn params_turn_none_into_null_and_references_into_values() {
        let name = String::from("Ada");
        let missing: Option<String> = None;
        let p = params![
            name,
            &name,
            "x",
            7_i64,
            3_i32,
            true,
            1.5,
            missing,
            Some("y")
        ];
        assert_eq!(
            p,
            vec![
                Param::Text("Ada".into()),
                Param::Text("Ada".into()),
                Param::Text("x".into()),
                Param::Int(7),
                Param::Int(3),
                Param::Bool(true),
                Param::Float(1.5),
                Param::Null,
                Param::Text("y".into()),
            ]
        );
    }

    #[test]
    fn a_flag_reads_from_a_boolean_or_from_sqlites_zero_and_one() {
        let r = row(vec![
            Param::Bool(true),
            Param::Int(0),
            Param::Int(1),
            Param::Int(2),
        ]);
        assert!(r.get::<bool>(0).unwrap());
        assert!(!r.get::<bool>(1).unwrap());
        assert!(r.get::<bool>(2).unwrap());
        assert!(matches!(r.get::<bool>(3), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn columns_are_found_by_name_or_position_and_null_is_none() {
        let r = row(vec![Param::Text("a".into()), Param::Null]);
        assert_eq!(r.get::<String>("c0").unwrap(), "a");
        assert_eq!(r.get::<Option<String>>(1).unwrap(), None);
        assert!(matches!(r.get::<String>(1), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            r.get::<String>("nope"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(r.get::<String>(2), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_value_of_another_type_is_corrupt_not_converted() {
        let r = row(vec![
            Param::Int(i64::from(i32::MAX) + 1),
            Param::Text("1".into()),
        ]);
        assert!(matches!(r.get::<i32>(0), Err(StoreError::Corrupt(_))));
        assert_eq!(r.get::<i64>(0).unwrap(), i64::from(i32::MAX) + 1);
        assert!(matches!(r.get::<i64>(1), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn text_holding_u0000_is_refused_and_other_values_pass() {
        let fine = params!["a", 0_i64, Option::<String>::None, "\\u0000"];
        assert!(refuse_nul(&fine).is_ok());
        assert!(matches!(
            refuse_nul(&[Param::Text("a".into()), Param::Text("b\0c".into())]),
            Err(StoreError::Refused(m)) if m.contains("U+0000")
        ));
    }

    #[test]
    fn a_violation_travels_inside_a_database_error() {
        let e = StoreError::database(Some(ViolationKind::Unique), "UNIQUE constraint failed");
        assert_eq!(e.violation(), Some(ViolationKind::Unique));
        assert_eq!(e.to_string(), "database error: UNIQUE constraint failed");
        let plain = StoreError::database(None, "disk I/O error");
        assert_eq!(plain.violation(), None);
        assert_eq!(StoreError::Refused("x".into()).violation(), None);
    }
}
