//! Extractors whose rejections are `ApiError`s, so every malformed input gets an ISC
//! body: JSON bodies (strict types, `null` = absent) and collection parameters.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::api::error::ApiError;
use crate::query::{compile_filter, parse_paging, sort_order, FilterSpec, SortSpec};
use crate::store::ListQuery;

/// A header value's media type without its parameters, in lower case
/// (`application/json` of `Application/JSON; charset=utf-8`).
pub fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The request's `Content-Type` media type, if it has one.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
}

/// Whether a media type is JSON: `application/json` or any `application/…+json`.
pub fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// A JSON request body (`application/json` or any `+json` type, e.g. JSON Patch).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match content_type(req.headers()).as_deref() {
            Some(ct) if is_json(ct) => {}
            other => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Content-Type must be application/json, not '{}'.",
                    other.unwrap_or("(none)")
                )))
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("The request body is larger than the limit.".into())
            } else {
                ApiError::bad_request(format!("The request body could not be read: {e}"))
            }
        })?;
        // serde_json keeps the last of a repeated key (inside a `Value`, a flattened
        // map or a JSON Patch operation) where a client meant one of them, and U+0000
        // can be no stored text: both refused, at any depth, in one pass that builds
        // nothing.
        from_slice::<CheckedText>(&bytes)?;
        // The read-only timestamps only arrive under their own names; only then is the
        // body walked.
        if READ_ONLY_TIMESTAMPS
            .iter()
            .any(|k| contains(&bytes, k.as_bytes()))
        {
            let value: serde_json::Value = from_slice(&bytes)?;
            check_read_only_timestamps(&value)?;
            return serde_path_to_error::deserialize(value)
                .map(Json)
                .map_err(|e| invalid_body(&e));
        }
        from_slice(&bytes).map(Json)
    }
}

/// The JSON document `bytes` as a `T`; an error names where in the document it is
/// (`owner.id: invalid type: integer `5`, expected a string`).
fn from_slice<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| invalid_body(&e))?;
    // Nothing but whitespace may follow the document (what `serde_json::from_slice`
    // checks).
    de.end()
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid: {e}")))?;
    Ok(value)
}

/// "The request body is not valid: PATH: PROBLEM". The line and column are kept for a
/// syntax error, where they say where the text breaks; a wrong value is named by its
/// path alone.
fn invalid_body(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    let mut problem = inner.to_string();
    if !inner.is_syntax() && !inner.is_eof() {
        let position = format!(" at line {} column {}", inner.line(), inner.column());
        if let Some(bare) = problem.strip_suffix(&position) {
            problem.truncate(bare.len());
        }
    }
    let path = e.path().to_string();
    ApiError::bad_request(if path == "." {
        format!("The request body is not valid: {problem}")
    } else {
        format!("The request body is not valid: {path}: {problem}")
    })
}

/// Any JSON value, read only to refuse an object holding a key twice (RFC 8259 leaves
/// such objects' meaning to the reader) and a string or key holding U+0000 (no stored
/// text may hold it). Keys are compared as decoded, so `"a"` and `"\u0061"` are the
/// same key.
struct CheckedText;

impl<'de> Deserialize<'de> for CheckedText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedText)
    }
}

impl<'de> Visitor<'de> for CheckedText {
    type Value = CheckedText;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(CheckedText)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(CheckedText)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(CheckedText)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(CheckedText)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self, E> {
        refuse_nul(text)?;
        Ok(CheckedText)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(CheckedText)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self, A::Error> {
        while items.next_element::<CheckedText>()?.is_some() {}
        Ok(CheckedText)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self, A::Error> {
        // A hash set: a body of many keys costs linear time, not quadratic.
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = entries.next_key::<String>()? {
            refuse_nul(&key)?;
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    crate::query::snippet(&key)
                )));
            }
            entries.next_value::<CheckedText>()?;
            seen.insert(key);
        }
        Ok(CheckedText)
    }
}

fn refuse_nul<E: serde::de::Error>(text: &str) -> Result<(), E> {
    if text.contains('\0') {
        return Err(E::custom(
            "the request body must not contain the character U+0000",
        ));
    }
    Ok(())
}

