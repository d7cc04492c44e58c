//! The SQL of a list's collection parameters (CONTRACT §5): a checked
//! [`Filter`](crate::query::Filter) becomes a WHERE condition and typed
//! [`Sort`](crate::query::Sort)s an ORDER BY, through the list's [`Columns`]: where
//! each API field is stored. Every value from the client is a bind parameter; the only
//! SQL text is the trusted column names here and the operators.
//!
//! The text is the same on SQLite and PostgreSQL: both read `$n`, `lower()`,
//! `LIKE … ESCAPE`, `NULLS LAST`, and compare text by bytes (SQLite's BINARY,
//! PostgreSQL's COLLATE "C" columns), which the `sw` range below relies on.

use crate::query::{format_timestamp, Compare, Filter, Scalar, Sort, Test};
use crate::store::db::Param;
use crate::store::{StoreError, StoreResult};

/// Where an API field lives in SQL. Names are trusted literals, never user input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    /// A column of the listed rows, e.g. `ap.owner_id`, and whether both schemas
    /// declare it NOT NULL (a test checks the marks against the migrations). A
    /// nullable column is sorted `NULLS LAST`, so that SQLite and PostgreSQL, whose
    /// defaults differ, put its NULLs in the same place; a NOT NULL one gets no NULLS
    /// clause, which the planners would otherwise have to prove redundant before an
    /// index on the column can serve the order.
    Col { name: &'static str, not_null: bool },
    /// The same value on every row, as an SQL literal, e.g. `'QUARTZ'`.
    Constant(&'static str),
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

/// A column declared NOT NULL.
pub(super) const fn not_null(name: &'static str) -> Column {
    Column::Col {
        name,
        not_null: true,
    }
}

/// A column that may hold NULL.
pub(super) const fn nullable(name: &'static str) -> Column {
    Column::Col {
        name,
        not_null: false,
    }
}

/// Where the fields of one list live: the API fields its filter and sort specs name
/// (and the pseudo-fields of their default orders), by API name.
#[derive(Debug)]
pub(super) struct Columns {
    /// Unique, NOT NULL key of the listed rows, appended to every ORDER BY so that
    /// paging is deterministic, and the key a deep page is chosen by.
    pub key: &'static str,
    pub fields: &'static [(&'static str, Column)],
    /// Another list's columns, for the fields not in `fields`.
    pub base: Option<&'static Columns>,
}

impl Columns {
    /// The column of `field`.
    pub(super) fn get(&self, field: &str) -> StoreResult<Column> {
        match self.fields.iter().find(|(name, _)| *name == field) {
            Some((_, column)) => Ok(*column),
            None => match self.base {
                Some(base) => base.get(field),
                None => Err(StoreError::database(
                    None,
                    format!("the list keyed by {} has no column for '{field}'", self.key),
                )),
            },
        }
    }
}

/// A piece of a SQL condition: trusted SQL text or a value to bind. Consecutive
/// `Sql` pieces are merged.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SqlPiece {
    Sql(String),
    Bind(Param),
}

/// Renders a checked filter as a single boolean SQL expression on `columns`. The
/// result can be appended after `WHERE` or `AND` as is (it never has a top-level
/// `OR`). All values are `Bind` pieces.
pub(super) fn filter_pieces(filter: &Filter, columns: &Columns) -> StoreResult<Vec<SqlPiece>> {
    let mut out = Out::default();
    render(filter, columns, &mut out)?;
    Ok(out.pieces)
}

/// The full `ORDER BY ...` clause: the sorts, nullable columns with `NULLS LAST` so
/// SQLite and PostgreSQL agree, then the key (omitted if already sorted on) in the
/// direction of the last sort. E.g. `ORDER BY ap.created DESC, ap.id DESC`, which one
/// backward scan of an index on `(created, id)` serves at any offset; an ascending key
/// after a descending sort would need a sort of every row before the page.
pub(super) fn order_by(sorts: &[Sort], columns: &Columns) -> StoreResult<String> {
    let direction = |desc: bool| if desc { "DESC" } else { "ASC" };
    let mut parts = Vec::with_capacity(sorts.len() + 1);
    let mut has_key = false;
    for s in sorts {
        let Column::Col { name, not_null } = columns.get(s.field)? else {
            return Err(StoreError::database(
                None,
                format!("'{}' is not a column to sort on", s.field),
            ));
        };
        has_key |= name == columns.key;
        let nulls = if not_null { "" } else { " NULLS LAST" };
        parts.push(format!("{name} {}{nulls}", direction(s.desc)));
    }
    if !has_key {
        let desc = sorts.last().is_some_and(|s| s.desc);
        parts.push(format!("{} {}", columns.key, direction(desc)));
    }
    Ok(format!("ORDER BY {}", parts.join(", ")))
}

/// The exact reverse of [`order_by`]'s order for the same sorts: every column, the key
/// included, in the other direction, so that the last rows in one order are the first
/// in the other, in reverse. `None` when a sort column is nullable: `NULLS LAST` has
/// no reverse that both databases spell the same way.
pub(super) fn reversed_order_by(sorts: &[Sort], columns: &Columns) -> StoreResult<Option<String>> {
    let direction = |desc: bool| if desc { "ASC" } else { "DESC" };
    let mut parts = Vec::with_capacity(sorts.len() + 1);
    let mut has_key = false;
    for s in sorts {
        let Column::Col {
            name,
            not_null: true,
        } = columns.get(s.field)?
        else {
            return Ok(None);
        };
        has_key |= name == columns.key;
        parts.push(format!("{name} {}", direction(s.desc)));
    }
    if !has_key {
        let desc = sorts.last().is_some_and(|s| s.desc);
        parts.push(format!("{} {}", columns.key, direction(desc)));
    }
    Ok(Some(format!("ORDER BY {}", parts.join(", "))))
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

    fn bind(&mut self, v: Param) {
        self.pieces.push(SqlPiece::Bind(v));
    }
}

