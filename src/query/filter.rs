//! Filter grammar: lexer, recursive-descent parser, AST and canonical renderer.
//!
//! ```text
//! filter   := or_expr
//! or_expr  := and_expr ( "or" and_expr )*
//! and_expr := unary ( "and" unary )*
//! unary    := "not" unary | primary
//! primary  := "(" or_expr ")" | "pr" FIELD | FIELD "isnull"
//!           | FIELD BINOP VALUE | FIELD "in" "(" VALUE ( "," VALUE )* ")"
//! BINOP    := eq | ne | gt | ge | lt | le | co | sw
//! VALUE    := STRING | true | false | NUMBER | DATETIME
//! ```
//!
//! Keywords are lowercase only. `STRING` is double-quoted with `\"` and `\\` as
//! the only escapes. `NUMBER` is `-?[0-9]+(\.[0-9]+)?`. `DATETIME` is RFC 3339
//! with a mandatory offset (`Z` or `±hh:mm`).

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat};

use super::{snippet, QueryError};

/// Maximum number of values in an `in (...)` list.
pub const MAX_IN_VALUES: usize = 250;
/// Maximum nesting of parentheses and `not`.
pub const MAX_DEPTH: usize = 50;

/// A filter operator. `Display` gives the lowercase keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Co,
    Sw,
    In,
    Pr,
    IsNull,
}

impl Op {
    pub const ALL: [Op; 11] = [
        Op::Eq,
        Op::Ne,
        Op::Gt,
        Op::Ge,
        Op::Lt,
        Op::Le,
        Op::Co,
        Op::Sw,
        Op::In,
        Op::Pr,
        Op::IsNull,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Co => "co",
            Op::Sw => "sw",
            Op::In => "in",
            Op::Pr => "pr",
            Op::IsNull => "isnull",
        }
    }

    /// Exact (lowercase) keyword lookup.
    pub fn from_keyword(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.keyword() == s)
    }

    /// Operators of the form `field op value`.
    pub fn is_binary(self) -> bool {
        matches!(
            self,
            Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le | Op::Co | Op::Sw
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A numeric literal. Integers that fit in `i64` are kept exact; anything with a
/// fractional part (or too large for `i64`) is a finite `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => {
                // `Display` for f64 never uses exponent notation and is the
                // shortest text that round-trips; add ".0" so it re-parses as a
                // Float rather than an Int.
                let s = x.to_string();
                if s.contains('.') || !x.is_finite() {
                    f.write_str(&s)
                } else {
                    write!(f, "{s}.0")
                }
            }
        }
    }
}

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Num(Number),
    /// Equality compares instants (offsets are ignored), as chrono does.
    DateTime(DateTime<FixedOffset>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) => write!(f, "{n}"),
            Value::DateTime(dt) => f.write_str(&dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// Filter expression tree.
///
/// `And` / `Or` are n-ary: `a and b and c` parses as one `And` with three
/// children, while a parenthesised group stays a separate child, so
/// `parse_filter(&render_filter(e)) == e` for every tree whose `And`/`Or` nodes
/// have at least two children (which is every tree the parser produces).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `field op value` for the binary operators `eq ne gt ge lt le co sw`.
    Cmp {
        field: String,
        op: Op,
        value: Value,
    },
    /// `field in (v1, v2, ...)`.
    In {
        field: String,
        values: Vec<Value>,
    },
    /// `pr field`.
    Pr(String),
    /// `field isnull`.
    IsNull(String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_filter(self))
    }
}

/// Canonical text of a filter: single spaces, `in` lists as `("a", "b")`,
/// parentheses only where needed to preserve the tree shape.
pub fn render_filter(expr: &Expr) -> String {
    let mut out = String::new();
    render(expr, &mut out);
    out
}

fn render(expr: &Expr, out: &mut String) {
    match expr {
        Expr::Cmp { field, op, value } => {
            out.push_str(field);
            out.push(' ');
            out.push_str(op.keyword());
            out.push(' ');
            out.push_str(&value.to_string());
        }
        Expr::In { field, values } => {
            out.push_str(field);
            out.push_str(" in (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&v.to_string());
            }
            out.push(')');
        }
        Expr::Pr(field) => {
            out.push_str("pr ");
            out.push_str(field);
        }
        Expr::IsNull(field) => {
            out.push_str(field);
            out.push_str(" isnull");
        }
        Expr::And(items) => render_list(items, " and ", out, |e| {
            matches!(e, Expr::And(_) | Expr::Or(_))
        }),
        Expr::Or(items) => render_list(items, " or ", out, |e| matches!(e, Expr::Or(_))),
        Expr::Not(inner) => {
            out.push_str("not ");
            if matches!(**inner, Expr::And(_) | Expr::Or(_)) {
                out.push('(');
                render(inner, out);
                out.push(')');
            } else {
                render(inner, out);
            }
        }
    }
}

