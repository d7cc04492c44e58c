//! `sorters`: comma-separated field names, each optionally prefixed by `-` for
//! descending order, e.g. `name,-created`.

use super::{snippet, QueryError};

/// One parsed sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// API field name, e.g. `created`.
    pub field: &'static str,
    /// Trusted SQL expression, e.g. `ap.created`.
    pub column: &'static str,
    pub desc: bool,
    /// The column is declared NOT NULL (see [`SortField::not_null`]).
    pub not_null: bool,
}

/// One sortable field of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortField {
    /// API field name, e.g. `created`.
    pub name: &'static str,
    /// Trusted SQL expression, e.g. `ap.created`.
    pub column: &'static str,
    /// Whether the column is declared NOT NULL in both schemas (a test checks the
    /// marks against the migrations). A nullable column is sorted `NULLS LAST`, so that
    /// SQLite and PostgreSQL, whose defaults differ, put its NULLs in the same place; a
    /// NOT NULL one gets no NULLS clause, which the planners would otherwise have to
    /// prove redundant before an index on the column can serve the order.
    pub not_null: bool,
}

impl SortField {
    /// A field whose column is NOT NULL.
    pub const fn not_null(name: &'static str, column: &'static str) -> Self {
        SortField {
            name,
            column,
            not_null: true,
        }
    }

    /// A field whose column may hold NULL.
    pub const fn nullable(name: &'static str, column: &'static str) -> Self {
        SortField {
            name,
            column,
            not_null: false,
        }
    }
}

/// The sorter allow-list of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortSpec {
    /// The sortable fields, in the order the documentation lists them.
    pub fields: &'static [SortField],
    /// Fields ISC documents but accessd cannot sort on yet.
    pub unsupported: &'static [&'static str],
    /// Unique, non-null column appended to every ORDER BY so that paging is
    /// deterministic, e.g. `ap.id`.
    pub tiebreak: &'static str,
    /// Order used when no sorters are given (the tiebreak is still appended).
    pub default: &'static [Sort],
}

/// Parses the `sorters` parameter. An empty / all-whitespace input means "no
/// sorters". Whitespace around items is ignored; empty items, unknown fields and
/// duplicates (`name,-name`) are errors.
pub fn parse_sorters(input: &str, spec: &SortSpec) -> Result<Vec<Sort>, QueryError> {
    let mut out: Vec<Sort> = Vec::new();
    if input.trim().is_empty() {
        return Ok(out);
    }
    for (idx, raw) in input.split(',').enumerate() {
        let item = raw.trim();
        let (desc, name) = match item.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        if name.is_empty() {
            return Err(QueryError::SorterSyntax {
                message: format!(
                    "item {} is empty; expected a comma-separated list of field names, each optionally prefixed with '-' for descending order",
                    idx + 1
                ),
            });
        }
        match spec.fields.iter().find(|f| f.name == name) {
            Some(f) => {
                if out.iter().any(|s| s.field == f.name) {
                    return Err(QueryError::DuplicateSorter {
                        field: f.name.to_string(),
                    });
                }
                out.push(Sort {
                    field: f.name,
                    column: f.column,
                    desc,
                    not_null: f.not_null,
                });
            }
            None if spec.unsupported.contains(&name) => {
                return Err(QueryError::SorterFieldNotImplemented {
                    field: name.to_string(),
                })
            }
            None => {
                return Err(QueryError::UnknownSorterField {
                    field: snippet(name),
                    supported: spec.fields.iter().map(|f| f.name).collect(),
                })
            }
        }
    }
    Ok(out)
}

/// The full `ORDER BY ...` clause: the given sorts (or `spec.default` when
/// empty), nullable columns with `NULLS LAST` so SQLite and PostgreSQL agree, then
/// the tiebreak (omitted if already sorted on) in the direction of the last sort key.
/// E.g. `ORDER BY ap.created DESC, ap.id DESC`, which one backward scan of an index
/// on `(created, id)` serves at any offset; an ascending tiebreak after a descending
/// key would need a sort of every row before the page.
pub fn order_by(sorts: &[Sort], spec: &SortSpec) -> String {
    let sorts = if sorts.is_empty() {
        spec.default
    } else {
        sorts
    };
    let direction = |desc: bool| if desc { "DESC" } else { "ASC" };
    let mut parts: Vec<String> = sorts
        .iter()
        .map(|s| {
            let nulls = if s.not_null { "" } else { " NULLS LAST" };
            format!("{} {}{nulls}", s.column, direction(s.desc))
        })
        .collect();
    if !sorts.iter().any(|s| s.column == spec.tiebreak) {
        let desc = sorts.last().is_some_and(|s| s.desc);
        parts.push(format!("{} {}", spec.tiebreak, direction(desc)));
    }
    format!("ORDER BY {}", parts.join(", "))
}

/// Convenience: [`parse_sorters`] + [`order_by`]; `None` means no sorters.
pub fn sort_clause(input: Option<&str>, spec: &SortSpec) -> Result<String, QueryError> {
    let sorts = parse_sorters(input.unwrap_or(""), spec)?;
    Ok(order_by(&sorts, spec))
}
