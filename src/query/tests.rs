//! Grammar, rendering, SQL, sorter and paging tests (spec allow-lists are tested
//! in `spec_tests.rs`).

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// SQL text with `?` for each bind, plus the binds.
pub(super) fn sql_text(pieces: &[SqlPiece]) -> (String, Vec<SqlValue>) {
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

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}

fn cmp(field: &str, op: Op, value: Value) -> Expr {
    Expr::Cmp {
        field: field.to_string(),
        op,
        value,
    }
}

fn int(i: i64) -> Value {
    Value::Num(Number::Int(i))
}

fn dt(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn parse_err(input: &str) -> String {
    parse_filter(input).unwrap_err().to_string()
}

fn text(x: &str) -> SqlValue {
    SqlValue::Text(x.to_string())
}

/// A spec with one field of every type / target and every operator allowed.
static TEST_SPEC: FilterSpec = FilterSpec {
    fields: &[
        FieldSpec {
            name: "s",
            ty: FieldType::Str,
            ops: &Op::ALL,
            target: Target::Column("t.s"),
        },
        FieldSpec {
            name: "b",
            ty: FieldType::Bool,
            ops: &Op::ALL,
            target: Target::Column("t.b"),
        },
        FieldSpec {
            name: "d",
            ty: FieldType::DateTime,
            ops: &Op::ALL,
            target: Target::Column("t.d"),
        },
        FieldSpec {
            name: "n",
            ty: FieldType::Num,
            ops: &Op::ALL,
            target: Target::Column("t.n"),
        },
        FieldSpec {
            name: "m.id",
            ty: FieldType::Str,
            ops: &Op::ALL,
            target: Target::Subquery {
                outer_col: "t.id",
                table: "mm",
                select_col: "tid",
                where_col: "v",
            },
        },
    ],
    unsupported: &["later"],
    allow_not: true,
};

fn test_sql(input: &str) -> Result<(String, Vec<SqlValue>), String> {
    let expr = parse_filter(input).map_err(|e| e.to_string())?;
    filter_to_sql(&expr, &TEST_SPEC)
        .map(|p| sql_text(&p))
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------
// Grammar

#[test]
fn parses_every_operator() {
    let cases: Vec<(&str, Expr)> = vec![
        (r#"name eq "x""#, cmp("name", Op::Eq, s("x"))),
        (r#"name ne "x""#, cmp("name", Op::Ne, s("x"))),
        (r#"name gt "x""#, cmp("name", Op::Gt, s("x"))),
        (r#"name ge "x""#, cmp("name", Op::Ge, s("x"))),
        (r#"name lt "x""#, cmp("name", Op::Lt, s("x"))),
        (r#"name le "x""#, cmp("name", Op::Le, s("x"))),
        (r#"name co "x""#, cmp("name", Op::Co, s("x"))),
        (r#"name sw "x""#, cmp("name", Op::Sw, s("x"))),
        (
            r#"id in ("a","b")"#,
            Expr::In {
                field: "id".into(),
                values: vec![s("a"), s("b")],
            },
        ),
        (
            r#"id in ( "a" , "b" ,"c" )"#,
            Expr::In {
                field: "id".into(),
                values: vec![s("a"), s("b"), s("c")],
            },
        ),
        (
            r#"id in("a")"#,
            Expr::In {
                field: "id".into(),
                values: vec![s("a")],
            },
        ),
        ("pr name", Expr::Pr("name".into())),
        ("name isnull", Expr::IsNull("name".into())),
        (
            r#"owner.id eq "2c9180""#,
            cmp("owner.id", Op::Eq, s("2c9180")),
        ),
        (
            "privilegeLevel.direct eq true",
            cmp("privilegeLevel.direct", Op::Eq, Value::Bool(true)),
        ),
        (
            "memberships.identityId isnull",
            Expr::IsNull("memberships.identityId".into()),
        ),
        (
            "  requestable   eq\tfalse  ",
            cmp("requestable", Op::Eq, Value::Bool(false)),
        ),
        (r#"name eq"x""#, cmp("name", Op::Eq, s("x"))),
        (
            r#"not name eq "x""#,
            Expr::Not(Box::new(cmp("name", Op::Eq, s("x")))),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_filter(input).unwrap(), expected, "input: {input}");
    }
}

#[test]
fn precedence_and_grouping() {
    let a = || cmp("a", Op::Eq, int(1));
    let b = || cmp("b", Op::Eq, int(2));
    let c = || cmp("c", Op::Eq, int(3));
    let not = |e: Expr| Expr::Not(Box::new(e));
    let cases: Vec<(&str, Expr)> = vec![
        (
            "a eq 1 or b eq 2 and c eq 3",
            Expr::Or(vec![a(), Expr::And(vec![b(), c()])]),
        ),
        (
            "a eq 1 and b eq 2 or c eq 3",
            Expr::Or(vec![Expr::And(vec![a(), b()]), c()]),
        ),
        (
            "a eq 1 and b eq 2 and c eq 3",
            Expr::And(vec![a(), b(), c()]),
        ),
        ("a eq 1 or b eq 2 or c eq 3", Expr::Or(vec![a(), b(), c()])),
        (
            "(a eq 1 or b eq 2) and c eq 3",
            Expr::And(vec![Expr::Or(vec![a(), b()]), c()]),
        ),
        (
            "(a eq 1 and b eq 2) and c eq 3",
            Expr::And(vec![Expr::And(vec![a(), b()]), c()]),
        ),
        ("((a eq 1))", a()),
        // `not` binds tightest.
        ("not a eq 1 and b eq 2", Expr::And(vec![not(a()), b()])),
        ("not a eq 1 or b eq 2", Expr::Or(vec![not(a()), b()])),
        (
            "b eq 2 and not a eq 1 or c eq 3",
            Expr::Or(vec![Expr::And(vec![b(), not(a())]), c()]),
        ),
        ("not (a eq 1 and b eq 2)", not(Expr::And(vec![a(), b()]))),
        ("not not a eq 1", not(not(a()))),
        ("not(a eq 1)", not(a())),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_filter(input).unwrap(), expected, "input: {input}");
    }
}

#[test]
fn string_escapes() {
    assert_eq!(
        parse_filter(r#"name eq "a\"b\\c""#).unwrap(),
        cmp("name", Op::Eq, s("a\"b\\c"))
    );
    assert_eq!(
        parse_filter(r#"name eq "\\""#).unwrap(),
        cmp("name", Op::Eq, s("\\"))
    );
    assert_eq!(
        parse_filter(r#"name eq """#).unwrap(),
        cmp("name", Op::Eq, s(""))
    );
    // Whitespace, parentheses, commas and keywords inside strings are literal.
    assert_eq!(
        parse_filter(r#"name eq " a (b), and or ""#).unwrap(),
        cmp("name", Op::Eq, s(" a (b), and or "))
    );
    assert_eq!(
        parse_filter("name eq \"ünï 😀\"").unwrap(),
        cmp("name", Op::Eq, s("ünï 😀"))
    );
    assert_eq!(
        render_filter(&cmp("name", Op::Eq, s("a\"b\\c"))),
        r#"name eq "a\"b\\c""#
    );
    assert_eq!(
        parse_err(r#"name eq "a\nb""#),
        r#"Invalid filter at position 11: invalid escape sequence '\n' in string (only \" and \\ are allowed)"#
    );
    assert_eq!(
        parse_err(r#"name eq "a\'""#),
        r#"Invalid filter at position 11: invalid escape sequence '\'' in string (only \" and \\ are allowed)"#
    );
    assert_eq!(
        parse_err(r#"name eq "abc"#),
        r#"Invalid filter at position 9: unterminated string (missing closing '"')"#
    );
    assert_eq!(
        parse_err(r#"name eq "abc\"#),
        r#"Invalid filter at position 9: unterminated string (missing closing '"')"#
    );
}

#[test]
fn bare_values() {
    let value = |input: &str| match parse_filter(&format!("f eq {input}")).unwrap() {
        Expr::Cmp { value, .. } => value,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(value("true"), Value::Bool(true));
    assert_eq!(value("false"), Value::Bool(false));
    assert_eq!(value("42"), int(42));
    assert_eq!(value("-7"), int(-7));
    assert_eq!(value("007"), int(7));
    assert_eq!(value("3.25"), Value::Num(Number::Float(3.25)));
    assert_eq!(value("-0.5"), Value::Num(Number::Float(-0.5)));
    assert_eq!(value("3.0"), Value::Num(Number::Float(3.0)));
    assert_eq!(
        value("-9223372036854775808"),
        Value::Num(Number::Int(i64::MIN))
    );
    assert_eq!(
        value("99999999999999999999"),
        Value::Num(Number::Float(1e20))
    );
    assert_eq!(
        value("2020-01-01T00:00:00Z"),
        Value::DateTime(dt("2020-01-01T00:00:00Z"))
    );
    let with_offset = value("2020-01-01T00:00:00.123+02:00");
    assert_eq!(with_offset, Value::DateTime(dt("2019-12-31T22:00:00.123Z")));
    assert_eq!(
        with_offset.to_string(),
        "2020-01-01T00:00:00.123+02:00",
        "the offset is kept for rendering"
    );
    assert_eq!(
        value("2021-03-01T22:32:58.104-05:00"),
        Value::DateTime(dt("2021-03-02T03:32:58.104Z"))
    );
    assert_eq!(value("\"true\""), s("true"));
}

#[test]
fn plus_free_inputs() {
    // '+' is an ordinary character inside strings (ISC itself cannot filter on
    // names containing '+'; accessd can).
    assert_eq!(
        parse_filter(r#"name eq "a+b""#).unwrap(),
        cmp("name", Op::Eq, s("a+b"))
    );
    assert_eq!(
        test_sql(r#"s sw "C++""#).unwrap(),
        (
            "(lower(t.s) >= ? AND lower(t.s) < ? AND lower(t.s) LIKE ? ESCAPE '\\')".to_string(),
            vec![text("c++"), text("c+,"), text("c++%")]
        )
    );
    // Date-times that need no '+': UTC 'Z' and negative offsets.
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
    // A '+' offset that was not percent-encoded arrives as a space.
    assert_eq!(
        parse_err("created gt 2020-01-01T00:00:00.123 02:00"),
        "Invalid filter at position 12: invalid date-time '2020-01-01T00:00:00.123': expected RFC 3339 with a time zone, e.g. 2020-01-01T00:00:00Z or 2020-01-01T00:00:00.123-05:00 (a '+' in a URL query string must be percent-encoded as %2B)"
    );
    assert_eq!(
        parse_err("created gt 2020-13-01T00:00:00Z"),
        "Invalid filter at position 12: invalid date-time '2020-13-01T00:00:00Z': expected RFC 3339 with a time zone, e.g. 2020-01-01T00:00:00Z or 2020-01-01T00:00:00.123-05:00"
    );
}

/// A field that happens to spell `pr` or `not` in another case is a field when an
/// operator follows it (found by `generated_ast_round_trips`); before a field it is
/// still a miscased operator.
#[test]
fn miscased_prefix_words_followed_by_an_operator_are_fields() {
    assert_eq!(
        parse_filter(r#"_ eq "" or pR in ("")"#).unwrap(),
        Expr::Or(vec![
            Expr::Cmp {
                field: "_".into(),
                op: Op::Eq,
                value: Value::Str(String::new()),
            },
            Expr::In {
                field: "pR".into(),
                values: vec![Value::Str(String::new())],
            },
        ])
    );
    assert_eq!(
        parse_filter("Not eq 1").unwrap(),
        Expr::Cmp {
            field: "Not".into(),
            op: Op::Eq,
            value: Value::Num(Number::Int(1)),
        }
    );
    assert!(parse_filter("PR name")
        .unwrap_err()
        .to_string()
        .contains("use 'pr'"));
}

#[test]
fn syntax_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "Invalid filter at position 1: the filter is empty"),
        ("   ", "Invalid filter at position 4: the filter is empty"),
        (
            r#"name EQ "x""#,
            "Invalid filter at position 6: unknown operator 'EQ' (operators are lowercase: use 'eq')",
        ),
        (
            r#"name eq "x" AND id eq "y""#,
            "Invalid filter at position 13: unknown operator 'AND' (operators are lowercase: use 'and')",
        ),
        (
            r#"NOT name eq "x""#,
            "Invalid filter at position 1: unknown operator 'NOT' (operators are lowercase: use 'not')",
        ),
        (
            "name eq",
            "Invalid filter at position 8: expected a value after 'eq' but found the end of the filter",
        ),
        (
            "name eq abc",
            "Invalid filter at position 9: expected a value after 'eq' but found 'abc' (string values must be enclosed in double quotes)",
        ),
        (
            "name eq TRUE",
            "Invalid filter at position 9: expected a value after 'eq' but found 'TRUE' (booleans are lowercase: true or false)",
        ),
        (
            "name eq 1.",
            "Invalid filter at position 9: invalid number '1.' after 'eq' (numbers look like 42, -7 or 3.25)",
        ),
        (
            "name eq 1e5",
            "Invalid filter at position 9: invalid number '1e5' after 'eq' (numbers look like 42, -7 or 3.25)",
        ),
        (
            "name eq +1",
            "Invalid filter at position 9: expected a value after 'eq' but found '+1' (string values must be enclosed in double quotes)",
        ),
        (
            "name",
            "Invalid filter at position 5: expected an operator after 'name' but found the end of the filter",
        ),
        (
            r#"name xx "a""#,
            "Invalid filter at position 6: expected an operator (eq, ne, gt, ge, lt, le, co, sw, in, isnull) after 'name' but found 'xx'",
        ),
        (
            "name pr",
            "Invalid filter at position 6: 'pr' is a prefix operator: write 'pr name'",
        ),
        (
            "pr",
            "Invalid filter at position 3: expected a field name after 'pr' but found the end of the filter",
        ),
        (
            r#"eq eq "x""#,
            "Invalid filter at position 1: expected a field name but found the operator 'eq'",
        ),
        (
            r#"1abc eq "x""#,
            "Invalid filter at position 1: invalid field name '1abc' (field names look like name or owner.id)",
        ),
        (
            r#"a..b eq "x""#,
            "Invalid filter at position 1: invalid field name 'a..b' (field names look like name or owner.id)",
        ),
        (
            r#""x" eq name"#,
            "Invalid filter at position 1: expected a field name, 'not', 'pr' or '(' but found the string \"x\"",
        ),
        (
            "id in ()",
            "Invalid filter at position 8: the 'in' operator requires at least one value",
        ),
        (
            r#"id in ("a",)"#,
            "Invalid filter at position 12: expected a value after ',' but found ')'",
        ),
        (
            r#"id in ("a" "b")"#,
            "Invalid filter at position 12: expected ',' or ')' in the 'in' list but found the string \"b\"",
        ),
        (
            r#"id in "a""#,
            "Invalid filter at position 7: expected '(' after 'in' but found the string \"a\" (write id in (\"a\", \"b\"))",
        ),
        (
            r#"id in ("a""#,
            "Invalid filter at position 11: expected ',' or ')' in the 'in' list but found the end of the filter",
        ),
        (
            r#"(name eq "x""#,
            "Invalid filter at position 13: expected 'and', 'or' or ')' but found the end of the filter",
        ),
        (
            r#"name eq "x")"#,
            "Invalid filter at position 12: expected 'and', 'or' or the end of the filter but found ')'",
        ),
        (
            r#"name eq "x" name eq "y""#,
            "Invalid filter at position 13: expected 'and', 'or' or the end of the filter but found 'name'",
        ),
        (
            r#"name eq "x" and"#,
            "Invalid filter at position 16: expected a field name, 'not', 'pr' or '(' but found the end of the filter",
        ),
        (
            r#"name eq "x" or or id eq "y""#,
            "Invalid filter at position 16: expected a field name but found the operator 'or'",
        ),
        (
            "()",
            "Invalid filter at position 2: expected a field name, 'not', 'pr' or '(' but found ')'",
        ),
        (
            "not",
            "Invalid filter at position 4: expected a field name, 'not', 'pr' or '(' but found the end of the filter",
        ),
        (
            r#"name eq "x", id eq "y""#,
            "Invalid filter at position 12: expected 'and', 'or' or the end of the filter but found ','",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(&parse_err(input), expected, "input: {input}");
    }
}

#[test]
fn positions_count_characters_not_bytes() {
    assert_eq!(
        parse_err(r#"name eq "ü" x"#),
        "Invalid filter at position 13: expected 'and', 'or' or the end of the filter but found 'x'"
    );
}

#[test]
fn nesting_and_list_limits() {
    let deep_ok = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse_filter(&deep_ok).is_ok());
    let too_deep = format!(
        "{}a eq 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(
        parse_err(&too_deep),
        format!("Invalid filter at position {}: the filter is nested too deeply (at most 50 levels of parentheses and 'not')", MAX_DEPTH + 1)
    );
    let nots = format!("{}a eq 1", "not ".repeat(MAX_DEPTH + 1));
    assert!(parse_err(&nots).contains("nested too deeply"));
    // Huge inputs must not overflow the stack.
    let huge = "(".repeat(100_000);
    assert!(parse_err(&huge).contains("nested too deeply"));
    let huge_not = "not ".repeat(100_000);
    assert!(parse_err(&huge_not).contains("nested too deeply"));

    let list = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("\"v{i}\"")).collect();
        format!("id in ({})", values.join(","))
    };
    assert!(parse_filter(&list(MAX_IN_VALUES)).is_ok());
    let err = parse_err(&list(MAX_IN_VALUES + 1));
    assert!(
        err.ends_with("the 'in' operator accepts at most 250 values"),
        "{err}"
    );
}

#[test]
fn render_is_canonical() {
    let cases: &[(&str, &str)] = &[
        (
            r#"  name   eq "x"  and(id in("a" ,"b"))"#,
            r#"name eq "x" and id in ("a", "b")"#,
        ),
        (
            "(a eq 1 or b eq 2) and c eq 3",
            "(a eq 1 or b eq 2) and c eq 3",
        ),
        (
            "a eq 1 or (b eq 2 and c eq 3)",
            "a eq 1 or b eq 2 and c eq 3",
        ),
        (
            "(a eq 1 or b eq 2) or c eq 3",
            "(a eq 1 or b eq 2) or c eq 3",
        ),
        ("not (a eq 1)", "not a eq 1"),
        ("not (not (a isnull))", "not not a isnull"),
        ("not (a eq 1 or pr b)", "not (a eq 1 or pr b)"),
        ("n eq 3.0", "n eq 3.0"),
        ("n eq -0.50", "n eq -0.5"),
        ("n eq 0042", "n eq 42"),
        (
            "d gt 2020-01-01t00:00:00.100z",
            "d gt 2020-01-01T00:00:00.100Z",
        ),
        (
            "d gt 2020-01-01T00:00:00+00:00",
            "d gt 2020-01-01T00:00:00Z",
        ),
        (
            "d gt 2020-01-01T00:00:00.000001-05:30",
            "d gt 2020-01-01T00:00:00.000001-05:30",
        ),
    ];
    for (input, expected) in cases {
        let expr = parse_filter(input).unwrap();
        let rendered = render_filter(&expr);
        assert_eq!(&rendered, expected, "input: {input}");
        assert_eq!(parse_filter(&rendered).unwrap(), expr, "input: {input}");
        assert_eq!(expr.to_string(), rendered);
    }
}

#[test]
fn op_keywords() {
    for op in Op::ALL {
        assert_eq!(Op::from_keyword(op.keyword()), Some(op));
        assert_eq!(op.to_string(), op.keyword());
    }
    assert_eq!(Op::from_keyword("EQ"), None);
    assert_eq!(Op::IsNull.to_string(), "isnull");
}

// ---------------------------------------------------------------------------
// SQL

#[test]
fn sql_for_every_operator() {
    let b = |x: bool| SqlValue::Bool(x);
    let cases: Vec<(&str, &str, Vec<SqlValue>)> = vec![
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
        ("n eq 5", "t.n = ?", vec![SqlValue::Int(5)]),
        ("n gt -2.5", "t.n > ?", vec![SqlValue::Float(-2.5)]),
        ("n lt 3.0", "t.n < ?", vec![SqlValue::Int(3)]),
        (
            "n le 99999999999999999999",
            "t.n <= ?",
            vec![SqlValue::Float(1e20)],
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
            r#"m.id eq "x""#,
            "t.id IN (SELECT tid FROM mm WHERE v = ?)",
            vec![text("x")],
        ),
        (
            r#"m.id in ("x", "y")"#,
            "t.id IN (SELECT tid FROM mm WHERE v IN (?, ?))",
            vec![text("x"), text("y")],
        ),
        (
            r#"m.id ne "x""#,
            "t.id NOT IN (SELECT tid FROM mm WHERE v = ?)",
            vec![text("x")],
        ),
        (
            r#"m.id sw "x""#,
            "t.id IN (SELECT tid FROM mm WHERE (lower(v) >= ? AND lower(v) < ? AND lower(v) LIKE ? ESCAPE '\\'))",
            vec![text("x"), text("y"), text("x%")],
        ),
        (
            "pr m.id",
            "t.id IN (SELECT tid FROM mm WHERE v IS NOT NULL)",
            vec![],
        ),
        (
            "m.id isnull",
            "t.id NOT IN (SELECT tid FROM mm WHERE v IS NOT NULL)",
            vec![],
        ),
        (
            r#"s eq "a" and (b eq true or not n eq 1)"#,
            "(t.s = ? AND (t.b = ? OR NOT (t.n = ?)))",
            vec![text("a"), b(true), SqlValue::Int(1)],
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
fn sql_pieces_are_merged() {
    let pieces = filter_to_sql(&parse_filter(r#"s eq "a" and pr b"#).unwrap(), &TEST_SPEC).unwrap();
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
fn semantic_errors() {
    let cases: &[(&str, &str)] = &[
        (
            r#"x eq "a""#,
            "filter field 'x' is not supported; supported fields: s, b, d, n, m.id",
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
            "filter field 'x' is not supported; supported fields: s, b, d, n, m.id",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(&test_sql(input).unwrap_err(), expected, "input: {input}");
        let expr = parse_filter(input).unwrap();
        assert_eq!(
            &check_filter(&expr, &TEST_SPEC).unwrap_err().to_string(),
            expected
        );
    }
    assert!(test_sql("d gt 9999-12-31T23:59:59.999Z").is_ok());
    assert!(test_sql("d gt 0000-01-01T00:00:00Z").is_ok());
}

#[test]
fn long_input_is_shortened_in_messages() {
    let field = "f".repeat(100);
    let short = format!("{}…", "f".repeat(40));
    assert_eq!(
        test_sql(&format!("{field} eq \"x\"")).unwrap_err(),
        format!("filter field '{short}' is not supported; supported fields: s, b, d, n, m.id")
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
    let (sql, _) = sql_text(&filter_to_sql(&Expr::And(vec![]), &TEST_SPEC).unwrap());
    assert_eq!(sql, "1 = 1");
    let (sql, _) = sql_text(&filter_to_sql(&Expr::Or(vec![]), &TEST_SPEC).unwrap());
    assert_eq!(sql, "1 = 0");
}

#[test]
fn compile_filter_treats_blank_as_absent() {
    assert_eq!(compile_filter(None, &TEST_SPEC).unwrap(), None);
    assert_eq!(compile_filter(Some(""), &TEST_SPEC).unwrap(), None);
    assert_eq!(compile_filter(Some("  "), &TEST_SPEC).unwrap(), None);
    let pieces = compile_filter(Some("pr s"), &TEST_SPEC).unwrap().unwrap();
    assert_eq!(sql_text(&pieces).0, "t.s IS NOT NULL");
    assert!(compile_filter(Some("pr"), &TEST_SPEC).is_err());
}

#[test]
fn error_parameter_names() {
    let filter = parse_filter("x").unwrap_err();
    assert_eq!(filter.parameter(), "filters");
    assert_eq!(QueryError::NotNotSupported.parameter(), "filters");
    let sorter = parse_sorters("bogus", &SORT_SPEC).unwrap_err();
    assert_eq!(sorter.parameter(), "sorters");
    let paging = parse_paging(None, Some("x"), None, 250).unwrap_err();
    assert_eq!(paging.parameter(), "offset");
}

#[test]
fn timestamp_format() {
    let t = Utc.with_ymd_and_hms(2021, 3, 1, 22, 32, 58).unwrap()
        + chrono::TimeDelta::microseconds(104_999);
    assert_eq!(format_timestamp(&t), "2021-03-01T22:32:58.104Z");
    let t = Utc.with_ymd_and_hms(1999, 1, 2, 3, 4, 5).unwrap();
    assert_eq!(format_timestamp(&t), "1999-01-02T03:04:05.000Z");
}

// ---------------------------------------------------------------------------
// Sorters

static SORT_SPEC: SortSpec = SortSpec {
    fields: &[
        SortField::nullable("name", "x.name"),
        SortField::not_null("created", "x.created"),
        SortField::not_null("id", "x.id"),
    ],
    unsupported: &["owner.name"],
    tiebreak: "x.id",
    default: &[],
};

#[test]
fn sorters() {
    let clause = |input: &str| sort_clause(Some(input), &SORT_SPEC);
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
        assert_eq!(&clause(input).unwrap(), expected, "input: {input:?}");
    }
    assert_eq!(sort_clause(None, &SORT_SPEC).unwrap(), "ORDER BY x.id ASC");
    assert_eq!(
        parse_sorters("name,-created", &SORT_SPEC).unwrap(),
        vec![
            Sort {
                field: "name",
                column: "x.name",
                desc: false,
                not_null: false,
            },
            Sort {
                field: "created",
                column: "x.created",
                desc: true,
                not_null: true,
            },
        ]
    );

    let empty_item = |n: usize| {
        format!("Invalid sorters: item {n} is empty; expected a comma-separated list of field names, each optionally prefixed with '-' for descending order")
    };
    let err: Vec<(&str, String)> = vec![
        ("name,", empty_item(2)),
        (",name", empty_item(1)),
        ("name,,created", empty_item(2)),
        ("-", empty_item(1)),
        (
            "bogus",
            "sorter field 'bogus' is not supported; supported fields: name, created, id".into(),
        ),
        (
            "Name",
            "sorter field 'Name' is not supported; supported fields: name, created, id".into(),
        ),
        (
            "+name",
            "sorter field '+name' is not supported; supported fields: name, created, id".into(),
        ),
        (
            "--name",
            "sorter field '-name' is not supported; supported fields: name, created, id".into(),
        ),
        (
            "- name",
            "sorter field ' name' is not supported; supported fields: name, created, id".into(),
        ),
        (
            "owner.name",
            "sorter field 'owner.name' is not supported by accessd yet".into(),
        ),
        (
            "-owner.name",
            "sorter field 'owner.name' is not supported by accessd yet".into(),
        ),
        (
            "name,-name",
            "sorter field 'name' is specified more than once".into(),
        ),
        (
            "name,name",
            "sorter field 'name' is specified more than once".into(),
        ),
    ];
    for (input, expected) in err {
        assert_eq!(
            clause(input).unwrap_err().to_string(),
            expected,
            "input: {input:?}"
        );
    }
}

#[test]
fn sorter_default_order() {
    static WITH_DEFAULT: SortSpec = SortSpec {
        fields: &[SortField::nullable("name", "x.name")],
        unsupported: &[],
        tiebreak: "x.id",
        default: &[Sort {
            field: "name",
            column: "x.name",
            desc: true,
            not_null: false,
        }],
    };
    assert_eq!(
        sort_clause(None, &WITH_DEFAULT).unwrap(),
        "ORDER BY x.name DESC NULLS LAST, x.id DESC"
    );
    assert_eq!(
        sort_clause(Some("name"), &WITH_DEFAULT).unwrap(),
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
            super::sql::prefix_upper_bound(prefix).as_deref(),
            *expected,
            "{prefix:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Paging

#[test]
fn paging() {
    let p =
        |l: Option<&str>, o: Option<&str>, c: Option<&str>, max: i64| parse_paging(l, o, c, max);
    let ok = |limit, offset, count| Paging {
        limit,
        offset,
        count,
    };
    assert_eq!(p(None, None, None, 250).unwrap(), ok(250, 0, false));
    assert_eq!(p(None, None, None, 50).unwrap(), ok(50, 0, false));
    assert_eq!(
        p(Some(""), Some(""), Some(""), 250).unwrap(),
        ok(250, 0, false)
    );
    assert_eq!(
        p(Some("10"), Some("20"), Some("true"), 250).unwrap(),
        ok(10, 20, true)
    );
    assert_eq!(
        p(Some("0"), Some("0"), Some("false"), 250).unwrap(),
        ok(0, 0, false)
    );
    assert_eq!(p(Some("250"), None, None, 250).unwrap(), ok(250, 0, false));
    assert_eq!(p(Some("050"), None, None, 50).unwrap(), ok(50, 0, false));
    assert_eq!(
        p(None, Some("2147483647"), None, 250).unwrap(),
        ok(250, 2_147_483_647, false)
    );

    let err = |l, o, c, max| p(l, o, c, max).unwrap_err().to_string();
    let limit_250 = |v: &str| format!("Invalid limit '{v}': must be an integer between 0 and 250");
    for bad in [
        "251",
        "-1",
        "abc",
        "1.5",
        " 5",
        "+5",
        "1e2",
        "99999999999999999999999",
    ] {
        assert_eq!(
            err(Some(bad), None, None, 250),
            limit_250(bad),
            "limit {bad:?}"
        );
    }
    assert_eq!(
        err(Some("51"), None, None, 50),
        "Invalid limit '51': must be an integer between 0 and 50"
    );
    for bad in ["-1", "x", "2147483648", "0x10", "1 "] {
        assert_eq!(
            err(None, Some(bad), None, 250),
            format!("Invalid offset '{bad}': must be an integer between 0 and 2147483647"),
            "offset {bad:?}"
        );
    }
    for bad in ["yes", "1", "TRUE", "False", " true"] {
        assert_eq!(
            err(None, None, Some(bad), 250),
            format!("Invalid count '{bad}': must be true or false"),
            "count {bad:?}"
        );
    }
    let long = "9".repeat(100);
    assert_eq!(
        err(Some(&long), None, None, 250),
        format!(
            "Invalid limit '{}…': must be an integer between 0 and 250",
            "9".repeat(40)
        )
    );
}

// ---------------------------------------------------------------------------
// Property tests

const RESERVED: [&str; 14] = [
    "eq", "ne", "gt", "ge", "lt", "le", "co", "sw", "in", "pr", "isnull", "and", "or", "not",
];

fn arb_field() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}(\\.[a-zA-Z_][a-zA-Z0-9_]{0,6}){0,2}"
        .prop_filter("reserved word", |f| !RESERVED.contains(&f.as_str()))
}

fn arb_binop() -> impl Strategy<Value = Op> {
    prop::sample::select(
        Op::ALL
            .into_iter()
            .filter(|op| op.is_binary())
            .collect::<Vec<_>>(),
    )
}

fn arb_datetime() -> impl Strategy<Value = DateTime<FixedOffset>> {
    // Local times stay within years 0000..=9999 (RFC 3339 needs 4 digits).
    let min = -62_167_219_200_i64 + 86_400; // 0000-01-02
    let max = 253_402_300_799_i64 - 86_400; // 9999-12-30
    let nanos = prop_oneof![
        Just(0u32),
        (0u32..1000).prop_map(|ms| ms * 1_000_000),
        (0u32..1_000_000).prop_map(|us| us * 1000),
        0u32..1_000_000_000,
    ];
    (min..=max, nanos, -18 * 60..=18 * 60i32).prop_map(|(secs, nanos, offset_min)| {
        let utc = DateTime::from_timestamp(secs, nanos).unwrap();
        utc.with_timezone(&FixedOffset::east_opt(offset_min * 60).unwrap())
    })
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::Str),
        "[a-z\"\\\\ %_+]{0,6}".prop_map(Value::Str),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Num(Number::Int(i))),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| Value::Num(Number::Float(x))),
        (-1000i32..1000, 0u32..4).prop_map(|(m, scale)| Value::Num(Number::Float(
            f64::from(m) / f64::from(10u32.pow(scale))
        ))),
        arb_datetime().prop_map(Value::DateTime),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (arb_field(), arb_binop(), arb_value()).prop_map(|(field, op, value)| Expr::Cmp {
            field,
            op,
            value
        }),
        (arb_field(), vec(arb_value(), 1..5))
            .prop_map(|(field, values)| Expr::In { field, values }),
        arb_field().prop_map(Expr::Pr),
        arb_field().prop_map(Expr::IsNull),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(Expr::And),
            vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Marker put in front of every generated string value.
const MARK: char = '§';

fn marked() -> impl Strategy<Value = Value> {
    any::<String>().prop_map(|s| Value::Str(format!("{MARK}{s}")))
}

/// Expressions that are valid for `TEST_SPEC`, with marked string values.
fn arb_typed_expr() -> impl Strategy<Value = Expr> {
    let non_like = || arb_binop().prop_filter("not co/sw", |op| !matches!(op, Op::Co | Op::Sw));
    let str_field = || prop::sample::select(vec!["s", "m.id"]).prop_map(String::from);
    let any_field =
        || prop::sample::select(vec!["s", "b", "d", "n", "m.id"]).prop_map(String::from);
    let number = prop_oneof![
        any::<i64>().prop_map(Number::Int),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Number::Float),
    ];
    let leaf = prop_oneof![
        (str_field(), arb_binop(), marked()).prop_map(|(field, op, value)| Expr::Cmp {
            field,
            op,
            value
        }),
        (str_field(), vec(marked(), 1..5)).prop_map(|(field, values)| Expr::In { field, values }),
        (
            any_field(),
            prop::sample::select(vec![Op::Co, Op::Sw]),
            marked()
        )
            .prop_map(|(field, op, value)| Expr::Cmp { field, op, value }),
        (non_like(), any::<bool>()).prop_map(|(op, b)| cmp("b", op, Value::Bool(b))),
        (non_like(), number).prop_map(|(op, n)| cmp("n", op, Value::Num(n))),
        (non_like(), arb_datetime()).prop_map(|(op, d)| cmp("d", op, Value::DateTime(d))),
        vec(arb_datetime().prop_map(Value::DateTime), 1..4).prop_map(|values| Expr::In {
            field: "d".into(),
            values
        }),
        any_field().prop_map(Expr::Pr),
        any_field().prop_map(Expr::IsNull),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 1..4).prop_map(Expr::And),
            vec(inner.clone(), 1..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// The binds `e` compiles to: one per value, except `sw`, which binds its prefix, the
/// prefix's upper bound (when there is one) and the `LIKE` pattern.
fn count_values(e: &Expr) -> usize {
    match e {
        Expr::Cmp {
            op: Op::Sw,
            value: Value::Str(v),
            ..
        } => match super::sql::prefix_upper_bound(&v.to_ascii_lowercase()) {
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

const FILTER_ALPHABET: &str = "[a-zA-Z0-9 .,()\"\\\\:+_%-]{0,60}";
const FILTER_TOKENS: &[&str] = &[
    "name",
    "owner.id",
    "created",
    "d",
    "s",
    "b",
    "n",
    "m.id",
    " eq ",
    " ne ",
    " gt ",
    " ge ",
    " lt ",
    " le ",
    " co ",
    " sw ",
    " in ",
    "pr ",
    " isnull",
    " and ",
    " or ",
    "not ",
    "(",
    ")",
    ",",
    "\"x\"",
    "\"a\\\"b\"",
    "true",
    "false",
    "1",
    "-2.5",
    "2020-01-01T00:00:00Z",
    "2020-01-01T00:00:00.123+02:00",
    " ",
    "EQ",
    "\"",
];

fn token_soup() -> impl Strategy<Value = String> {
    vec(prop::sample::select(FILTER_TOKENS), 0..16).prop_map(|t| t.concat())
}

proptest! {
    #[test]
    fn parse_filter_never_panics(input in any::<String>()) {
        let _ = parse_filter(&input);
    }

    #[test]
    fn parse_filter_never_panics_on_filter_like_text(input in FILTER_ALPHABET) {
        if let Ok(expr) = parse_filter(&input) {
            let _ = check_filter(&expr, &TEST_SPEC);
            let _ = filter_to_sql(&expr, &specs::LIST_SOURCES_FILTERS);
        }
    }

    /// Whatever parses re-parses identically from its canonical rendering, and
    /// the rendering is a fixed point.
    #[test]
    fn parsed_input_round_trips(input in prop_oneof![token_soup(), FILTER_ALPHABET.boxed()]) {
        if let Ok(expr) = parse_filter(&input) {
            let rendered = render_filter(&expr);
            let reparsed = parse_filter(&rendered);
            prop_assert_eq!(reparsed.as_ref(), Ok(&expr), "rendered: {}", rendered);
            prop_assert_eq!(render_filter(&expr), rendered);
            if let Ok(pieces) = filter_to_sql(&expr, &TEST_SPEC) {
                assert_no_inline_values(&pieces)?;
            }
        }
    }

    #[test]
    fn generated_ast_round_trips(expr in arb_expr()) {
        let rendered = render_filter(&expr);
        let parsed = parse_filter(&rendered);
        prop_assert_eq!(parsed, Ok(expr), "rendered: {}", rendered);
    }

    #[test]
    fn filter_to_sql_never_inlines_values(expr in arb_typed_expr()) {
        let pieces = filter_to_sql(&expr, &TEST_SPEC);
        prop_assert!(pieces.is_ok(), "{:?}", pieces);
        let pieces = pieces.unwrap_or_default();
        assert_no_inline_values(&pieces)?;
        let binds: Vec<&SqlValue> = pieces
            .iter()
            .filter_map(|p| match p {
                SqlPiece::Bind(v) => Some(v),
                SqlPiece::Sql(_) => None,
            })
            .collect();
        prop_assert_eq!(binds.len(), count_values(&expr));
        for b in binds {
            if let SqlValue::Text(t) = b {
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
        match super::sql::prefix_upper_bound(&prefix) {
            Some(upper) => prop_assert!(extended.as_bytes() < upper.as_bytes(), "{:?}", upper),
            None => prop_assert!(prefix.chars().all(|c| c == char::MAX)),
        }
    }

    #[test]
    fn arbitrary_trees_never_panic_in_sql(expr in arb_expr()) {
        for spec in [&TEST_SPEC, &specs::LIST_SOURCES_FILTERS, &specs::LIST_WORKGROUPS_FILTERS] {
            if let Ok(pieces) = filter_to_sql(&expr, spec) {
                assert_no_inline_values(&pieces)?;
            }
        }
    }

    #[test]
    fn parse_sorters_never_panics(input in any::<String>(), soup in "[a-z, .-]{0,30}") {
        let _ = parse_sorters(&input, &specs::LIST_SOURCES_SORTERS);
        if let Ok(sorts) = parse_sorters(&soup, &specs::LIST_SOURCES_SORTERS) {
            let clause = order_by(&sorts, &specs::LIST_SOURCES_SORTERS);
            prop_assert!(clause.starts_with("ORDER BY "));
            prop_assert!(clause.contains("s."));
        }
    }

    #[test]
    fn parse_paging_never_panics(
        limit in proptest::option::of(any::<String>()),
        offset in proptest::option::of("-?[0-9]{0,22}"),
        count in proptest::option::of("true|false|.{0,5}"),
        max in -5i64..500,
    ) {
        if let Ok(p) = parse_paging(limit.as_deref(), offset.as_deref(), count.as_deref(), max) {
            prop_assert!(p.limit >= 0 && p.limit <= max.max(0));
            prop_assert!(p.offset >= 0 && p.offset <= MAX_OFFSET);
        }
    }
}