fn render_list(items: &[Expr], sep: &str, out: &mut String, needs_parens: fn(&Expr) -> bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        if needs_parens(item) {
            out.push('(');
            render(item, out);
            out.push(')');
        } else {
            render(item, out);
        }
    }
}

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Str(String),
    /// Any maximal run of characters other than whitespace, `(`, `)`, `,`, `"`:
    /// keywords, field names, bare values.
    Word(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position of the token's first character.
    pos: usize,
}

fn syntax(position: usize, message: impl Into<String>) -> QueryError {
    QueryError::FilterSyntax {
        position,
        message: message.into(),
    }
}

fn is_delim(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '"')
}

fn lex(input: &str) -> Result<(Vec<Token>, usize), QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let pos = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                let tok = match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Comma,
                };
                out.push(Token { tok, pos });
                i += 1;
            }
            '"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(syntax(pos, "unterminated string (missing closing '\"')"))
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => match chars.get(i + 1) {
                            Some(&e @ ('"' | '\\')) => {
                                s.push(e);
                                i += 2;
                            }
                            Some(other) => {
                                return Err(syntax(
                                    i + 1,
                                    format!(
                                        "invalid escape sequence '\\{other}' in string (only \\\" and \\\\ are allowed)"
                                    ),
                                ))
                            }
                            None => {
                                return Err(syntax(
                                    pos,
                                    "unterminated string (missing closing '\"')",
                                ))
                            }
                        },
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token {
                    tok: Tok::Str(s),
                    pos,
                });
            }
            _ => {
                let start = i;
                while chars.get(i).is_some_and(|&ch| !is_delim(ch)) {
                    i += 1;
                }
                let word: String = chars.get(start..i).unwrap_or_default().iter().collect();
                out.push(Token {
                    tok: Tok::Word(word),
                    pos,
                });
            }
        }
    }
    Ok((out, chars.len() + 1))
}

// ---------------------------------------------------------------------------
// Parser

const RESERVED: [&str; 14] = [
    "eq", "ne", "gt", "ge", "lt", "le", "co", "sw", "in", "pr", "isnull", "and", "or", "not",
];

fn describe(tok: Option<&Tok>) -> String {
    match tok {
        None => "the end of the filter".to_string(),
        Some(Tok::LParen) => "'('".to_string(),
        Some(Tok::RParen) => "')'".to_string(),
        Some(Tok::Comma) => "','".to_string(),
        Some(Tok::Str(s)) => format!("the string {}", Value::Str(snippet(s))),
        Some(Tok::Word(w)) => format!("'{}'", snippet(w)),
    }
}

/// `w` is a keyword written in the wrong case (e.g. `EQ`, `And`).
fn miscased_keyword(w: &str) -> Option<String> {
    let lower = w.to_ascii_lowercase();
    if lower != w && RESERVED.contains(&lower.as_str()) {
        Some(format!(
            "unknown operator '{w}' (operators are lowercase: use '{lower}')"
        ))
    } else {
        None
    }
}

fn is_identifier(w: &str) -> bool {
    !w.is_empty()
        && w.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn looks_like_datetime(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() > 4 && b.iter().take(4).all(u8::is_ascii_digit) && b.get(4) == Some(&b'-')
}

fn parse_number(w: &str) -> Option<Number> {
    let digits = w.strip_prefix('-').unwrap_or(w);
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || !frac_part.is_none_or(all_digits) {
        return None;
    }
    if frac_part.is_none()
        && let Ok(i) = w.parse::<i64>()
    {
        return Some(Number::Int(i));
    }
    match w.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(Number::Float(x)),
        _ => None,
    }
}

