//! ISC "V3 API Standard Collection Parameters": `filters`, `sorters` and paging
//! (`limit`, `offset`, `count`).
//!
//! The pipeline is:
//!
//! * [`parse_filter`] turns the `filters` text into an [`Expr`] (grammar only, no
//!   allow-list); [`render_filter`] turns it back into canonical text.
//! * [`check_filter`] validates an [`Expr`] against a per-endpoint [`FilterSpec`]
//!   (fields, operators, value types) and gives the checked [`Filter`]: fields named
//!   by the spec's API names, values of the field's type.
//! * [`parse_sorters`] / [`sort_order`] turn `sorters` into typed [`Sort`]s against a
//!   [`SortSpec`].
//! * [`parse_paging`] handles `limit` / `offset` / `count`.
//!
//! The per-endpoint allow-lists live in [`specs`].
//!
//! This module is pure: no database or HTTP types, and no SQL. The store maps each
//! API field to where it is stored and renders the SQL, every value bound.

mod check;
mod filter;
mod paging;
mod sort;
pub mod specs;
#[cfg(test)]
pub(crate) mod testing;

pub use check::{
    check_filter, compile_filter, search_after, Compare, FieldSpec, FieldType, Filter, FilterSpec,
    Scalar, Test,
};
pub use filter::{parse_filter, render_filter, Expr, Number, Op, Value, MAX_DEPTH, MAX_IN_VALUES};
pub use paging::{parse_paging, Paging, DEFAULT_MAX_LIMIT, MAX_OFFSET};
pub use sort::{parse_sorters, sort_order, Sort, SortSpec};

pub use crate::domain::format_timestamp;

/// Errors from parsing / validating collection parameters. `Display` is a
/// human-readable message suitable for an API error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The `filters` text does not follow the grammar. `position` is the 1-based
    /// character position of the offending token (input length + 1 at the end).
    #[error("Invalid filter at position {position}: {message}")]
    FilterSyntax { position: usize, message: String },

    /// A well-formed but unusable expression tree (only possible for trees not
    /// produced by [`parse_filter`], e.g. `Cmp` with operator `in`).
    #[error("Invalid filter: {0}")]
    InvalidExpression(String),

    #[error("filter field '{field}' is not supported; supported fields: {}", .supported.join(", "))]
    UnknownFilterField {
        field: String,
        supported: Vec<&'static str>,
    },

    /// The field is documented by ISC for this endpoint but accessd has no
    /// storage for it.
    #[error("filter field '{field}' is not supported by accessd yet")]
    FilterFieldNotImplemented { field: String },

    #[error("operator '{op}' is not supported for field '{field}'; supported: {}", join_ops(.supported))]
    UnsupportedOperator {
        field: String,
        op: Op,
        supported: &'static [Op],
    },

    /// Value of the wrong type; `expected` completes "must be ...".
    #[error("value for filter field '{field}' must be {expected}")]
    InvalidFilterValue { field: String, expected: String },

    #[error("the 'not' operator is not supported by this endpoint; supported composite operators: and, or")]
    NotNotSupported,

    /// `searchAfter` does not name one value of the right type per sorter.
    #[error("Invalid searchAfter: {0}")]
    SearchAfter(String),

    #[error("Invalid sorters: {message}")]
    SorterSyntax { message: String },

    #[error("sorter field '{field}' is not supported; supported fields: {}", .supported.join(", "))]
    UnknownSorterField {
        field: String,
        supported: Vec<&'static str>,
    },

    #[error("sorter field '{field}' is not supported by accessd yet")]
    SorterFieldNotImplemented { field: String },

    #[error("sorter field '{field}' is specified more than once")]
    DuplicateSorter { field: String },

    /// `limit`, `offset` or `count` is malformed or out of range; `expected`
    /// completes "must be ...".
    #[error("Invalid {param} '{value}': must be {expected}")]
    InvalidPaging {
        param: &'static str,
        value: String,
        expected: String,
    },
}

impl QueryError {
    /// The query parameter the error is about: `filters`, `sorters`, `limit`,
    /// `offset`, `count` or `searchAfter`.
    pub fn parameter(&self) -> &'static str {
        match self {
            QueryError::FilterSyntax { .. }
            | QueryError::InvalidExpression(_)
            | QueryError::UnknownFilterField { .. }
            | QueryError::FilterFieldNotImplemented { .. }
            | QueryError::UnsupportedOperator { .. }
            | QueryError::InvalidFilterValue { .. }
            | QueryError::NotNotSupported => "filters",
            QueryError::SorterSyntax { .. }
            | QueryError::UnknownSorterField { .. }
            | QueryError::SorterFieldNotImplemented { .. }
            | QueryError::DuplicateSorter { .. } => "sorters",
            QueryError::InvalidPaging { param, .. } => param,
            QueryError::SearchAfter(_) => "searchAfter",
        }
    }
}

fn join_ops(ops: &[Op]) -> String {
    ops.iter()
        .map(|op| op.keyword())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Shortens user input echoed in error messages.
pub(crate) fn snippet(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::testing::SORT_SPEC;
    use super::*;

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
}
