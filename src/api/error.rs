//! The one error type of the HTTP surface and its rendering as the ISC error body
//! (CONTRACT §7). Every 4xx/5xx that leaves accessd is written here: handlers return
//! `ApiError`, and the request middleware (`api::middleware`) turns any other error
//! response (framework rejections, panics, unknown routes) into one as well.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::DomainError;
use crate::query::QueryError;
use crate::store::StoreError;

/// Per-request context the error body needs: set by the request middleware for the
/// duration of the request (a task-local, so `IntoResponse` can reach it).
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub tracking_id: String,
    /// The locale named by `Accept-Language`, when the client sent one.
    pub requested_locale: Option<String>,
}

tokio::task_local! {
    pub static REQUEST_CONTEXT: RequestContext;
}

/// Marks a response whose error body is final (ours), so the middleware leaves it alone.
#[derive(Clone, Copy, Debug)]
pub struct Rendered;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `400.1 Bad Request Content`: the request is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `400.1 Bad Request Content` for an input with several problems: one
    /// message each, in the order found (the first is what a single-problem answer
    /// would have said).
    #[error("{}", .0.join(" "))]
    Problems(Vec<String>),
    /// 400 `400.1 Bad Request Content` listing every problem of a whole document (a
    /// fixture): the message names them all, one per line, and `causes` holds one
    /// message per problem.
    #[error("{what} ({}), nothing was changed:\n{}", crate::fixture::problem_count(.problems), .problems.join("\n"))]
    InvalidDocument { what: String, problems: Vec<String> },
    /// 400 `400.2.1.0 Object in use by another` (CONTRACT §3.1).
    #[error("{0}")]
    InUse(String),
    /// 401 with the gateway's `{"error": ...}` body (CONTRACT §6).
    #[error("{0}")]
    Unauthorized(String),
    /// 400 with the gateway's `{"error": ...}` body: an experimental operation called
    /// without `X-SailPoint-Experimental: true` (CONTRACT §3.3).
    #[error("Experimental Header is missing or invalid.")]
    ExperimentalHeaderMissing,
    /// 403 `403 Forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `404 Not found`.
    #[error("{0}")]
    NotFound(String),
    /// 405 for a known path with the wrong method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 408 for a request that did not complete within the request timeout.
    #[error("{0}")]
    RequestTimeout(String),
    /// 413 for a body over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415 for a body of the wrong content type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429 with `Retry-After` (CONTRACT §8).
    #[error("Rate Limit Exceeded")]
    RateLimited { retry_after_secs: u64 },
    /// 429 `429 Too Many Requests` with `Retry-After` and the ISC body: too many failed
    /// authentications from this client id or address (CONTRACT §6).
    #[error("Too many failed authentications: retry after {retry_after_secs} seconds.")]
    AuthThrottled { retry_after_secs: u64 },
    /// 503 `503 Service Unavailable` with `Retry-After` and the ISC body: the server is
    /// at its bound of requests in flight.
    #[error("The server is busy: retry after {retry_after_secs} seconds.")]
    Overloaded { retry_after_secs: u64 },
    /// A fault injected through the admin API: this status with the ISC body (and
    /// `Retry-After` when given).
    #[error("This answer was injected by a fault rule of the admin API.")]
    Injected {
        status: StatusCode,
        retry_after_secs: Option<u64>,
    },
    /// 503 `503 Service Unavailable` from the readiness check (`GET /health/ready`): the
    /// named `check` failed for `reason`.
    #[error("Not ready: the {check} check failed: {reason}.")]
    NotReady {
        check: &'static str,
        reason: &'static str,
    },
    /// 507 `507 Insufficient Storage` with the ISC body: the database's storage is full,
    /// so the write was not saved (reads go on; the cause is logged).
    #[error("The server's storage is full: the change was not saved. Retry once space is freed.")]
    InsufficientStorage(String),
    /// 500 `500.0 Internal Fault`: the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::NotFound(format!("The {kind} with ID '{id}' was not found."))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_)
            | Self::Problems(_)
            | Self::InvalidDocument { .. }
            | Self::InUse(_)
            | Self::ExperimentalHeaderMissing => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } | Self::AuthThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded { .. } | Self::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Injected { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail_code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) | Self::Problems(_) | Self::InvalidDocument { .. } => {
                "400.1 Bad Request Content"
            }
            Self::InUse(_) => "400.2.1.0 Object in use by another",
            Self::ExperimentalHeaderMissing => "400.1 Bad Request Content",
            Self::Unauthorized(_) => "401 Unauthorized",
            Self::Forbidden(_) => "403 Forbidden",
            Self::NotFound(_) => "404 Not found",
            Self::MethodNotAllowed(_) => "405 Method Not Allowed",
            Self::RequestTimeout(_) => "408 Request Timeout",
            Self::PayloadTooLarge(_) => "413 Payload Too Large",
            Self::UnsupportedMediaType(_) => "415 Unsupported Media Type",
            Self::RateLimited { .. } | Self::AuthThrottled { .. } => "429 Too Many Requests",
            Self::Overloaded { .. } | Self::NotReady { .. } => "503 Service Unavailable",
            Self::InsufficientStorage(_) => "507 Insufficient Storage",
            Self::Injected { status, .. } => match status.as_u16() {
                408 => "408 Request Timeout",
                429 => "429 Too Many Requests",
                502 => "502 Bad Gateway",
                503 => "503 Service Unavailable",
                _ => "500.0 Internal Fault",
            },
            Self::Internal(_) => "500.0 Internal Fault",
        }
    }

    /// The error a bare framework response of this status stands for (used by the
    /// middleware for responses that did not come from an `ApiError`).
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::bad_request("The request could not be parsed."),
            401 => Self::Unauthorized("JWT is required".into()),
            403 => Self::Forbidden("Access denied.".into()),
            404 => Self::NotFound("The requested resource was not found.".into()),
            405 => Self::MethodNotAllowed("The method is not allowed for this resource.".into()),
            413 => Self::PayloadTooLarge("The request body is larger than the limit.".into()),
            415 => {
                Self::UnsupportedMediaType("The request's Content-Type is not supported.".into())
            }
            408 => Self::RequestTimeout(
                "The request was not completed within the server's time limit.".into(),
            ),
            s if s < 500 => Self::bad_request(format!("The request was rejected ({status}).")),
            _ => Self::Internal(format!("framework responded {status}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ctx = REQUEST_CONTEXT.try_with(|c| c.clone()).ok();
        let tracking_id = ctx
            .as_ref()
            .map(|c| c.tracking_id.clone())
            .unwrap_or_else(crate::domain::new_id);
        let status = self.status();
        let mut response = match &self {
            // The gateway answers 401 with its own small body, not the ISC one.
            Self::Unauthorized(_) | Self::ExperimentalHeaderMissing => {
                (status, axum::Json(json!({ "error": self.to_string() }))).into_response()
            }
            Self::RateLimited { retry_after_secs } => {
                let mut r = (
                    status,
                    axum::Json(json!({"message": " Rate Limit Exceeded "})),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            _ => {
                let texts = match &self {
                    Self::Problems(texts) => texts.clone(),
                    Self::Internal(cause) => {
                        tracing::error!(tracking_id = %tracking_id, cause = %cause, "internal error");
                        vec!["An internal fault occurred.".to_string()]
                    }
                    Self::InsufficientStorage(cause) => {
                        tracing::error!(
                            tracking_id = %tracking_id,
                            cause = %cause,
                            "a write failed: the database's storage is full"
                        );
                        vec![self.to_string()]
                    }
                    other => vec![other.to_string()],
                };
                let (locale, origin) = match ctx.as_ref().and_then(|c| c.requested_locale.clone()) {
                    Some(l) => (l, "REQUEST"),
                    None => ("en-US".to_string(), "DEFAULT"),
                };
                let causes: Vec<serde_json::Value> = match &self {
                    Self::InvalidDocument { problems, .. } => problems
                        .iter()
                        .map(|p| json!({"locale": locale, "localeOrigin": origin, "text": p}))
                        .collect(),
                    _ => Vec::new(),
                };
                let body = json!({
                    "detailCode": self.detail_code(),
                    "trackingId": tracking_id,
                    "messages": texts
                        .iter()
                        .map(|text| json!({"locale": locale, "localeOrigin": origin, "text": text}))
                        .collect::<Vec<_>>(),
                    "causes": causes,
                });
                (status, axum::Json(body)).into_response()
            }
        };
        let retry_after = match &self {
            Self::AuthThrottled { retry_after_secs } | Self::Overloaded { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            Self::Injected {
                retry_after_secs, ..
            } => *retry_after_secs,
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Ok(v) = HeaderValue::from_str(&tracking_id) {
            response.headers_mut().insert("SLPT-Request-ID", v);
        }
        response.extensions_mut().insert(Rendered);
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(msg) => Self::BadRequest(msg),
            DomainError::Problems(texts) => Self::Problems(texts),
            DomainError::InUse(msg) => Self::InUse(msg),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

/// "A role", "An access profile": the kind with its indefinite article, capitalised.
fn with_article(kind: &str) -> String {
    let article = match kind.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'A' | 'E' | 'I' | 'O' | 'U') => "An",
        _ => "A",
    };
    format!("{article} {kind}")
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => Self::not_found(kind, &id),
            StoreError::Duplicate { kind, field, value } => Self::BadRequest(match field {
                "name" => format!("{} named '{value}' already exists.", with_article(kind)),
                _ => format!(
                    "{} with {field} '{value}' already exists.",
                    with_article(kind)
                ),
            }),
            StoreError::MissingReference { field } => Self::BadRequest(match field {
                "object" => "A referenced object does not exist.".to_string(),
                "accessProfileIds" => {
                    "accessProfileIds names an access profile that does not exist.".to_string()
                }
                field => format!("A referenced {field} does not exist."),
            }),
            StoreError::HeldBySourceApps(apps) => Self::BadRequest(format!(
                "The access profile's source can't change while source apps of its current \
                 source hold it: {}.",
                apps.join(", ")
            )),
            StoreError::InUse { kind, name } => Self::InUse(format!(
                "The \"{name}\" {kind} can't be deleted because it's in use."
            )),
            StoreError::TaskFinished(id) => {
                Self::BadRequest(format!("The task '{id}' has already completed."))
            }
            StoreError::OutsideScope { kind } => Self::Forbidden(format!(
                "The caller is a sub-admin and cannot administer the source of this {kind}."
            )),
            StoreError::OutsideScopeIds { kind, ids } => Self::Forbidden(format!(
                "The caller is a sub-admin and cannot administer the sources of these {kind}s: {}.",
                ids.join(", ")
            )),
            StoreError::Refused(msg) => Self::BadRequest(msg),
            StoreError::StorageFull(e) => Self::InsufficientStorage(e.to_string()),
            StoreError::Database(e) => Self::Internal(e.to_string()),
            StoreError::Corrupt(msg) | StoreError::Config(msg) => Self::Internal(msg),
        }
    }
}
