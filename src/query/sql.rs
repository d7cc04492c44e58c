//! Validation of filter trees against per-endpoint allow-lists and rendering to
//! portable (SQLite + PostgreSQL) SQL pieces with bind parameters.

use chrono::{DateTime, Datelike, FixedOffset, TimeDelta, Timelike, Utc};

use super::filter::{parse_filter, Expr, Number, Op, Value, MAX_IN_VALUES};
use super::{format_timestamp, snippet, QueryError};

/// The type of a filterable field; decides which literal values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text column; values must be quoted strings.
    Str,
    /// Boolean column; values must be `true` / `false`.
    Bool,
    /// TEXT column holding [`format_timestamp`] strings; values must be RFC 3339
    /// date-times (bare or quoted). With `co` / `sw` the value must be a quoted
    /// string matched against the stored UTC text.
    DateTime,
    /// Numeric column; values must be bare numbers.
    Num,
}

/// Where a field lives in SQL. Column / table names are trusted literals from the
/// allow-lists, never user input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A column of the listed row, e.g. `"ap.owner_id"`.
    Column(&'static str),
    /// A multi-valued field stored in another table. The field matches when
    /// `<outer_col> IN (SELECT <select_col> FROM <table> WHERE <where_col> <op> ?)`,
    /// i.e. when *any* related row satisfies the condition. Exceptions:
    /// `ne` matches when *no* related row is equal (`NOT IN (... = ?)`), `isnull`
    /// matches when there is no related row with a non-null value, `pr` when there
    /// is one. `select_col` must be NOT NULL (it is used with `NOT IN`).
    Subquery {
        outer_col: &'static str,
        table: &'static str,
        select_col: &'static str,
        where_col: &'static str,
    },
}

/// One filterable field of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldSpec {
    /// API field name, e.g. `owner.id`.
    pub name: &'static str,
    pub ty: FieldType,
    /// Allowed operators, in the order the API documentation lists them (used in
    /// error messages).
    pub ops: &'static [Op],
    pub target: Target,
}

/// The filter allow-list of an endpoint. `and` / `or` are always allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterSpec {
    pub fields: &'static [FieldSpec],
    /// Fields ISC documents for the endpoint but accessd cannot filter on yet;
    /// they produce "filter field 'x' is not supported by accessd yet".
    pub unsupported: &'static [&'static str],
    pub allow_not: bool,
}

impl FilterSpec {
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A value to bind as a query parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

/// A piece of a SQL condition: trusted SQL text or a value to bind (e.g. with
/// `sqlx::QueryBuilder::push` / `push_bind`). Consecutive `Sql` pieces are merged.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlPiece {
    Sql(String),
    Bind(SqlValue),
}

/// Validates `expr` against `spec`: every field must be in the allow-list, every
/// operator allowed for its field, every value of the field's type, and `not`
/// only where `spec.allow_not`. The first problem (left to right) is reported.
pub fn check_filter(expr: &Expr, spec: &FilterSpec) -> Result<(), QueryError> {
    let mut sink = Out::default();
    compile(expr, spec, &mut sink)
}

/// Validates `expr` (exactly as [`check_filter`]) and renders it as a single
/// boolean SQL expression. The result can be appended after `WHERE` or
/// `AND` as is (it never has a top-level `OR`). All literal values are `Bind`
/// pieces.
pub fn filter_to_sql(expr: &Expr, spec: &FilterSpec) -> Result<Vec<SqlPiece>, QueryError> {
    check_filter(expr, spec)?;
    let mut out = Out::default();
    compile(expr, spec, &mut out)?;
    Ok(out.pieces)
}

/// Convenience: `None` or an all-whitespace `filters` parameter means "no
/// filter" (`Ok(None)`); otherwise parse, validate and render.
pub fn compile_filter(
    input: Option<&str>,
    spec: &FilterSpec,
) -> Result<Option<Vec<SqlPiece>>, QueryError> {
    match input {
        Some(text) if !text.trim().is_empty() => {
            let expr = parse_filter(text)?;
            filter_to_sql(&expr, spec).map(Some)
        }
        _ => Ok(None),
    }
}

