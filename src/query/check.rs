//! Validation of filter trees against per-endpoint allow-lists: a parsed [`Expr`]
//! becomes a checked [`Filter`] whose fields are the spec's API names and whose
//! values have the field's type. How a field is stored is the store's business.

use chrono::{DateTime, Datelike, FixedOffset, TimeDelta, Timelike, Utc};

use super::filter::{parse_filter, Expr, Number, Op, Value, MAX_IN_VALUES};
use super::sort::Sort;
use super::{snippet, QueryError};

/// The type of a filterable field; decides which literal values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text; values must be quoted strings.
    Str,
    /// A flag; values must be `true` / `false`.
    Bool,
    /// A timestamp (stored with millisecond precision); values must be RFC 3339
    /// date-times (bare or quoted). With `co` / `sw` the value must be a quoted
    /// string matched against the timestamp's UTC text.
    DateTime,
    /// A number; values must be bare numbers.
    Num,
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

/// A value of a field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A UTC instant with millisecond precision (see [`check_filter`] for rounding).
    Timestamp(DateTime<Utc>),
}

/// The comparisons of `field op value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Eq,
    /// Also true where the field has no value.
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// What a filter asks of one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Cmp(Compare, Scalar),
    /// `co`: the text contains this, ignoring ASCII case.
    Contains(String),
    /// `sw`: the text starts with this, ignoring ASCII case.
    StartsWith(String),
    /// `in`: equal to one of these (1 to [`MAX_IN_VALUES`]).
    In(Vec<Scalar>),
    /// `pr`: the field has a value.
    Present,
    /// `isnull`: the field has no value.
    IsNull,
}

/// A filter checked against an endpoint's [`FilterSpec`]: every field is one of the
/// spec's (named by its API name, a trusted `&'static str`), every test allowed for
/// it, every value of its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every item holds (true when empty).
    And(Vec<Filter>),
    /// Some item holds (false when empty).
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Field {
        field: &'static str,
        test: Test,
    },
}