/// A request body the operation's spec makes optional (`requestBody` without
/// `required: true`): a request with no body at all (no `Content-Length` or one of 0,
/// and no `Transfer-Encoding`) is `None`, whatever its `Content-Type`; a body is read
/// as [`Json`].
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers();
        let length = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let no_body = match length {
            Some(n) => n == "0",
            None => !headers.contains_key(TRANSFER_ENCODING),
        };
        if no_body {
            return Ok(OptionalJson(None));
        }
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| OptionalJson(Some(v)))
    }
}

/// The server-set timestamps a body may echo back (a document read, changed and sent
/// again). accessd ignores them, but a value that is not a date-time is not one the
/// schema allows (`format: date-time`), so it is refused rather than silently dropped;
/// `null` is absent (CONTRACT §9).
const READ_ONLY_TIMESTAMPS: [&str; 2] = ["\"created\"", "\"modified\""];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn check_read_only_timestamps(value: &serde_json::Value) -> Result<(), ApiError> {
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    for key in READ_ONLY_TIMESTAMPS.map(|k| k.trim_matches('"')) {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s))
                if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {}
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "{key} must be a date-time (RFC 3339), as accessd returns it."
                )))
            }
        }
    }
    Ok(())
}

/// The decoded query string (`+` and `%20` both decode to a space).
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query).map(Params).map_err(|e| {
            ApiError::bad_request(format!("The query string could not be decoded: {e}"))
        })
    }
}

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter the operation declares: `true` or `false`; absent is
    /// `None` (its default); any other value, the empty one included (like `count`), is
    /// a 400 naming it (CONTRACT §7: a bad query value is refused, never ignored).
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid {name} '{}': must be true or false.",
                crate::query::snippet(other)
            ))),
        }
    }

    /// A query parameter whose spec schema is an enum: one of `allowed`; absent is
    /// `None`; any other value, the empty one included, is a 400 naming it.
    pub fn one_of(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .copied()
                .find(|a| *a == v)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Invalid {name} '{}': must be one of {}.",
                        crate::query::snippet(v),
                        allowed.join(", ")
                    ))
                }),
        }
    }

    /// Parses `filters`, `sorters`, `limit`, `offset`, `count` against an endpoint's
    /// allow-lists (CONTRACT §5).
    pub fn list_query(
        &self,
        filters: &FilterSpec,
        sorters: &SortSpec,
        max_limit: i64,
    ) -> Result<ListQuery, ApiError> {
        let paging = parse_paging(
            self.get("limit"),
            self.get("offset"),
            self.get("count"),
            max_limit,
        )?;
        let filter = compile_filter(self.get("filters"), filters)?;
        let sort = sort_order(self.get("sorters"), sorters)?;
        Ok(ListQuery {
            filter,
            sort,
            paging,
        })
    }

    /// A list without `filters` support: only sorters and paging.
    pub fn list_query_unfiltered(
        &self,
        sorters: &SortSpec,
        max_limit: i64,
    ) -> Result<ListQuery, ApiError> {
        if self.get("filters").is_some_and(|f| !f.trim().is_empty()) {
            return Err(ApiError::bad_request(
                "This endpoint does not support the filters parameter.",
            ));
        }
        self.list_query(&NO_FILTERS, sorters, max_limit)
    }

    /// A list with paging only (no `filters`, no `sorters`), in `order`'s default order.
    pub fn list_query_paged(
        &self,
        order: &SortSpec,
        max_limit: i64,
    ) -> Result<ListQuery, ApiError> {
        if self.get("sorters").is_some_and(|s| !s.trim().is_empty()) {
            return Err(ApiError::bad_request(
                "This endpoint does not support the sorters parameter.",
            ));
        }
        self.list_query_unfiltered(order, max_limit)
    }
}

/// A filter spec with no fields, for endpoints without `filters`.
static NO_FILTERS: FilterSpec = FilterSpec {
    fields: &[],
    allow_not: false,
    unsupported: &[],
};