#[derive(Default)]
struct Out {
    pieces: Vec<SqlPiece>,
}

impl Out {
    fn sql(&mut self, s: &str) {
        if let Some(SqlPiece::Sql(last)) = self.pieces.last_mut() {
            last.push_str(s);
        } else {
            self.pieces.push(SqlPiece::Sql(s.to_string()));
        }
    }

    fn bind(&mut self, v: SqlValue) {
        self.pieces.push(SqlPiece::Bind(v));
    }
}

fn compile(expr: &Expr, spec: &FilterSpec, out: &mut Out) -> Result<(), QueryError> {
    match expr {
        Expr::And(items) => compile_list(items, " AND ", "1 = 1", spec, out),
        Expr::Or(items) => compile_list(items, " OR ", "1 = 0", spec, out),
        Expr::Not(inner) => {
            if !spec.allow_not {
                return Err(QueryError::NotNotSupported);
            }
            out.sql("NOT (");
            compile(inner, spec, out)?;
            out.sql(")");
            Ok(())
        }
        Expr::Cmp { field, op, value } => {
            if !op.is_binary() {
                return Err(QueryError::InvalidExpression(format!(
                    "operator '{op}' cannot be used as 'field {op} value'"
                )));
            }
            let fs = lookup(spec, field)?;
            check_op(fs, *op)?;
            let binds = match (op, convert(fs, *op, value)?) {
                (Op::Sw, SqlValue::Text(prefix)) => prefix_binds(prefix),
                (Op::Co, SqlValue::Text(part)) => vec![SqlValue::Text(like_pattern(*op, &part))],
                (_, bind) => vec![bind],
            };
            emit_leaf(fs, *op, binds, out);
            Ok(())
        }
        Expr::In { field, values } => {
            let fs = lookup(spec, field)?;
            check_op(fs, Op::In)?;
            if values.is_empty() || values.len() > MAX_IN_VALUES {
                return Err(QueryError::InvalidExpression(format!(
                    "the 'in' operator requires between 1 and {MAX_IN_VALUES} values"
                )));
            }
            let binds = values
                .iter()
                .map(|v| convert(fs, Op::In, v))
                .collect::<Result<Vec<_>, _>>()?;
            emit_leaf(fs, Op::In, binds, out);
            Ok(())
        }
        Expr::Pr(field) => {
            let fs = lookup(spec, field)?;
            check_op(fs, Op::Pr)?;
            emit_leaf(fs, Op::Pr, Vec::new(), out);
            Ok(())
        }
        Expr::IsNull(field) => {
            let fs = lookup(spec, field)?;
            check_op(fs, Op::IsNull)?;
            emit_leaf(fs, Op::IsNull, Vec::new(), out);
            Ok(())
        }
    }
}

fn compile_list(
    items: &[Expr],
    sep: &str,
    empty: &str,
    spec: &FilterSpec,
    out: &mut Out,
) -> Result<(), QueryError> {
    if items.is_empty() {
        out.sql(empty);
        return Ok(());
    }
    out.sql("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.sql(sep);
        }
        compile(item, spec, out)?;
    }
    out.sql(")");
    Ok(())
}

fn lookup(spec: &FilterSpec, field: &str) -> Result<&'static FieldSpec, QueryError> {
    if let Some(fs) = spec.field(field) {
        return Ok(fs);
    }
    if spec.unsupported.contains(&field) {
        return Err(QueryError::FilterFieldNotImplemented {
            field: field.to_string(),
        });
    }
    Err(QueryError::UnknownFilterField {
        field: snippet(field),
        supported: spec.fields.iter().map(|f| f.name).collect(),
    })
}

fn check_op(fs: &FieldSpec, op: Op) -> Result<(), QueryError> {
    if fs.ops.contains(&op) {
        Ok(())
    } else {
        Err(QueryError::UnsupportedOperator {
            field: fs.name.to_string(),
            op,
            supported: fs.ops,
        })
    }
}

