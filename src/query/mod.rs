//! ISC "V3 API Standard Collection Parameters": `filters`, `sorters` and paging
//! (`limit`, `offset`, `count`).
//!
//! The pipeline is:
//!
//! * [`parse_filter`] turns the `filters` text into an [`Expr`] (grammar only, no
//!   allow-list); [`render_filter`] turns it back into canonical text.
//! * [`check_filter`] validates an [`Expr`] against a per-endpoint [`FilterSpec`]
//!   (fields, operators, value types); [`filter_to_sql`] does the same and turns it
//!   into portable SQL pieces ([`SqlPiece`]) where every user value is a bind
//!   parameter, never inlined text.
//! * [`parse_sorters`] / [`order_by`] handle `sorters` against a [`SortSpec`].
//! * [`parse_paging`] handles `limit` / `offset` / `count`.
//!
//! The per-endpoint allow-lists live in [`specs`].
//!
//! This module is pure: no database or HTTP types. Column names in the specs are
//! trusted `&'static str`s; nothing from user input ever reaches the SQL text.

mod filter;
mod paging;
mod sort;
pub mod specs;
mod sql;

#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;

pub use filter::{parse_filter, render_filter, Expr, Number, Op, Value, MAX_DEPTH, MAX_IN_VALUES};
pub use paging::{parse_paging, Paging, DEFAULT_MAX_LIMIT, MAX_OFFSET};
pub use sort::{order_by, parse_sorters, sort_clause, Sort, SortField, SortSpec};
pub use sql::{
    check_filter, compile_filter, filter_to_sql, FieldSpec, FieldType, FilterSpec, SqlPiece,
    SqlValue, Target,
};

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
    /// `offset` or `count`.
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