/// A 200 list answer, with `X-Total-Count` when the client asked for `count=true`.
pub fn list_response<'a, T, D: serde::Serialize>(
    items: &'a [T],
    total: Option<i64>,
    render: impl Fn(&'a T) -> D,
) -> Response {
    let body: Vec<D> = items.iter().map(render).collect();
    with_total(json_response(&body), total)
}

/// `response` with `X-Total-Count` when the client asked for `count=true`.
fn with_total(mut response: Response, total: Option<i64>) -> Response {
    if let Some(total) = total
        && let Ok(v) = HeaderValue::from_str(&total.to_string())
    {
        response.headers_mut().insert("X-Total-Count", v);
    }
    response
}

/// A 200 list answer like [`list_response`], of items that keep their document's JSON
/// text (`json`): an item's text is written by `render` the first time and reused by
/// every later answer holding the same item.
pub fn memo_list_response<'a, T, D: serde::Serialize>(
    items: &'a [T],
    total: Option<i64>,
    json: impl Fn(&'a T) -> &'a OnceLock<Box<str>>,
    render: impl Fn(&'a T) -> D,
) -> Response {
    let mut texts = Vec::with_capacity(items.len());
    for item in items {
        match memo_text(json(item), || render(item)) {
            Ok(text) => texts.push(text),
            Err(e) => return unserializable(&e),
        }
    }
    let mut body = Vec::with_capacity(2 + texts.iter().map(|t| t.len() + 1).sum::<usize>());
    body.push(b'[');
    for (i, text) in texts.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(text.as_bytes());
    }
    body.push(b']');
    let response = (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response();
    with_total(response, total)
}

/// A 200 answer of one item that keeps its document's JSON text in `json`, written by
/// `render` the first time (as in [`memo_list_response`]).
pub fn memo_json_response<D: serde::Serialize>(
    json: &OnceLock<Box<str>>,
    render: impl FnOnce() -> D,
) -> Response {
    match memo_text(json, render) {
        Ok(text) => (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            text.to_owned(),
        )
            .into_response(),
        Err(e) => unserializable(&e),
    }
}

/// The JSON text kept in `slot`, written there by `render` first if it is empty.
fn memo_text<D: serde::Serialize>(
    slot: &OnceLock<Box<str>>,
    render: impl FnOnce() -> D,
) -> serde_json::Result<&str> {
    if let Some(text) = slot.get() {
        return Ok(text);
    }
    let text = serde_json::to_string(&render())?;
    Ok(slot.get_or_init(|| text.into_boxed_str()))
}

/// The 500 answer of a document that could not be serialized.
fn unserializable(e: &serde_json::Error) -> Response {
    ApiError::internal(format!("a response could not be serialized: {e}")).into_response()
}

/// A 200 answer with `body` as JSON: written into one buffer (`axum::Json` writes
/// each piece of the document through `io::Write` into a growing `BytesMut`).
pub fn json_response<T: serde::Serialize>(body: &T) -> Response {
    let mut bytes = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            bytes,
        )
            .into_response(),
        Err(e) => unserializable(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::CheckedText;

    fn check(json: &str) -> Result<(), String> {
        serde_json::from_str::<CheckedText>(json)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_key_twice_in_one_object_is_refused_at_any_depth() {
        for json in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": {"b": null, "b": null}}"#,
            r#"[{"op": "add", "value": [{"x": true, "x": false}]}]"#,
            r#"{"a": 1, "\u0061": 2}"#,
        ] {
            let error = check(json).expect_err(json);
            assert!(error.starts_with("duplicate key `"), "{json}: {error}");
        }
    }

    #[test]
    fn the_same_key_in_different_objects_and_every_json_value_pass() {
        for json in [
            r#"[{"a": 1}, {"a": 2}]"#,
            r#"{"a": {"a": {"a": "a"}}}"#,
            r#"{"n": -1, "u": 18446744073709551615, "f": 1.5e3, "s": "é", "b": false, "z": null, "e": {}, "l": []}"#,
            "3",
            "null",
        ] {
            assert_eq!(check(json), Ok(()), "{json}");
        }
        assert!(check(r#"{"a": }"#).is_err(), "still a syntax error");
    }
}