/// Validates `expr` against `spec`: every field must be in the allow-list, every
/// operator allowed for its field, every value of the field's type, and `not`
/// only where `spec.allow_not`. The first problem (left to right) is reported.
pub fn check_filter(expr: &Expr, spec: &FilterSpec) -> Result<Filter, QueryError> {
    match expr {
        Expr::And(items) => check_list(items, spec).map(Filter::And),
        Expr::Or(items) => check_list(items, spec).map(Filter::Or),
        Expr::Not(inner) => {
            if !spec.allow_not {
                return Err(QueryError::NotNotSupported);
            }
            Ok(Filter::Not(Box::new(check_filter(inner, spec)?)))
        }
        Expr::Cmp { field, op, value } => {
            if !op.is_binary() {
                return Err(QueryError::InvalidExpression(format!(
                    "operator '{op}' cannot be used as 'field {op} value'"
                )));
            }
            let fs = lookup(spec, field)?;
            check_op(fs, *op)?;
            let test = match op {
                Op::Co => Test::Contains(pattern_text(fs, *op, value)?),
                Op::Sw => Test::StartsWith(pattern_text(fs, *op, value)?),
                _ => {
                    let cmp = match op {
                        Op::Eq => Compare::Eq,
                        Op::Ne => Compare::Ne,
                        Op::Gt => Compare::Gt,
                        Op::Ge => Compare::Ge,
                        Op::Lt => Compare::Lt,
                        _ => Compare::Le,
                    };
                    Test::Cmp(cmp, convert(fs, *op, value)?)
                }
            };
            Ok(Filter::Field {
                field: fs.name,
                test,
            })
        }
        Expr::In { field, values } => {
            let fs = lookup(spec, field)?;
            check_op(fs, Op::In)?;
            if values.is_empty() || values.len() > MAX_IN_VALUES {
                return Err(QueryError::InvalidExpression(format!(
                    "the 'in' operator requires between 1 and {MAX_IN_VALUES} values"
                )));
            }
            let values = values
                .iter()
                .map(|v| convert(fs, Op::In, v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Filter::Field {
                field: fs.name,
                test: Test::In(values),
            })
        }
        Expr::Pr(field) => {
            let fs = lookup(spec, field)?;
            check_op(fs, Op::Pr)?;
            Ok(Filter::Field {
                field: fs.name,
                test: Test::Present,
            })
        }
        Expr::IsNull(field) => {
            let fs = lookup(spec, field)?;
            check_op(fs, Op::IsNull)?;
            Ok(Filter::Field {
                field: fs.name,
                test: Test::IsNull,
            })
        }
    }
}

/// Convenience: `None` or an all-whitespace `filters` parameter means "no
/// filter" (`Ok(None)`); otherwise parse and check.
pub fn compile_filter(
    input: Option<&str>,
    spec: &FilterSpec,
) -> Result<Option<Filter>, QueryError> {
    match input {
        Some(text) if !text.trim().is_empty() => {
            let expr = parse_filter(text)?;
            check_filter(&expr, spec).map(Some)
        }
        _ => Ok(None),
    }
}

/// `searchAfter` (v2026 `listEntitlements`): "the last values of the sorted fields in
/// the current record set", comma-separated, one per sorter, as the filter that keeps
/// the rows after them in that order: `s1 > v1 or (s1 = v1 and s2 > v2) or …` (`<`
/// for a descending sorter). Each value has its field's filter type.
pub fn search_after(
    input: Option<&str>,
    sort: &[Sort],
    spec: &FilterSpec,
) -> Result<Option<Filter>, QueryError> {
    let Some(text) = input.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let values: Vec<&str> = text.split(',').map(str::trim).collect();
    if sort.is_empty() || values.len() != sort.len() {
        return Err(QueryError::SearchAfter(format!(
            "it needs one value per sorter ({} sorters, {} values)",
            sort.len(),
            values.len()
        )));
    }
    let mut keys = Vec::with_capacity(sort.len());
    for (s, raw) in sort.iter().zip(&values) {
        let fs = spec.field(s.field).ok_or_else(|| {
            QueryError::SearchAfter(format!("sorter '{}' cannot be searched after", s.field))
        })?;
        let value = match fs.ty {
            FieldType::Bool => match *raw {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::Str((*raw).to_string()),
            },
            _ => Value::Str((*raw).to_string()),
        };
        let scalar = convert(fs, Op::Eq, &value).map_err(|_| {
            QueryError::SearchAfter(format!(
                "'{}' is not a value of sorter '{}'",
                snippet(raw),
                s.field
            ))
        })?;
        keys.push((fs.name, s.desc, scalar));
    }
    let after = (0..keys.len())
        .map(|i| {
            let mut terms: Vec<Filter> = keys[..i]
                .iter()
                .map(|(field, _, v)| Filter::Field {
                    field,
                    test: Test::Cmp(Compare::Eq, v.clone()),
                })
                .collect();
            let (field, desc, v) = &keys[i];
            terms.push(Filter::Field {
                field,
                test: Test::Cmp(if *desc { Compare::Lt } else { Compare::Gt }, v.clone()),
            });
            Filter::And(terms)
        })
        .collect();
    Ok(Some(Filter::Or(after)))
}

fn check_list(items: &[Expr], spec: &FilterSpec) -> Result<Vec<Filter>, QueryError> {
    items.iter().map(|item| check_filter(item, spec)).collect()
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

/// The text of `co` / `sw`, which must be a quoted string whatever the field's type.
fn pattern_text(fs: &FieldSpec, op: Op, value: &Value) -> Result<String, QueryError> {
    match value {
        Value::Str(s) => Ok(s.clone()),
        _ if fs.ty == FieldType::Str => Err(invalid(fs, "a string in double quotes")),
        _ => Err(invalid(
            fs,
            format!("a string in double quotes when used with '{op}'"),
        )),
    }
}

/// Converts a literal to a value of the field's type.
fn convert(fs: &FieldSpec, op: Op, value: &Value) -> Result<Scalar, QueryError> {
    match (fs.ty, value) {
        (FieldType::Str, Value::Str(s)) => Ok(Scalar::Text(s.clone())),
        (FieldType::Str, _) => Err(invalid(fs, "a string in double quotes")),
        (FieldType::Bool, Value::Bool(b)) => Ok(Scalar::Bool(*b)),
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

fn number_value(n: Number) -> Scalar {
    match n {
        Number::Int(i) => Scalar::Int(i),
        // i64::MIN as f64 is exactly -2^63; the i64 range is [-2^63, 2^63).
        Number::Float(x) if x.fract() == 0.0 && x >= i64::MIN as f64 && x < -(i64::MIN as f64) => {
            Scalar::Int(x as i64)
        }
        Number::Float(x) => Scalar::Float(x),
    }
}

/// Stored timestamps have millisecond precision. A sub-millisecond bound is
/// rounded so that comparisons stay exact: down for `gt` / `le`, up for
/// `ge` / `lt`; `eq` / `ne` / `in` truncate.
fn timestamp_value(
    fs: &FieldSpec,
    op: Op,
    dt: &DateTime<FixedOffset>,
) -> Result<Scalar, QueryError> {
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
    Ok(Scalar::Timestamp(ts))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::query::testing::{arb_expr, arb_typed_expr, cmp, FILTER_ALPHABET, TEST_SPEC};
    use crate::query::{format_timestamp, specs};

    fn check(input: &str) -> Result<Filter, String> {
        let expr = parse_filter(input).map_err(|e| e.to_string())?;
        check_filter(&expr, &TEST_SPEC).map_err(|e| e.to_string())
    }

    fn parse_err(input: &str) -> String {
        parse_filter(input).unwrap_err().to_string()
    }

    fn s(x: &str) -> Value {
        Value::Str(x.to_string())
    }

    fn on(field: &'static str, test: Test) -> Filter {
        Filter::Field { field, test }
    }

    fn text(x: &str) -> Scalar {
        Scalar::Text(x.to_string())
    }

    /// The timestamp of a checked comparison, as the store writes it.
    fn bound(input: &str) -> String {
        match check(input).unwrap() {
            Filter::Field {
                test: Test::Cmp(_, Scalar::Timestamp(ts)),
                ..
            } => format_timestamp(&ts),
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn every_operator_gives_its_typed_test() {
        let ts = |s: &str| {
            Scalar::Timestamp(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
        };
        let cases: Vec<(&str, Filter)> = vec![
            (r#"s eq "x""#, on("s", Test::Cmp(Compare::Eq, text("x")))),
            (r#"s ne "x""#, on("s", Test::Cmp(Compare::Ne, text("x")))),
            (r#"s gt "x""#, on("s", Test::Cmp(Compare::Gt, text("x")))),
            (r#"s ge "x""#, on("s", Test::Cmp(Compare::Ge, text("x")))),
            (r#"s lt "x""#, on("s", Test::Cmp(Compare::Lt, text("x")))),
            (r#"s le "x""#, on("s", Test::Cmp(Compare::Le, text("x")))),
            // Case is the store's business: the text is kept as written.
            (r#"s sw "Ab""#, on("s", Test::StartsWith("Ab".into()))),
            (r#"s co "Ab""#, on("s", Test::Contains("Ab".into()))),
            (
                r#"s in ("a", "b")"#,
                on("s", Test::In(vec![text("a"), text("b")])),
            ),
            ("pr s", on("s", Test::Present)),
            ("s isnull", on("s", Test::IsNull)),
            (
                "b eq true",
                on("b", Test::Cmp(Compare::Eq, Scalar::Bool(true))),
            ),
            ("n eq 5", on("n", Test::Cmp(Compare::Eq, Scalar::Int(5)))),
            (
                "n gt -2.5",
                on("n", Test::Cmp(Compare::Gt, Scalar::Float(-2.5))),
            ),
            ("n lt 3.0", on("n", Test::Cmp(Compare::Lt, Scalar::Int(3)))),
            (
                "n le 99999999999999999999",
                on("n", Test::Cmp(Compare::Le, Scalar::Float(1e20))),
            ),
            (
                "d gt 2020-01-01T01:00:00+01:00",
                on("d", Test::Cmp(Compare::Gt, ts("2020-01-01T00:00:00Z"))),
            ),
            (
                r#"d le "2021-03-01T22:32:58.104Z""#,
                on("d", Test::Cmp(Compare::Le, ts("2021-03-01T22:32:58.104Z"))),
            ),
            (
                r#"d sw "2020-01""#,
                on("d", Test::StartsWith("2020-01".into())),
            ),
            ("b co \"tr\"", on("b", Test::Contains("tr".into()))),
            (
                r#"members.id ne "x""#,
                on("members.id", Test::Cmp(Compare::Ne, text("x"))),
            ),
            (
                r#"s eq "a" and (b eq true or not n eq 1)"#,
                Filter::And(vec![
                    on("s", Test::Cmp(Compare::Eq, text("a"))),
                    Filter::Or(vec![
                        on("b", Test::Cmp(Compare::Eq, Scalar::Bool(true))),
                        Filter::Not(Box::new(on("n", Test::Cmp(Compare::Eq, Scalar::Int(1))))),
                    ]),
                ]),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(check(input).unwrap(), expected, "input: {input}");
        }
    }

    #[test]
    fn date_times_are_kept_in_utc_to_the_millisecond() {
        assert_eq!(
            bound("d gt 2020-01-01T00:00:00Z"),
            "2020-01-01T00:00:00.000Z"
        );
        assert_eq!(
            bound("d gt 2020-01-01T00:00:00-05:00"),
            "2020-01-01T05:00:00.000Z"
        );
        assert_eq!(
            bound("d gt 2020-01-01t00:00:00.5z"),
            "2020-01-01T00:00:00.500Z"
        );
    }

    #[test]
    fn sub_millisecond_bounds_are_rounded_exactly() {
        let t = "2020-01-01T00:00:00.1234Z";
        assert_eq!(bound(&format!("d gt {t}")), "2020-01-01T00:00:00.123Z");
        assert_eq!(bound(&format!("d le {t}")), "2020-01-01T00:00:00.123Z");
        assert_eq!(bound(&format!("d ge {t}")), "2020-01-01T00:00:00.124Z");
        assert_eq!(bound(&format!("d lt {t}")), "2020-01-01T00:00:00.124Z");
        assert_eq!(bound(&format!("d eq {t}")), "2020-01-01T00:00:00.123Z");
        assert_eq!(
            bound("d ge 2020-12-31T23:59:59.9999Z"),
            "2021-01-01T00:00:00.000Z"
        );
        assert_eq!(
            bound("d ge 2020-01-01T00:00:00.123000Z"),
            "2020-01-01T00:00:00.123Z"
        );
    }

    #[test]
    fn semantic_errors() {
        let cases: &[(&str, &str)] = &[
        (
            r#"x eq "a""#,
            "filter field 'x' is not supported; supported fields: s, b, d, n, members.id",
        ),
        (
            r#"later eq "a""#,
            "filter field 'later' is not supported by accessd yet",
        ),
        (
            "s eq true",
            "value for filter field 's' must be a string in double quotes",
        ),
        (
            "s eq 1",
            "value for filter field 's' must be a string in double quotes",
        ),
        (
            "s eq 2020-01-01T00:00:00Z",
            "value for filter field 's' must be a string in double quotes",
        ),
        (
            r#"s in ("a", 1)"#,
            "value for filter field 's' must be a string in double quotes",
        ),
        (
            "s sw 1",
            "value for filter field 's' must be a string in double quotes",
        ),
        (
            r#"b eq "true""#,
            "value for filter field 'b' must be true or false",
        ),
        ("b eq 1", "value for filter field 'b' must be true or false"),
        (r#"n eq "1""#, "value for filter field 'n' must be a number"),
        (
            r#"d gt "yesterday""#,
            "value for filter field 'd' must be an RFC 3339 date-time such as 2020-01-01T00:00:00Z",
        ),
        (
            "d gt 5",
            "value for filter field 'd' must be an RFC 3339 date-time such as 2020-01-01T00:00:00Z",
        ),
        (
            "d sw 2020-01-01T00:00:00Z",
            "value for filter field 'd' must be a string in double quotes when used with 'sw'",
        ),
        (
            "b co true",
            "value for filter field 'b' must be a string in double quotes when used with 'co'",
        ),
        (
            "d gt 9999-12-31T23:59:59-01:00",
            "value for filter field 'd' must be a date-time between the years 0000 and 9999 (UTC)",
        ),
        (
            "d gt 0000-01-01T00:00:00+01:00",
            "value for filter field 'd' must be a date-time between the years 0000 and 9999 (UTC)",
        ),
        // The first problem from the left is reported.
        (
            r#"s eq "a" and x eq 1 and y eq 2"#,
            "filter field 'x' is not supported; supported fields: s, b, d, n, members.id",
        ),
    ];
        for (input, expected) in cases {
            assert_eq!(&check(input).unwrap_err(), expected, "input: {input}");
            let expr = parse_filter(input).unwrap();
            assert_eq!(
                &check_filter(&expr, &TEST_SPEC).unwrap_err().to_string(),
                expected
            );
        }
        assert!(check("d gt 9999-12-31T23:59:59.999Z").is_ok());
        assert!(check("d gt 0000-01-01T00:00:00Z").is_ok());
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        let field = "f".repeat(100);
        let short = format!("{}…", "f".repeat(40));
        assert_eq!(
            check(&format!("{field} eq \"x\"")).unwrap_err(),
            format!(
                "filter field '{short}' is not supported; supported fields: s, b, d, n, members.id"
            )
        );
        assert_eq!(
        parse_err(&field),
        format!("Invalid filter at position 101: expected an operator after '{short}' but found the end of the filter")
    );
        assert_eq!(
        parse_err(&format!("name eq {field}")),
        format!("Invalid filter at position 9: expected a value after 'eq' but found '{short}' (string values must be enclosed in double quotes)")
    );
    }

    #[test]
    fn not_is_rejected_unless_allowed() {
        let spec = FilterSpec {
            allow_not: false,
            ..TEST_SPEC
        };
        let expr = parse_filter(r#"s eq "a" and not s eq "b""#).unwrap();
        let err = check_filter(&expr, &spec).unwrap_err();
        assert_eq!(err, QueryError::NotNotSupported);
        assert_eq!(
        err.to_string(),
        "the 'not' operator is not supported by this endpoint; supported composite operators: and, or"
    );
        assert!(check_filter(&expr, &TEST_SPEC).is_ok());
    }

    #[test]
    fn hand_built_trees() {
        let bad = cmp("s", Op::In, s("a"));
        assert_eq!(
            check_filter(&bad, &TEST_SPEC).unwrap_err().to_string(),
            "Invalid filter: operator 'in' cannot be used as 'field in value'"
        );
        let empty_in = Expr::In {
            field: "s".into(),
            values: vec![],
        };
        assert_eq!(
            check_filter(&empty_in, &TEST_SPEC).unwrap_err().to_string(),
            "Invalid filter: the 'in' operator requires between 1 and 250 values"
        );
        assert_eq!(
            check_filter(&Expr::And(vec![]), &TEST_SPEC).unwrap(),
            Filter::And(vec![])
        );
        assert_eq!(
            check_filter(&Expr::Or(vec![]), &TEST_SPEC).unwrap(),
            Filter::Or(vec![])
        );
    }

    #[test]
    fn compile_filter_treats_blank_as_absent() {
        assert_eq!(compile_filter(None, &TEST_SPEC).unwrap(), None);
        assert_eq!(compile_filter(Some(""), &TEST_SPEC).unwrap(), None);
        assert_eq!(compile_filter(Some("  "), &TEST_SPEC).unwrap(), None);
        assert_eq!(
            compile_filter(Some("pr s"), &TEST_SPEC).unwrap(),
            Some(on("s", Test::Present))
        );
        assert!(compile_filter(Some("pr"), &TEST_SPEC).is_err());
    }

    proptest! {
        #[test]
        fn check_never_panics_on_filter_like_text(input in FILTER_ALPHABET) {
            if let Ok(expr) = parse_filter(&input) {
                let _ = check_filter(&expr, &TEST_SPEC);
                let _ = check_filter(&expr, &specs::LIST_SOURCES_FILTERS);
            }
        }

        #[test]
        fn every_well_typed_tree_is_accepted(expr in arb_typed_expr()) {
            let checked = check_filter(&expr, &TEST_SPEC);
            prop_assert!(checked.is_ok(), "{:?}", checked);
        }

        #[test]
        fn arbitrary_trees_never_panic(expr in arb_expr()) {
            for spec in [&TEST_SPEC, &specs::LIST_SOURCES_FILTERS, &specs::LIST_WORKGROUPS_FILTERS] {
                let _ = check_filter(&expr, spec);
            }
        }
    }
}
