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
}

/// The sorter allow-list of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortSpec {
    /// `(api name, sql expression)` pairs.
    pub fields: &'static [(&'static str, &'static str)],
    /// Fields ISC documents but accessd cannot sort on yet.
    pub unsupported: &'static [&'static str],
    /// Unique, non-null column appended (ascending) to every ORDER BY so that
    /// paging is deterministic, e.g. `ap.id`.
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
        match spec.fields.iter().find(|(api, _)| *api == name) {
            Some(&(field, column)) => {
                if out.iter().any(|s| s.field == field) {
                    return Err(QueryError::DuplicateSorter {
                        field: field.to_string(),
                    });
                }
                out.push(Sort {
                    field,
                    column,
                    desc,
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
                    supported: spec.fields.iter().map(|(api, _)| *api).collect(),
                })
            }
        }
    }
    Ok(out)
}

/// The full `ORDER BY ...` clause: the given sorts (or `spec.default` when
/// empty), each with `NULLS LAST` so SQLite and PostgreSQL agree, then the
/// tiebreak ascending (omitted if already sorted on). E.g.
/// `ORDER BY ap.name ASC NULLS LAST, ap.id ASC`.
pub fn order_by(sorts: &[Sort], spec: &SortSpec) -> String {
    let sorts = if sorts.is_empty() {
        spec.default
    } else {
        sorts
    };
    let mut parts: Vec<String> = sorts
        .iter()
        .map(|s| {
            format!(
                "{} {} NULLS LAST",
                s.column,
                if s.desc { "DESC" } else { "ASC" }
            )
        })
        .collect();
    if !sorts.iter().any(|s| s.column == spec.tiebreak) {
        parts.push(format!("{} ASC", spec.tiebreak));
    }
    format!("ORDER BY {}", parts.join(", "))
}

/// Convenience: [`parse_sorters`] + [`order_by`]; `None` means no sorters.
pub fn sort_clause(input: Option<&str>, spec: &SortSpec) -> Result<String, QueryError> {
    let sorts = parse_sorters(input.unwrap_or(""), spec)?;
    Ok(order_by(&sorts, spec))
}
