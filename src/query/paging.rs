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
/// `0..=2147483647`) and `count` exactly `true` or `false`. An absent parameter
/// takes its default; a present but empty one (`?count=`) is not an integer or a
/// boolean, so it is refused like any other bad value.
pub fn parse_paging(
    limit: Option<&str>,
    offset: Option<&str>,
    count: Option<&str>,
    max_limit: i64,
) -> Result<Paging, QueryError> {
    let max_limit = max_limit.max(0);

    let limit = match limit {
        None => max_limit,
        Some(s) => parse_in_range(s, max_limit).ok_or_else(|| QueryError::InvalidPaging {
            param: "limit",
            value: snippet(s),
            expected: format!("an integer between 0 and {max_limit}"),
        })?,
    };
    let offset = match offset {
        None => 0,
        Some(s) => parse_in_range(s, MAX_OFFSET).ok_or_else(|| QueryError::InvalidPaging {
            param: "offset",
            value: snippet(s),
            expected: format!("an integer between 0 and {MAX_OFFSET}"),
        })?,
    };
    let count = match count {
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

fn parse_in_range(s: &str, max: i64) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|v| (0..=max).contains(v))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn paging() {
        let p = |l: Option<&str>, o: Option<&str>, c: Option<&str>, max: i64| {
            parse_paging(l, o, c, max)
        };
        let ok = |limit, offset, count| Paging {
            limit,
            offset,
            count,
        };
        assert_eq!(p(None, None, None, 250).unwrap(), ok(250, 0, false));
        assert_eq!(p(None, None, None, 50).unwrap(), ok(50, 0, false));
        for (limit, offset, count, param) in [
            (Some(""), None, None, "limit"),
            (None, Some(""), None, "offset"),
            (None, None, Some(""), "count"),
        ] {
            let err = p(limit, offset, count, 250).unwrap_err();
            assert!(
                matches!(&err, QueryError::InvalidPaging { param: got, value, .. } if *got == param && value.is_empty()),
                "{err:?}"
            );
        }
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
        let limit_250 =
            |v: &str| format!("Invalid limit '{v}': must be an integer between 0 and 250");
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

    proptest! {
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
}
