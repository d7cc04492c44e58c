//! `limit`, `offset` and `count`.

use super::{snippet, QueryError};

/// The usual maximum (and default) `limit`.
pub const DEFAULT_MAX_LIMIT: i64 = 250;
/// `offset` is an int32 in the API specification.
pub const MAX_OFFSET: i64 = i32::MAX as i64;

/// Validated paging parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
    pub count: bool,
}

/// Parses the paging parameters of a list endpoint whose maximum `limit` is
/// `max_limit` (250 for most endpoints, 50 for workgroup members); the default
/// `limit` is `max_limit`, the default `offset` 0 and the default `count` false.
///
/// Values must be plain decimal digits (`limit` in `0..=max_limit`, `offset` in
/// `0..=2147483647`) and `count` exactly `true` or `false`. A parameter that is
/// absent or present but empty (`?limit=`) takes its default, like ISC.
pub fn parse_paging(
    limit: Option<&str>,
    offset: Option<&str>,
    count: Option<&str>,
    max_limit: i64,
) -> Result<Paging, QueryError> {
    let max_limit = max_limit.max(0);

    let limit = match present(limit) {
        None => max_limit,
        Some(s) => parse_in_range(s, max_limit).ok_or_else(|| QueryError::InvalidPaging {
            param: "limit",
            value: snippet(s),
            expected: format!("an integer between 0 and {max_limit}"),
        })?,
    };
    let offset = match present(offset) {
        None => 0,
        Some(s) => parse_in_range(s, MAX_OFFSET).ok_or_else(|| QueryError::InvalidPaging {
            param: "offset",
            value: snippet(s),
            expected: format!("an integer between 0 and {MAX_OFFSET}"),
        })?,
    };
    let count = match present(count) {
        None | Some("false") => false,
        Some("true") => true,
        Some(s) => {
            return Err(QueryError::InvalidPaging {
                param: "count",
                value: snippet(s),
                expected: "true or false".to_string(),
            })
        }
    };
    Ok(Paging {
        limit,
        offset,
        count,
    })
}

fn present(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

fn parse_in_range(s: &str, max: i64) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|v| (0..=max).contains(v))
}