/// Parses a bare (unquoted) value; `Err` holds the error message.
fn parse_bare_value(w: &str, after: &str) -> Result<Value, String> {
    match w {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if looks_like_datetime(w) {
        return DateTime::parse_from_rfc3339(w).map(Value::DateTime).map_err(|_| {
            let mut msg = format!(
                "invalid date-time '{}': expected RFC 3339 with a time zone, e.g. 2020-01-01T00:00:00Z or 2020-01-01T00:00:00.123-05:00",
                snippet(w)
            );
            if !w.contains(['Z', 'z', '+']) {
                msg.push_str(" (a '+' in a URL query string must be percent-encoded as %2B)");
            }
            msg
        });
    }
    if let Some(n) = parse_number(w) {
        return Ok(Value::Num(n));
    }
    let first = w.chars().next();
    if first.is_some_and(|c| c.is_ascii_digit() || c == '-') {
        return Err(format!(
            "invalid number '{}' after '{after}' (numbers look like 42, -7 or 3.25)",
            snippet(w)
        ));
    }
    let hint = match w.to_ascii_lowercase().as_str() {
        "true" | "false" => " (booleans are lowercase: true or false)",
        _ => " (string values must be enclosed in double quotes)",
    };
    Err(format!(
        "expected a value after '{after}' but found '{}'{hint}",
        snippet(w)
    ))
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    end_pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end_pos, |t| t.pos)
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn enter(&mut self, pos: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(syntax(
                pos,
                format!("the filter is nested too deeply (at most {MAX_DEPTH} levels of parentheses and 'not')"),
            ));
        }
        Ok(())
    }

    /// Error for a token that cannot continue an expression.
    fn unexpected_after_expr(&self, expected: &str) -> QueryError {
        let msg = match self.peek() {
            Some(Tok::Word(w)) => miscased_keyword(w),
            _ => None,
        }
        .unwrap_or_else(|| format!("expected {expected} but found {}", describe(self.peek())));
        syntax(self.pos(), msg)
    }

    fn parse_or(&mut self) -> Result<Expr, QueryError> {
        let first = self.parse_and()?;
        if !self.peek_word("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.peek_word("or") {
            self.i += 1;
            items.push(self.parse_and()?);
        }
        Ok(Expr::Or(items))
    }

    fn parse_and(&mut self) -> Result<Expr, QueryError> {
        let first = self.parse_unary()?;
        if !self.peek_word("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.peek_word("and") {
            self.i += 1;
            items.push(self.parse_unary()?);
        }
        Ok(Expr::And(items))
    }

    fn parse_unary(&mut self) -> Result<Expr, QueryError> {
        if self.peek_word("not") {
            let pos = self.pos();
            self.i += 1;
            self.enter(pos)?;
            let inner = self.parse_unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Expr, QueryError> {
        let pos = self.pos();
        match self.peek() {
            Some(Tok::LParen) => {
                self.i += 1;
                self.enter(pos)?;
                let inner = self.parse_or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.unexpected_after_expr("'and', 'or' or ')'"));
                }
                self.i += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(Tok::Word(w)) if w == "pr" => {
                self.i += 1;
                let field = self.expect_field("after 'pr'")?;
                Ok(Expr::Pr(field))
            }
            Some(Tok::Word(_)) => {
                let field = self.expect_field("")?;
                self.parse_op_rest(field)
            }
            other => Err(syntax(
                pos,
                format!(
                    "expected a field name, 'not', 'pr' or '(' but found {}",
                    describe(other)
                ),
            )),
        }
    }

    fn expect_field(&mut self, context: &str) -> Result<String, QueryError> {
        let pos = self.pos();
        let sep = if context.is_empty() { "" } else { " " };
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                if RESERVED.contains(&w.as_str()) {
                    return Err(syntax(
                        pos,
                        format!("expected a field name{sep}{context} but found the operator '{w}'"),
                    ));
                }
                // `PR name` / `Not x eq 1` are miscased operators; but a word followed by
                // an operator (`pR in (...)`) can only be a field.
                let next_is_operator = matches!(
                    self.toks.get(self.i + 1).map(|t| &t.tok),
                    Some(Tok::Word(n)) if RESERVED.contains(&n.to_ascii_lowercase().as_str())
                );
                if !next_is_operator
                    && matches!(w.to_ascii_lowercase().as_str(), "not" | "pr")
                    && let Some(msg) = miscased_keyword(&w)
                {
                    return Err(syntax(pos, msg));
                }
                if !is_identifier(&w) {
                    return Err(syntax(
                        pos,
                        format!(
                            "invalid field name '{}' (field names look like name or owner.id)",
                            snippet(&w)
                        ),
                    ));
                }
                self.i += 1;
                Ok(w)
            }
            other => Err(syntax(
                pos,
                format!(
                    "expected a field name{sep}{context} but found {}",
                    describe(other)
                ),
            )),
        }
    }

    fn parse_op_rest(&mut self, field: String) -> Result<Expr, QueryError> {
        let pos = self.pos();
        let shown = snippet(&field);
        let word = match self.peek() {
            Some(Tok::Word(w)) => w.clone(),
            other => {
                return Err(syntax(
                    pos,
                    format!(
                        "expected an operator after '{shown}' but found {}",
                        describe(other)
                    ),
                ))
            }
        };
        match Op::from_keyword(&word) {
            Some(Op::IsNull) => {
                self.i += 1;
                Ok(Expr::IsNull(field))
            }
            Some(Op::In) => {
                self.i += 1;
                self.parse_in_list(field)
            }
            Some(Op::Pr) => Err(syntax(
                pos,
                format!("'pr' is a prefix operator: write 'pr {shown}'"),
            )),
            Some(op) => {
                self.i += 1;
                let value = self.parse_value(op.keyword())?;
                Ok(Expr::Cmp { field, op, value })
            }
            None => {
                let msg = miscased_keyword(&word).unwrap_or_else(|| {
                    format!(
                        "expected an operator (eq, ne, gt, ge, lt, le, co, sw, in, isnull) after '{shown}' but found '{}'",
                        snippet(&word)
                    )
                });
                Err(syntax(pos, msg))
            }
        }
    }

    fn parse_value(&mut self, after: &str) -> Result<Value, QueryError> {
        let pos = self.pos();
        let value = match self.peek() {
            Some(Tok::Str(s)) => Value::Str(s.clone()),
            Some(Tok::Word(w)) => parse_bare_value(w, after).map_err(|m| syntax(pos, m))?,
            other => {
                return Err(syntax(
                    pos,
                    format!(
                        "expected a value after '{after}' but found {}",
                        describe(other)
                    ),
                ))
            }
        };
        self.i += 1;
        Ok(value)
    }

    fn parse_in_list(&mut self, field: String) -> Result<Expr, QueryError> {
        let shown = snippet(&field);
        if self.peek() != Some(&Tok::LParen) {
            return Err(syntax(
                self.pos(),
                format!(
                    "expected '(' after 'in' but found {} (write {shown} in (\"a\", \"b\"))",
                    describe(self.peek())
                ),
            ));
        }
        self.i += 1;
        if self.peek() == Some(&Tok::RParen) {
            return Err(syntax(
                self.pos(),
                "the 'in' operator requires at least one value",
            ));
        }
        let mut values = Vec::new();
        let mut after = "in (";
        loop {
            let pos = self.pos();
            values.push(self.parse_value(after)?);
            if values.len() > MAX_IN_VALUES {
                return Err(syntax(
                    pos,
                    format!("the 'in' operator accepts at most {MAX_IN_VALUES} values"),
                ));
            }
            match self.peek() {
                Some(Tok::Comma) => {
                    self.i += 1;
                    after = ",";
                }
                Some(Tok::RParen) => {
                    self.i += 1;
                    break;
                }
                other => {
                    return Err(syntax(
                        self.pos(),
                        format!(
                            "expected ',' or ')' in the 'in' list but found {}",
                            describe(other)
                        ),
                    ))
                }
            }
        }
        Ok(Expr::In { field, values })
    }
}