fn invalid(fs: &FieldSpec, expected: impl Into<String>) -> QueryError {
    QueryError::InvalidFilterValue {
        field: fs.name.to_string(),
        expected: expected.into(),
    }
}

const EXPECTED_DATETIME: &str = "an RFC 3339 date-time such as 2020-01-01T00:00:00Z";

/// Converts a literal to the value to bind, checking its type.
fn convert(fs: &FieldSpec, op: Op, value: &Value) -> Result<SqlValue, QueryError> {
    if matches!(op, Op::Co | Op::Sw) {
        return match value {
            // Lowered here, with the ASCII-only rule that SQLite's lower() and
            // PostgreSQL's lower() on a COLLATE "C" column apply to the column side.
            // PostgreSQL would lower a bound parameter with the database's default
            // collation, which may also lower non-ASCII letters.
            Value::Str(s) => Ok(SqlValue::Text(s.to_ascii_lowercase())),
            _ if fs.ty == FieldType::Str => Err(invalid(fs, "a string in double quotes")),
            _ => Err(invalid(
                fs,
                format!("a string in double quotes when used with '{op}'"),
            )),
        };
    }
    match (fs.ty, value) {
        (FieldType::Str, Value::Str(s)) => Ok(SqlValue::Text(s.clone())),
        (FieldType::Str, _) => Err(invalid(fs, "a string in double quotes")),
        (FieldType::Bool, Value::Bool(b)) => Ok(SqlValue::Bool(*b)),
        (FieldType::Bool, _) => Err(invalid(fs, "true or false")),
        (FieldType::Num, Value::Num(n)) => Ok(number_value(*n)),
        (FieldType::Num, _) => Err(invalid(fs, "a number")),
        (FieldType::DateTime, Value::DateTime(dt)) => timestamp_value(fs, op, dt),
        (FieldType::DateTime, Value::Str(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(dt) => timestamp_value(fs, op, &dt),
            Err(_) => Err(invalid(fs, EXPECTED_DATETIME)),
        },
        (FieldType::DateTime, _) => Err(invalid(fs, EXPECTED_DATETIME)),
    }
}

fn number_value(n: Number) -> SqlValue {
    match n {
        Number::Int(i) => SqlValue::Int(i),
        // i64::MIN as f64 is exactly -2^63; the i64 range is [-2^63, 2^63).
        Number::Float(x) if x.fract() == 0.0 && x >= i64::MIN as f64 && x < -(i64::MIN as f64) => {
            SqlValue::Int(x as i64)
        }
        Number::Float(x) => SqlValue::Float(x),
    }
}

/// Stored timestamps have millisecond precision. A sub-millisecond bound is
/// rounded so that comparisons stay exact: down for `gt` / `le`, up for
/// `ge` / `lt`; `eq` / `ne` / `in` truncate.
fn timestamp_value(
    fs: &FieldSpec,
    op: Op,
    dt: &DateTime<FixedOffset>,
) -> Result<SqlValue, QueryError> {
    let out_of_range = || invalid(fs, "a date-time between the years 0000 and 9999 (UTC)");
    let utc = dt.with_timezone(&Utc);
    let sub_ms = i64::from(utc.nanosecond() % 1_000_000);
    let mut ts = utc
        .checked_sub_signed(TimeDelta::nanoseconds(sub_ms))
        .ok_or_else(out_of_range)?;
    if sub_ms != 0 && matches!(op, Op::Ge | Op::Lt) {
        ts = ts
            .checked_add_signed(TimeDelta::milliseconds(1))
            .ok_or_else(out_of_range)?;
    }
    if !(0..=9999).contains(&ts.year()) {
        return Err(out_of_range());
    }
    Ok(SqlValue::Text(format_timestamp(&ts)))
}

/// The binds of `sw` for an (already lowered) prefix: the range
/// `prefix <= lower(col) < upper` that an index on `lower(col)` can serve (no upper
/// bound when the prefix has no successor), then the exact `LIKE` pattern, which
/// alone decides the match.
fn prefix_binds(prefix: String) -> Vec<SqlValue> {
    let pattern = like_pattern(Op::Sw, &prefix);
    let mut binds = Vec::with_capacity(3);
    let upper = prefix_upper_bound(&prefix);
    binds.push(SqlValue::Text(prefix));
    binds.extend(upper.map(SqlValue::Text));
    binds.push(SqlValue::Text(pattern));
    binds
}

/// The least string greater than every string that starts with `prefix`, in the
/// byte order both backends compare text in (SQLite's BINARY, PostgreSQL's
/// COLLATE "C"): the prefix with its last character replaced by the next code point,
/// after dropping trailing U+10FFFF. UTF-8 keeps code point order as byte order and
/// no character's encoding is a prefix of another's, so every extension of `prefix`
/// sorts below the result; stepping whole characters keeps the bound valid UTF-8,
/// which PostgreSQL requires of a text parameter. `None` when no string is greater
/// than all of them (an empty prefix, or only U+10FFFF).
pub(super) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Escapes `\`, `%` and `_` for `LIKE ... ESCAPE '\'` and adds the wildcards.
fn like_pattern(op: Op, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if op == Op::Co {
        out.push('%');
    }
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn emit_leaf(fs: &FieldSpec, op: Op, binds: Vec<SqlValue>, out: &mut Out) {
    match fs.target {
        Target::Column(col) => emit_cond(col, op, binds, out),
        Target::Subquery {
            outer_col,
            table,
            select_col,
            where_col,
        } => {
            let (negate, inner_op) = match op {
                Op::Ne => (true, Op::Eq),
                Op::IsNull => (true, Op::Pr),
                other => (false, other),
            };
            out.sql(outer_col);
            out.sql(if negate {
                " NOT IN (SELECT "
            } else {
                " IN (SELECT "
            });
            out.sql(select_col);
            out.sql(" FROM ");
            out.sql(table);
            out.sql(" WHERE ");
            emit_cond(where_col, inner_op, binds, out);
            out.sql(")");
        }
    }
}

fn emit_cond(col: &str, op: Op, binds: Vec<SqlValue>, out: &mut Out) {
    let simple = |sym: &str, binds: Vec<SqlValue>, out: &mut Out| {
        out.sql(col);
        out.sql(sym);
        binds.into_iter().for_each(|b| out.bind(b));
    };
    match op {
        Op::Eq => simple(" = ", binds, out),
        Op::Gt => simple(" > ", binds, out),
        Op::Ge => simple(" >= ", binds, out),
        Op::Lt => simple(" < ", binds, out),
        Op::Le => simple(" <= ", binds, out),
        Op::Ne => {
            out.sql("(");
            simple(" <> ", binds, out);
            out.sql(" OR ");
            out.sql(col);
            out.sql(" IS NULL)");
        }
        // The pattern is lowered already (see `convert`).
        Op::Co => {
            out.sql("lower(");
            out.sql(col);
            out.sql(") LIKE ");
            binds.into_iter().for_each(|b| out.bind(b));
            out.sql(" ESCAPE '\\'");
        }
        // Binds from `prefix_binds`: lower bound, optional upper bound, pattern.
        Op::Sw => {
            let last = binds.len().saturating_sub(1);
            out.sql("(");
            for (i, b) in binds.into_iter().enumerate() {
                out.sql(if i == 0 { "lower(" } else { " AND lower(" });
                out.sql(col);
                out.sql(match i {
                    _ if i == last => ") LIKE ",
                    0 => ") >= ",
                    _ => ") < ",
                });
                out.bind(b);
                if i == last {
                    out.sql(" ESCAPE '\\'");
                }
            }
            out.sql(")");
        }
        Op::In => {
            out.sql(col);
            out.sql(" IN (");
            for (i, b) in binds.into_iter().enumerate() {
                if i > 0 {
                    out.sql(", ");
                }
                out.bind(b);
            }
            out.sql(")");
        }
        Op::Pr => {
            out.sql(col);
            out.sql(" IS NOT NULL");
        }
        Op::IsNull => {
            out.sql(col);
            out.sql(" IS NULL");
        }
    }
}