fn render(filter: &Filter, columns: &Columns, out: &mut Out) -> StoreResult<()> {
    match filter {
        Filter::And(items) => render_list(items, " AND ", "1 = 1", columns, out),
        Filter::Or(items) => render_list(items, " OR ", "1 = 0", columns, out),
        Filter::Not(inner) => {
            out.sql("NOT (");
            render(inner, columns, out)?;
            out.sql(")");
            Ok(())
        }
        Filter::Field { field, test } => {
            render_test(columns.get(field)?, test, out);
            Ok(())
        }
    }
}

fn render_list(
    items: &[Filter],
    sep: &str,
    empty: &str,
    columns: &Columns,
    out: &mut Out,
) -> StoreResult<()> {
    if items.is_empty() {
        out.sql(empty);
        return Ok(());
    }
    out.sql("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.sql(sep);
        }
        render(item, columns, out)?;
    }
    out.sql(")");
    Ok(())
}

fn param(v: &Scalar) -> Param {
    match v {
        Scalar::Text(t) => Param::Text(t.clone()),
        Scalar::Bool(b) => Param::Bool(*b),
        Scalar::Int(i) => Param::Int(*i),
        Scalar::Float(f) => Param::Float(*f),
        // Stored as text in this format, which sorts as the instants do.
        Scalar::Timestamp(ts) => Param::Text(format_timestamp(ts)),
    }
}