/// Parses the `filters` query parameter. Grammar only: field names are not
/// checked against any allow-list (see [`super::check_filter`]).
///
/// An empty or all-whitespace input is an error; callers that treat an empty
/// `filters` parameter as "no filter" should check for that first (or use
/// [`super::compile_filter`]).
pub fn parse_filter(input: &str) -> Result<Expr, QueryError> {
    let (toks, end_pos) = lex(input)?;
    if toks.is_empty() {
        return Err(syntax(end_pos, "the filter is empty"));
    }
    let mut p = Parser {
        toks,
        i: 0,
        end_pos,
        depth: 0,
    };
    let expr = p.parse_or()?;
    if p.peek().is_some() {
        return Err(p.unexpected_after_expr("'and', 'or' or the end of the filter"));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, FixedOffset};
    use proptest::prelude::*;

    use super::*;
    use crate::query::testing::{arb_expr, cmp, token_soup, FILTER_ALPHABET};

    fn s(x: &str) -> Value {
        Value::Str(x.to_string())
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
            parse_filter(r#"s sw "C++""#).unwrap(),
            cmp("s", Op::Sw, s("C++"))
        );
        // Date-times that need no '+': UTC 'Z' and negative offsets.
        assert_eq!(
            parse_filter("d gt 2020-01-01T00:00:00-05:00").unwrap(),
            cmp("d", Op::Gt, Value::DateTime(dt("2020-01-01T05:00:00Z")))
        );
        assert_eq!(
            parse_filter("d gt 2020-01-01t00:00:00.5z").unwrap(),
            cmp("d", Op::Gt, Value::DateTime(dt("2020-01-01T00:00:00.500Z")))
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

    proptest! {
        #[test]
        fn parse_filter_never_panics(input in any::<String>()) {
            let _ = parse_filter(&input);
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
            }
        }

        #[test]
        fn generated_ast_round_trips(expr in arb_expr()) {
            let rendered = render_filter(&expr);
            let parsed = parse_filter(&rendered);
            prop_assert_eq!(parsed, Ok(expr), "rendered: {}", rendered);
        }
    }
}
