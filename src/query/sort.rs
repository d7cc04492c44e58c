//! `sorters`: comma-separated field names, each optionally prefixed by `-` for
//! descending order, e.g. `name,-created`.

use super::{snippet, QueryError};

/// One sort key: an API field name from the endpoint's [`SortSpec`] (a trusted
/// `&'static str`) and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// API field name, e.g. `created`.
    pub field: &'static str,
    pub desc: bool,
}

impl Sort {
    pub const fn asc(field: &'static str) -> Self {
        Sort { field, desc: false }
    }

    pub const fn desc(field: &'static str) -> Self {
        Sort { field, desc: true }
    }
}

/// The sorter allow-list of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortSpec {
    /// The sortable fields (API names), in the order the documentation lists them.
    pub fields: &'static [&'static str],
    /// Fields ISC documents but accessd cannot sort on yet.
    pub unsupported: &'static [&'static str],
    /// Order used when no sorters are given. Its fields may be ones a client cannot
    /// name (`position`: the order of a list the client wrote).
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
        match spec.fields.iter().find(|f| **f == name) {
            Some(&field) => {
                if out.iter().any(|s| s.field == field) {
                    return Err(QueryError::DuplicateSorter {
                        field: field.to_string(),
                    });
                }
                out.push(Sort { field, desc });
            }
            None if spec.unsupported.contains(&name) => {
                return Err(QueryError::SorterFieldNotImplemented {
                    field: name.to_string(),
                })
            }
            None => {
                return Err(QueryError::UnknownSorterField {
                    field: snippet(name),
                    supported: spec.fields.to_vec(),
                })
            }
        }
    }
    Ok(out)
}

/// The order of a list: the parsed `sorters` (`None` means none given), or the
/// spec's default when there are none. The store makes it total by appending the
/// listed rows' key.
pub fn sort_order(input: Option<&str>, spec: &SortSpec) -> Result<Vec<Sort>, QueryError> {
    let sorts = parse_sorters(input.unwrap_or(""), spec)?;
    Ok(if sorts.is_empty() {
        spec.default.to_vec()
    } else {
        sorts
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::query::specs;
    use crate::query::testing::SORT_SPEC;

    #[test]
    fn sorters() {
        let clause = |input: &str| parse_sorters(input, &SORT_SPEC);
        let ok: &[(&str, &[Sort])] = &[
            ("", &[]),
            ("  ", &[]),
            ("name", &[Sort::asc("name")]),
            ("-name", &[Sort::desc("name")]),
            ("created", &[Sort::asc("created")]),
            ("-created", &[Sort::desc("created")]),
            ("name,-created", &[Sort::asc("name"), Sort::desc("created")]),
            (
                " -created , name ",
                &[Sort::desc("created"), Sort::asc("name")],
            ),
            ("-id", &[Sort::desc("id")]),
            ("id,name", &[Sort::asc("id"), Sort::asc("name")]),
        ];
        for (input, expected) in ok {
            assert_eq!(&clause(input).unwrap(), expected, "input: {input:?}");
        }
        assert_eq!(sort_order(None, &SORT_SPEC).unwrap(), vec![]);
        assert_eq!(
            parse_sorters("name,-created", &SORT_SPEC).unwrap(),
            vec![
                Sort {
                    field: "name",
                    desc: false,
                },
                Sort {
                    field: "created",
                    desc: true,
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
            fields: &["name"],
            unsupported: &[],
            default: &[Sort::desc("name")],
        };
        assert_eq!(
            sort_order(None, &WITH_DEFAULT).unwrap(),
            vec![Sort::desc("name")]
        );
        assert_eq!(
            sort_order(Some(" "), &WITH_DEFAULT).unwrap(),
            vec![Sort::desc("name")]
        );
        assert_eq!(
            sort_order(Some("name"), &WITH_DEFAULT).unwrap(),
            vec![Sort::asc("name")]
        );
    }

    proptest! {
        #[test]
        fn parse_sorters_never_panics(input in any::<String>(), soup in "[a-z, .-]{0,30}") {
            let _ = parse_sorters(&input, &specs::LIST_SOURCES_SORTERS);
            if let Ok(sorts) = parse_sorters(&soup, &specs::LIST_SOURCES_SORTERS) {
                for s in sorts {
                    prop_assert!(specs::LIST_SOURCES_SORTERS.fields.contains(&s.field));
                }
            }
        }
    }
}