/// A test reduced to what is written in SQL: the operator and its binds.
enum Cond {
    Cmp(&'static str, Param),
    Ne(Param),
    /// `lower(col) LIKE pattern`.
    Like(String),
    /// `lower(col)` in `[lower, upper)` and `LIKE pattern`.
    Prefix {
        lower: String,
        upper: Option<String>,
        pattern: String,
    },
    In(Vec<Param>),
    NotNull,
    Null,
}

fn render_test(column: Column, test: &Test, out: &mut Out) {
    let subquery = matches!(column, Column::Subquery { .. });
    let (negate, cond) = match test {
        // No related row is equal.
        Test::Cmp(Compare::Ne, v) if subquery => (true, Cond::Cmp(" = ", param(v))),
        Test::Cmp(Compare::Ne, v) => (false, Cond::Ne(param(v))),
        Test::Cmp(cmp, v) => {
            let sym = match cmp {
                Compare::Eq | Compare::Ne => " = ",
                Compare::Gt => " > ",
                Compare::Ge => " >= ",
                Compare::Lt => " < ",
                Compare::Le => " <= ",
            };
            (false, Cond::Cmp(sym, param(v)))
        }
        // Lowered here, with the ASCII-only rule that SQLite's lower() and
        // PostgreSQL's lower() on a COLLATE "C" column apply to the column side.
        // PostgreSQL would lower a bound parameter with the database's default
        // collation, which may also lower non-ASCII letters.
        Test::Contains(part) => (
            false,
            Cond::Like(like_pattern(true, &part.to_ascii_lowercase())),
        ),
        Test::StartsWith(prefix) => {
            let lower = prefix.to_ascii_lowercase();
            (
                false,
                Cond::Prefix {
                    upper: prefix_upper_bound(&lower),
                    pattern: like_pattern(false, &lower),
                    lower,
                },
            )
        }
        Test::In(values) => (false, Cond::In(values.iter().map(param).collect())),
        Test::Present => (false, Cond::NotNull),
        // No related row with a value.
        Test::IsNull if subquery => (true, Cond::NotNull),
        Test::IsNull => (false, Cond::Null),
    };
    match column {
        Column::Col { name, .. } | Column::Constant(name) => emit_cond(name, cond, out),
        Column::Subquery {
            outer_col,
            table,
            select_col,
            where_col,
        } => {
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
            emit_cond(where_col, cond, out);
            out.sql(")");
        }
    }
}

fn emit_cond(col: &str, cond: Cond, out: &mut Out) {
    match cond {
        Cond::Cmp(sym, v) => {
            out.sql(col);
            out.sql(sym);
            out.bind(v);
        }
        Cond::Ne(v) => {
            out.sql("(");
            out.sql(col);
            out.sql(" <> ");
            out.bind(v);
            out.sql(" OR ");
            out.sql(col);
            out.sql(" IS NULL)");
        }
        Cond::Like(pattern) => {
            out.sql("lower(");
            out.sql(col);
            out.sql(") LIKE ");
            out.bind(Param::Text(pattern));
            out.sql(" ESCAPE '\\'");
        }
        // The range on lower(col), which an index on lower(col) can serve (no upper
        // bound when the prefix has no successor), then the exact LIKE pattern, which
        // alone decides the match.
        Cond::Prefix {
            lower,
            upper,
            pattern,
        } => {
            out.sql("(lower(");
            out.sql(col);
            out.sql(") >= ");
            out.bind(Param::Text(lower));
            if let Some(upper) = upper {
                out.sql(" AND lower(");
                out.sql(col);
                out.sql(") < ");
                out.bind(Param::Text(upper));
            }
            out.sql(" AND lower(");
            out.sql(col);
            out.sql(") LIKE ");
            out.bind(Param::Text(pattern));
            out.sql(" ESCAPE '\\')");
        }
        Cond::In(values) => {
            out.sql(col);
            out.sql(" IN (");
            for (i, v) in values.into_iter().enumerate() {
                if i > 0 {
                    out.sql(", ");
                }
                out.bind(v);
            }
            out.sql(")");
        }
        Cond::NotNull => {
            out.sql(col);
            out.sql(" IS NOT NULL");
        }
        Cond::Null => {
            out.sql(col);
            out.sql(" IS NULL");
        }
    }
}

/// The least string greater than every string that starts with `prefix`, in the
/// byte order both backends compare text in (SQLite's BINARY, PostgreSQL's
/// COLLATE "C"): the prefix with its last character replaced by the next code point,
/// after dropping trailing U+10FFFF. UTF-8 keeps code point order as byte order and
/// no character's encoding is a prefix of another's, so every extension of `prefix`
/// sorts below the result; stepping whole characters keeps the bound valid UTF-8,
/// which PostgreSQL requires of a text parameter. `None` when no string is greater
/// than all of them (an empty prefix, or only U+10FFFF).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
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

/// Escapes `\`, `%` and `_` for `LIKE ... ESCAPE '\'` and adds the wildcards: both
/// sides for `co`, the end for `sw`.
fn like_pattern(contains: bool, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if contains {
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

#[cfg(test)]
mod tests {
    //! The SQL of every filter operator and sort order, for a test list and for every
    //! endpoint's allow-lists on the columns of its list.

    use proptest::prelude::*;

    use super::super::access_profiles::{AP_COLUMNS, AP_ENTITLEMENT_COLUMNS};
    use super::super::directory::{
        ENTITLEMENT_COLUMNS, GROUP_COLUMNS, IDENTITY_COLUMNS, MEMBER_COLUMNS, SOURCE_COLUMNS,
    };
    use super::super::lifecycle::LIFECYCLE_STATE_COLUMNS;
    use super::super::roles::ROLE_COLUMNS;
    use super::super::segments::SEGMENT_COLUMNS;
    use super::super::source_apps::{APP_COLUMNS, APP_PROFILE_COLUMNS};
    use super::super::tasks::TASK_COLUMNS;
    use super::*;
    use crate::query::testing::{
        arb_expr, arb_typed_expr, cases, sorter_only_specs, token_soup, FILTER_ALPHABET, MARK,
        SORT_SPEC, TEST_SPEC,
    };
    use crate::query::{
        check_filter, compile_filter, parse_filter, sort_order, specs, Expr, FieldSpec, FieldType,
        FilterSpec, Op, SortSpec, Value,
    };

    /// Where the fields of `TEST_SPEC` live.
    static TEST_COLUMNS: Columns = Columns {
        key: "t.id",
        fields: &[
            ("s", nullable("t.s")),
            ("b", nullable("t.b")),
            ("d", nullable("t.d")),
            ("n", nullable("t.n")),
            (
                "members.id",
                Column::Subquery {
                    outer_col: "t.id",
                    table: "mm",
                    select_col: "tid",
                    where_col: "v",
                },
            ),
        ],
        base: None,
    };

    /// Where the fields of `SORT_SPEC` live: a nullable one, a NOT NULL one, the key.
    static SORT_COLUMNS: Columns = Columns {
        key: "x.id",
        fields: &[
            ("name", nullable("x.name")),
            ("created", not_null("x.created")),
            ("id", not_null("x.id")),
        ],
        base: None,
    };

    /// The columns of each endpoint's list, by operationId.
    fn columns_of(operation_id: &str) -> &'static Columns {
        match operation_id.strip_suffix("V1").unwrap_or(operation_id) {
            "listAccessProfiles" => &AP_COLUMNS,
            "listRoles" => &ROLE_COLUMNS,
            "listSources" => &SOURCE_COLUMNS,
            "listEntitlements" => &ENTITLEMENT_COLUMNS,
            "listIdentities" | "getPublicIdentities" => &IDENTITY_COLUMNS,
            "listWorkgroups" => &GROUP_COLUMNS,
            "listWorkgroupMembers" => &MEMBER_COLUMNS,
            "getAccessProfileEntitlements" => &AP_ENTITLEMENT_COLUMNS,
            "getTaskStatusList" | "getPendingTasks" => &TASK_COLUMNS,
            "listAvailableSourceApps" | "listAllSourceApp" | "listAssignedSourceApp" => {
                &APP_COLUMNS
            }
            "listAccessProfilesForSourceApp" => &APP_PROFILE_COLUMNS,
            "getLifecycleStates" => &LIFECYCLE_STATE_COLUMNS,
            "listSegments" => &SEGMENT_COLUMNS,
            other => panic!("no columns for {other}"),
        }
    }

    /// SQL text with `?` for each bind, plus the binds.
    fn sql_text(pieces: &[SqlPiece]) -> (String, Vec<Param>) {
        let mut text = String::new();
        let mut binds = Vec::new();
        for p in pieces {
            match p {
                SqlPiece::Sql(s) => text.push_str(s),
                SqlPiece::Bind(v) => {
                    text.push('?');
                    binds.push(v.clone());
                }
            }
        }
        (text, binds)
    }

    fn text(x: &str) -> Param {
        Param::Text(x.to_string())
    }

    /// `input` checked against `TEST_SPEC` and rendered on `TEST_COLUMNS`.
    fn pieces(input: &str) -> Vec<SqlPiece> {
        let filter = check_filter(&parse_filter(input).unwrap(), &TEST_SPEC).unwrap();
        filter_pieces(&filter, &TEST_COLUMNS).unwrap()
    }

    fn test_sql(input: &str) -> Result<(String, Vec<Param>), String> {
        let expr = parse_filter(input).map_err(|e| e.to_string())?;
        let filter = check_filter(&expr, &TEST_SPEC).map_err(|e| e.to_string())?;
        filter_pieces(&filter, &TEST_COLUMNS)
            .map(|p| sql_text(&p))
            .map_err(|e| e.to_string())
    }

    /// The ORDER BY of `sorters` (none: `None`) under `spec`, on `columns`.
    fn clause(input: Option<&str>, spec: &SortSpec, columns: &Columns) -> String {
        order_by(&sort_order(input, spec).unwrap(), columns).unwrap()
    }

    #[test]
    fn sql_for_every_operator() {
        let b = |x: bool| Param::Bool(x);
        let cases: Vec<(&str, &str, Vec<Param>)> = vec![
        (r#"s eq "x""#, "t.s = ?", vec![text("x")]),
        (r#"s ne "x""#, "(t.s <> ? OR t.s IS NULL)", vec![text("x")]),
        (r#"s gt "x""#, "t.s > ?", vec![text("x")]),
        (r#"s ge "x""#, "t.s >= ?", vec![text("x")]),
        (r#"s lt "x""#, "t.s < ?", vec![text("x")]),
        (r#"s le "x""#, "t.s <= ?", vec![text("x")]),
        (
            r#"s sw "Ab""#,
            "(lower(t.s) >= ? AND lower(t.s) < ? AND lower(t.s) LIKE ? ESCAPE '\\')",
            vec![text("ab"), text("ac"), text("ab%")],
        ),
        (
            r#"s co "Ab""#,
            "lower(t.s) LIKE ? ESCAPE '\\'",
            vec![text("%ab%")],
        ),
        (
            r#"s sw "50%_A\\b""#,
            "(lower(t.s) >= ? AND lower(t.s) < ? AND lower(t.s) LIKE ? ESCAPE '\\')",
            vec![
                text("50%_a\\b"),
                text("50%_a\\c"),
                text("50\\%\\_a\\\\b%"),
            ],
        ),
        (
            r#"s in ("a", "b", "c")"#,
            "t.s IN (?, ?, ?)",
            vec![text("a"), text("b"), text("c")],
        ),
        ("pr s", "t.s IS NOT NULL", vec![]),
        ("s isnull", "t.s IS NULL", vec![]),
        ("b eq true", "t.b = ?", vec![b(true)]),
        ("b ne false", "(t.b <> ? OR t.b IS NULL)", vec![b(false)]),
        (
            "b in (true, false)",
            "t.b IN (?, ?)",
            vec![b(true), b(false)],
        ),
        ("n eq 5", "t.n = ?", vec![Param::Int(5)]),
        ("n gt -2.5", "t.n > ?", vec![Param::Float(-2.5)]),
        ("n lt 3.0", "t.n < ?", vec![Param::Int(3)]),
        (
            "n le 99999999999999999999",
            "t.n <= ?",
            vec![Param::Float(1e20)],
        ),
        (
            "d gt 2020-01-01T01:00:00+01:00",
            "t.d > ?",
            vec![text("2020-01-01T00:00:00.000Z")],
        ),
        (
            r#"d le "2021-03-01T22:32:58.104Z""#,
            "t.d <= ?",
            vec![text("2021-03-01T22:32:58.104Z")],
        ),
        (
            "d in (2020-01-01T00:00:00Z, 2020-01-02T00:00:00Z)",
            "t.d IN (?, ?)",
            vec![
                text("2020-01-01T00:00:00.000Z"),
                text("2020-01-02T00:00:00.000Z"),
            ],
        ),
        (
            r#"d sw "2020-01""#,
            "(lower(t.d) >= ? AND lower(t.d) < ? AND lower(t.d) LIKE ? ESCAPE '\\')",
            vec![text("2020-01"), text("2020-02"), text("2020-01%")],
        ),
        (
            r#"members.id eq "x""#,
            "t.id IN (SELECT tid FROM mm WHERE v = ?)",
            vec![text("x")],
        ),
        (
            r#"members.id in ("x", "y")"#,
            "t.id IN (SELECT tid FROM mm WHERE v IN (?, ?))",
            vec![text("x"), text("y")],
        ),
        (
            r#"members.id ne "x""#,
            "t.id NOT IN (SELECT tid FROM mm WHERE v = ?)",
            vec![text("x")],
        ),
        (
            r#"members.id sw "x""#,
            "t.id IN (SELECT tid FROM mm WHERE (lower(v) >= ? AND lower(v) < ? AND lower(v) LIKE ? ESCAPE '\\'))",
            vec![text("x"), text("y"), text("x%")],
        ),
        (
            "pr members.id",
            "t.id IN (SELECT tid FROM mm WHERE v IS NOT NULL)",
            vec![],
        ),
        (
            "members.id isnull",
            "t.id NOT IN (SELECT tid FROM mm WHERE v IS NOT NULL)",
            vec![],
        ),
        (
            r#"s eq "a" and (b eq true or not n eq 1)"#,
            "(t.s = ? AND (t.b = ? OR NOT (t.n = ?)))",
            vec![text("a"), b(true), Param::Int(1)],
        ),
        (
            r#"s eq "a" or s eq "b" or s eq "c""#,
            "(t.s = ? OR t.s = ? OR t.s = ?)",
            vec![text("a"), text("b"), text("c")],
        ),
        (
            r#"not (s eq "a" and pr b)"#,
            "NOT ((t.s = ? AND t.b IS NOT NULL))",
            vec![text("a")],
        ),
    ];
        for (input, sql, binds) in cases {
            assert_eq!(
                test_sql(input).unwrap(),
                (sql.to_string(), binds),
                "input: {input}"
            );
        }
    }

    #[test]
    fn plus_and_offsets_reach_the_binds() {
        assert_eq!(
            test_sql(r#"s sw "C++""#).unwrap(),
            (
                "(lower(t.s) >= ? AND lower(t.s) < ? AND lower(t.s) LIKE ? ESCAPE '\\')"
                    .to_string(),
                vec![text("c++"), text("c+,"), text("c++%")]
            )
        );
        assert_eq!(
            test_sql("d gt 2020-01-01T00:00:00Z").unwrap().1,
            vec![text("2020-01-01T00:00:00.000Z")]
        );
        assert_eq!(
            test_sql("d gt 2020-01-01T00:00:00-05:00").unwrap().1,
            vec![text("2020-01-01T05:00:00.000Z")]
        );
        assert_eq!(
            test_sql("d gt 2020-01-01t00:00:00.5z").unwrap().1,
            vec![text("2020-01-01T00:00:00.500Z")]
        );
    }

    #[test]
    fn sql_pieces_are_merged() {
        let pieces = pieces(r#"s eq "a" and pr b"#);
        assert_eq!(
            pieces,
            vec![
                SqlPiece::Sql("(t.s = ".into()),
                SqlPiece::Bind(text("a")),
                SqlPiece::Sql(" AND t.b IS NOT NULL)".into()),
            ]
        );
    }

    #[test]
    fn sub_millisecond_bounds_are_rounded_exactly() {
        let bind = |input: &str| test_sql(input).unwrap().1;
        let t = "2020-01-01T00:00:00.1234Z";
        assert_eq!(
            bind(&format!("d gt {t}")),
            vec![text("2020-01-01T00:00:00.123Z")]
        );
        assert_eq!(
            bind(&format!("d le {t}")),
            vec![text("2020-01-01T00:00:00.123Z")]
        );
        assert_eq!(
            bind(&format!("d ge {t}")),
            vec![text("2020-01-01T00:00:00.124Z")]
        );
        assert_eq!(
            bind(&format!("d lt {t}")),
            vec![text("2020-01-01T00:00:00.124Z")]
        );
        assert_eq!(
            bind(&format!("d eq {t}")),
            vec![text("2020-01-01T00:00:00.123Z")]
        );
        assert_eq!(
            bind("d ge 2020-12-31T23:59:59.9999Z"),
            vec![text("2021-01-01T00:00:00.000Z")]
        );
        assert_eq!(
            bind("d ge 2020-01-01T00:00:00.123000Z"),
            vec![text("2020-01-01T00:00:00.123Z")]
        );
    }

    #[test]
    fn empty_groups_and_bare_tests() {
        let (sql, _) = sql_text(&filter_pieces(&Filter::And(vec![]), &TEST_COLUMNS).unwrap());
        assert_eq!(sql, "1 = 1");
        let (sql, _) = sql_text(&filter_pieces(&Filter::Or(vec![]), &TEST_COLUMNS).unwrap());
        assert_eq!(sql, "1 = 0");
        let filter = compile_filter(Some("pr s"), &TEST_SPEC).unwrap().unwrap();
        assert_eq!(
            sql_text(&filter_pieces(&filter, &TEST_COLUMNS).unwrap()).0,
            "t.s IS NOT NULL"
        );
    }

    #[test]
    fn a_field_the_list_does_not_store_is_an_error_not_sql() {
        let filter = Filter::Field {
            field: "nowhere",
            test: Test::Present,
        };
        assert!(filter_pieces(&filter, &TEST_COLUMNS).is_err());
        assert!(order_by(&[Sort::asc("nowhere")], &SORT_COLUMNS).is_err());
        assert!(order_by(&[Sort::asc("members.id")], &TEST_COLUMNS).is_err());
    }

    #[test]
    fn sorters() {
        let ok: &[(&str, &str)] = &[
            ("", "ORDER BY x.id ASC"),
            ("  ", "ORDER BY x.id ASC"),
            ("name", "ORDER BY x.name ASC NULLS LAST, x.id ASC"),
            ("-name", "ORDER BY x.name DESC NULLS LAST, x.id DESC"),
            // The tiebreak follows the last key, so an index on (created, id) serves
            // both directions.
            ("created", "ORDER BY x.created ASC, x.id ASC"),
            ("-created", "ORDER BY x.created DESC, x.id DESC"),
            (
                "name,-created",
                "ORDER BY x.name ASC NULLS LAST, x.created DESC, x.id DESC",
            ),
            (
                " -created , name ",
                "ORDER BY x.created DESC, x.name ASC NULLS LAST, x.id ASC",
            ),
            ("-id", "ORDER BY x.id DESC"),
            ("id,name", "ORDER BY x.id ASC, x.name ASC NULLS LAST"),
        ];
        for (input, expected) in ok {
            assert_eq!(
                &clause(Some(input), &SORT_SPEC, &SORT_COLUMNS),
                expected,
                "input: {input:?}"
            );
        }
        assert_eq!(clause(None, &SORT_SPEC, &SORT_COLUMNS), "ORDER BY x.id ASC");
    }

    #[test]
    fn sorter_default_order() {
        static WITH_DEFAULT: SortSpec = SortSpec {
            fields: &["name"],
            unsupported: &[],
            default: &[Sort::desc("name")],
        };
        assert_eq!(
            clause(None, &WITH_DEFAULT, &SORT_COLUMNS),
            "ORDER BY x.name DESC NULLS LAST, x.id DESC"
        );
        assert_eq!(
            clause(Some("name"), &WITH_DEFAULT, &SORT_COLUMNS),
            "ORDER BY x.name ASC NULLS LAST, x.id ASC"
        );
    }

    #[test]
    fn prefix_upper_bounds() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("a", Some("b")),
            ("az", Some("a{")),
            ("profile 0001", Some("profile 0002")),
            ("a\u{7F}", Some("a\u{80}")),
            ("é", Some("ê")),
            ("a\u{D7FF}", Some("a\u{E000}")),
            ("a\u{10FFFF}", Some("b")),
            ("a\u{10FFFF}\u{10FFFF}", Some("b")),
            ("\u{10FFFF}", None),
        ];
        for (prefix, expected) in cases {
            assert_eq!(
                prefix_upper_bound(prefix).as_deref(),
                *expected,
                "{prefix:?}"
            );
        }
    }

    /// The condition on a plain column, written out independently of the renderer.
    fn expected_cond(col: &str, op: Op) -> String {
        match op {
            Op::Eq => format!("{col} = ?"),
            Op::Ne => format!("({col} <> ? OR {col} IS NULL)"),
            Op::Gt => format!("{col} > ?"),
            Op::Ge => format!("{col} >= ?"),
            Op::Lt => format!("{col} < ?"),
            Op::Le => format!("{col} <= ?"),
            Op::Co => format!("lower({col}) LIKE ? ESCAPE '\\'"),
            Op::Sw => {
                format!(
                    "(lower({col}) >= ? AND lower({col}) < ? AND lower({col}) LIKE ? ESCAPE '\\')"
                )
            }
            Op::In => format!("{col} IN (?, ?)"),
            Op::Pr => format!("{col} IS NOT NULL"),
            Op::IsNull => format!("{col} IS NULL"),
        }
    }

    fn sample(ty: FieldType, op: Op) -> &'static str {
        match (op, ty) {
            (Op::Co | Op::Sw, _) => "\"Ab\"",
            (_, FieldType::Str) => "\"Ab\"",
            (_, FieldType::Bool) => "true",
            (_, FieldType::DateTime) => "2020-01-01T00:00:00+01:00",
            (_, FieldType::Num) => "7",
        }
    }

    fn filter_text(fs: &FieldSpec, op: Op) -> String {
        let v = sample(fs.ty, op);
        match op {
            Op::In => format!("{} in ({v}, {v})", fs.name),
            Op::Pr => format!("pr {}", fs.name),
            Op::IsNull => format!("{} isnull", fs.name),
            _ => format!("{} {op} {v}", fs.name),
        }
    }

    fn expected_bind(ty: FieldType, op: Op) -> Option<Param> {
        Some(match (op, ty) {
            (Op::Pr | Op::IsNull, _) => return None,
            (Op::Sw, _) => Param::Text("ab%".into()),
            (Op::Co, _) => Param::Text("%ab%".into()),
            (_, FieldType::Str) => Param::Text("Ab".into()),
            (_, FieldType::Bool) => Param::Bool(true),
            (_, FieldType::DateTime) => Param::Text("2019-12-31T23:00:00.000Z".into()),
            (_, FieldType::Num) => Param::Int(7),
        })
    }

    #[test]
    fn every_documented_field_and_operator_has_its_sql() {
        let mut rendered = 0;
        for case in cases() {
            let Some(spec) = case.filters else { continue };
            let columns = columns_of(case.operation_id);
            let ctx = format!("{} {}", case.version, case.operation_id);
            for fs in spec.fields {
                for &op in fs.ops {
                    let input = filter_text(fs, op);
                    let filter = compile_filter(Some(&input), spec).unwrap().unwrap();
                    let (sql, binds) = sql_text(&filter_pieces(&filter, columns).unwrap());
                    let cond = match columns.get(fs.name).unwrap() {
                        Column::Col { name, .. } | Column::Constant(name) => {
                            expected_cond(name, op)
                        }
                        Column::Subquery {
                            outer_col,
                            table,
                            select_col,
                            where_col,
                        } => format!(
                            "{outer_col} IN (SELECT {select_col} FROM {table} WHERE {})",
                            expected_cond(where_col, op)
                        ),
                    };
                    assert_eq!(sql, cond, "{ctx}: {input}");
                    let bind = expected_bind(fs.ty, op);
                    let expected: Vec<Param> = match op {
                        Op::In => vec![bind; 2].into_iter().flatten().collect(),
                        // The range on lower(col) comes before the pattern.
                        Op::Sw => ["ab", "ac"]
                            .map(|b| Param::Text(b.into()))
                            .into_iter()
                            .chain(bind)
                            .collect(),
                        _ => bind.into_iter().collect(),
                    };
                    assert_eq!(binds, expected, "{ctx}: {input}");
                    rendered += 1;
                }
            }
        }
        assert!(rendered > 100, "{rendered}");
    }

    #[test]
    fn every_documented_sorter_has_its_order_by() {
        let mut specs: Vec<(&str, &SortSpec)> = cases()
            .iter()
            .map(|c| (c.operation_id, c.sorters))
            .collect();
        specs.extend(sorter_only_specs());
        for (operation_id, spec) in specs {
            let columns = columns_of(operation_id);
            let key = columns.key;
            for &f in spec.fields {
                let Column::Col { name, not_null } = columns.get(f).unwrap() else {
                    panic!("{operation_id}: {f} is no column");
                };
                let nulls = if not_null { "" } else { " NULLS LAST" };
                let expected = |dir: &str| {
                    if name == key {
                        format!("ORDER BY {name} {dir}{nulls}")
                    } else {
                        format!("ORDER BY {name} {dir}{nulls}, {key} {dir}")
                    }
                };
                assert_eq!(
                    clause(Some(f), spec, columns),
                    expected("ASC"),
                    "{operation_id}"
                );
                assert_eq!(
                    clause(Some(&format!("-{f}")), spec, columns),
                    expected("DESC"),
                    "{operation_id}"
                );
            }
            let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
            let mut default: Vec<String> = spec
                .default
                .iter()
                .map(|s| {
                    let Column::Col { name, not_null } = columns.get(s.field).unwrap() else {
                        panic!("{operation_id}: {} is no column", s.field);
                    };
                    let nulls = if not_null { "" } else { " NULLS LAST" };
                    format!("{name} {}{nulls}", dir(s.desc))
                })
                .collect();
            let last_desc = spec.default.last().is_some_and(|s| s.desc);
            default.push(format!("{key} {}", dir(last_desc)));
            assert_eq!(
                clause(None, spec, columns),
                format!("ORDER BY {}", default.join(", ")),
                "{operation_id}"
            );
        }
    }

    /// Every column marked NOT NULL is a NOT NULL column in the migrated schema, and
    /// every one marked nullable may hold NULL: a wrong mark would either sort NULLs
    /// differently on the two backends or keep an index from serving the order.
    #[tokio::test]
    async fn columns_are_marked_not_null_exactly_when_the_schema_says_so() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut conn)
            .await
            .unwrap();
        // The table behind each alias the lists use.
        let table = |alias: &str| match alias {
            "ap" => "access_profiles",
            "r" => "roles",
            "s" => "sources",
            "e" => "entitlements",
            "i" => "identities",
            "g" => "governance_groups",
            "m" => "governance_group_members",
            "t" => "tasks",
            "ape" => "access_profile_entitlements",
            "ls" => "lifecycle_states",
            "sg" => "segments",
            "a" => "source_apps",
            "l" => "source_app_access_profiles",
            other => panic!("unknown alias {other}"),
        };
        let all: [&Columns; 13] = [
            &AP_COLUMNS,
            &AP_ENTITLEMENT_COLUMNS,
            &ENTITLEMENT_COLUMNS,
            &GROUP_COLUMNS,
            &IDENTITY_COLUMNS,
            &MEMBER_COLUMNS,
            &SOURCE_COLUMNS,
            &LIFECYCLE_STATE_COLUMNS,
            &ROLE_COLUMNS,
            &SEGMENT_COLUMNS,
            &APP_COLUMNS,
            &APP_PROFILE_COLUMNS,
            &TASK_COLUMNS,
        ];
        let mut checked = 0;
        for columns in all {
            let keys = columns
                .fields
                .iter()
                .filter_map(|(_, c)| match c {
                    Column::Col { name, not_null } => Some((*name, *not_null)),
                    _ => None,
                })
                .chain([(columns.key, true)]);
            for (column, marked_not_null) in keys {
                let (alias, name) = column.split_once('.').unwrap();
                let not_null: Option<bool> = sqlx::query_scalar(
                    "SELECT \"notnull\" <> 0 FROM pragma_table_info(?) WHERE name = ?",
                )
                .bind(table(alias))
                .bind(name)
                .fetch_optional(&mut conn)
                .await
                .unwrap();
                assert_eq!(not_null, Some(marked_not_null), "{column}");
                checked += 1;
            }
        }
        assert!(checked > 80, "{checked}");
    }

    /// Representative accepted filters with their exact SQL.
    #[test]
    fn representative_sql() {
        let t = |v: &str| Param::Text(v.to_string());
        let cases: Vec<(&FilterSpec, &Columns, &str, &str, Vec<Param>)> = vec![
        (
            &specs::LIST_ACCESS_PROFILES_FILTERS,
            &AP_COLUMNS,
            r#"source.id eq "2c9180835d191a86015d28455b4a2329" and requestable eq true and name sw "Acc_""#,
            "(ap.source_id = ? AND ap.requestable = ? AND (lower(ap.name) >= ? AND lower(ap.name) < ? AND lower(ap.name) LIKE ? ESCAPE '\\'))",
            vec![
                t("2c9180835d191a86015d28455b4a2329"),
                Param::Bool(true),
                t("acc_"),
                t("acc`"),
                t("acc\\_%"),
            ],
        ),
        (
            &specs::LIST_ACCESS_PROFILES_FILTERS,
            &AP_COLUMNS,
            r#"owner.id in ("a","b") or created gt 2021-03-01T22:32:58.104Z"#,
            "(ap.owner_id IN (?, ?) OR ap.created > ?)",
            vec![t("a"), t("b"), t("2021-03-01T22:32:58.104Z")],
        ),
        (
            &specs::LIST_ROLES_FILTERS,
            &ROLE_COLUMNS,
            r#"dimensional eq false and owner.id in ("a") and modified lt 2021-03-01T22:32:58.104Z"#,
            "(r.dimensional = ? AND r.owner_id IN (?) AND r.modified < ?)",
            vec![Param::Bool(false), t("a"), t("2021-03-01T22:32:58.104Z")],
        ),
        (
            &specs::LIST_SOURCES_FILTERS,
            &SOURCE_COLUMNS,
            r#"authoritative ne true and (healthy isnull or managementWorkgroup.id isnull)"#,
            "((s.authoritative <> ? OR s.authoritative IS NULL) AND (s.healthy IS NULL OR s.management_workgroup_id IS NULL))",
            vec![Param::Bool(true)],
        ),
        (
            &specs::LIST_SOURCES_FILTERS,
            &SOURCE_COLUMNS,
            r#"name co "AD" and connectorName ge "a""#,
            "(lower(s.name) LIKE ? ESCAPE '\\' AND s.connector_name >= ?)",
            vec![t("%ad%"), t("a")],
        ),
        (
            &specs::LIST_ENTITLEMENTS_V1_FILTERS,
            &ENTITLEMENT_COLUMNS,
            r#"attribute eq "memberOf" and value sw "CN=""#,
            "(e.attribute = ? AND (lower(e.value) >= ? AND lower(e.value) < ? AND lower(e.value) LIKE ? ESCAPE '\\'))",
            vec![t("memberOf"), t("cn="), t("cn>"), t("cn=%")],
        ),
        (
            &specs::LIST_IDENTITIES_FILTERS,
            &IDENTITY_COLUMNS,
            r#"firstname sw "Jo" and processingState eq "ERROR""#,
            "((lower(i.first_name) >= ? AND lower(i.first_name) < ? AND lower(i.first_name) LIKE ? ESCAPE '\\') AND i.processing_state = ?)",
            vec![t("jo"), t("jp"), t("jo%"), t("ERROR")],
        ),
        (
            &specs::GET_PUBLIC_IDENTITIES_FILTERS,
            &IDENTITY_COLUMNS,
            r#"email eq "a@b.c""#,
            "i.email = ?",
            vec![t("a@b.c")],
        ),
        (
            &specs::LIST_WORKGROUPS_FILTERS,
            &GROUP_COLUMNS,
            r#"memberships.identityId in ("i1", "i2") and name sw "Eng""#,
            "(g.id IN (SELECT group_id FROM governance_group_members WHERE identity_id IN (?, ?)) AND (lower(g.name) >= ? AND lower(g.name) < ? AND lower(g.name) LIKE ? ESCAPE '\\'))",
            vec![t("i1"), t("i2"), t("eng"), t("enh"), t("eng%")],
        ),
    ];
        for (spec, columns, input, sql, binds) in cases {
            let filter = compile_filter(Some(input), spec).unwrap().unwrap();
            let pieces = filter_pieces(&filter, columns).unwrap();
            assert_eq!(sql_text(&pieces), (sql.to_string(), binds), "{input}");
        }
        assert_eq!(
            clause(
                Some("-created,name"),
                &specs::LIST_WORKGROUP_MEMBERS_SORTERS,
                &MEMBER_COLUMNS
            ),
            "ORDER BY m.created DESC, i.name ASC, i.id ASC"
        );
        assert_eq!(
            clause(
                None,
                &specs::GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS,
                &AP_ENTITLEMENT_COLUMNS
            ),
            "ORDER BY ape.position ASC, e.id ASC"
        );
        assert_eq!(
            clause(
                Some("value"),
                &specs::GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS,
                &AP_ENTITLEMENT_COLUMNS
            ),
            "ORDER BY e.value ASC, e.id ASC"
        );
        assert_eq!(
            clause(
                Some("managementWorkgroup.id,-id"),
                &specs::LIST_SOURCES_SORTERS,
                &SOURCE_COLUMNS
            ),
            "ORDER BY s.management_workgroup_id ASC NULLS LAST, s.id DESC"
        );
    }

    #[test]
    fn lifecycle_states_and_segments_order_by() {
        for spec in [
            &specs::GET_LIFECYCLE_STATES_SORTERS,
            &specs::GET_LIFECYCLE_STATES_SORTERS,
        ] {
            let columns = &LIFECYCLE_STATE_COLUMNS;
            assert_eq!(
                clause(Some("-priority"), spec, columns),
                "ORDER BY ls.priority DESC NULLS LAST, ls.id DESC"
            );
            assert_eq!(
                clause(Some("-name"), spec, columns),
                "ORDER BY ls.name DESC, ls.id DESC"
            );
            assert_eq!(
                clause(None, spec, columns),
                "ORDER BY ls.created ASC, ls.id ASC"
            );
        }
        assert_eq!(
            clause(None, &specs::LIST_SEGMENTS_ORDER, &SEGMENT_COLUMNS),
            "ORDER BY sg.created ASC, sg.id ASC"
        );
    }

    /// The binds `e` compiles to: one per value, except `sw`, which binds its prefix, the
    /// prefix's upper bound (when there is one) and the `LIKE` pattern.
    fn count_values(e: &Expr) -> usize {
        match e {
            Expr::Cmp {
                op: Op::Sw,
                value: Value::Str(v),
                ..
            } => match prefix_upper_bound(&v.to_ascii_lowercase()) {
                Some(_) => 3,
                None => 2,
            },
            Expr::Cmp { .. } => 1,
            Expr::In { values, .. } => values.len(),
            Expr::Pr(_) | Expr::IsNull(_) => 0,
            Expr::And(items) | Expr::Or(items) => items.iter().map(count_values).sum(),
            Expr::Not(inner) => count_values(inner),
        }
    }

    fn assert_no_inline_values(pieces: &[SqlPiece]) -> Result<(), TestCaseError> {
        for piece in pieces {
            if let SqlPiece::Sql(sql) = piece {
                let stripped = sql.replace("ESCAPE '\\'", "");
                prop_assert!(!sql.contains(MARK), "value inlined: {sql}");
                prop_assert!(!stripped.contains(['\'', '"', '§']), "quote in SQL: {sql}");
                prop_assert!(sql.is_ascii(), "non-ASCII SQL: {sql}");
            }
        }
        // No two Sql pieces in a row.
        for pair in pieces.windows(2) {
            prop_assert!(
                !matches!(pair, [SqlPiece::Sql(_), SqlPiece::Sql(_)]),
                "unmerged SQL pieces"
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn filter_like_text_never_panics(input in FILTER_ALPHABET) {
            if let Ok(expr) = parse_filter(&input)
                && let Ok(filter) = check_filter(&expr, &specs::LIST_SOURCES_FILTERS) {
                    prop_assert!(filter_pieces(&filter, &SOURCE_COLUMNS).is_ok());
                }
        }

        #[test]
        fn parsed_input_never_inlines_values(input in prop_oneof![token_soup(), FILTER_ALPHABET.boxed()]) {
            if let Ok(expr) = parse_filter(&input)
                && let Ok(filter) = check_filter(&expr, &TEST_SPEC) {
                    assert_no_inline_values(&filter_pieces(&filter, &TEST_COLUMNS).unwrap())?;
                }
        }

        #[test]
        fn filter_pieces_never_inline_values(expr in arb_typed_expr()) {
            let filter = check_filter(&expr, &TEST_SPEC);
            prop_assert!(filter.is_ok(), "{:?}", filter);
            let pieces = filter_pieces(&filter.unwrap(), &TEST_COLUMNS);
            prop_assert!(pieces.is_ok(), "{:?}", pieces);
            let pieces = pieces.unwrap_or_default();
            assert_no_inline_values(&pieces)?;
            let binds: Vec<&Param> = pieces
                .iter()
                .filter_map(|p| match p {
                    SqlPiece::Bind(v) => Some(v),
                    SqlPiece::Sql(_) => None,
                })
                .collect();
            prop_assert_eq!(binds.len(), count_values(&expr));
            for b in binds {
                if let Param::Text(t) = b {
                    // Marked strings (possibly LIKE-wrapped), timestamps, or the upper
                    // bound of a `sw` on the bare mark.
                    let after_mark = char::from_u32(u32::from(MARK) + 1).map(String::from);
                    prop_assert!(
                        t.contains(MARK) || t.ends_with('Z') || Some(t) == after_mark.as_ref(),
                        "{}",
                        t
                    );
                }
            }
        }

        /// Every string that starts with the prefix sorts, by bytes (both backends' text
        /// order), at or above the prefix and below its upper bound.
        #[test]
        fn prefix_ranges_hold_every_extension(prefix in any::<String>(), rest in any::<String>()) {
            let extended = format!("{prefix}{rest}");
            prop_assert!(prefix.as_bytes() <= extended.as_bytes());
            match prefix_upper_bound(&prefix) {
                Some(upper) => prop_assert!(extended.as_bytes() < upper.as_bytes(), "{:?}", upper),
                None => prop_assert!(prefix.chars().all(|c| c == char::MAX)),
            }
        }

        #[test]
        fn arbitrary_trees_never_panic_in_sql(expr in arb_expr()) {
            let lists: [(&FilterSpec, &Columns); 3] = [
                (&TEST_SPEC, &TEST_COLUMNS),
                (&specs::LIST_SOURCES_FILTERS, &SOURCE_COLUMNS),
                (&specs::LIST_WORKGROUPS_FILTERS, &GROUP_COLUMNS),
            ];
            for (spec, columns) in lists {
                if let Ok(filter) = check_filter(&expr, spec) {
                    assert_no_inline_values(&filter_pieces(&filter, columns).unwrap())?;
                }
            }
        }

        #[test]
        fn every_parsed_order_is_rendered(soup in "[a-z, .-]{0,30}") {
            if let Ok(sorts) = crate::query::parse_sorters(&soup, &specs::LIST_SOURCES_SORTERS) {
                let clause = order_by(&sorts, &SOURCE_COLUMNS).unwrap();
                prop_assert!(clause.starts_with("ORDER BY "));
                prop_assert!(clause.contains("s."));
            }
        }
    }
}
