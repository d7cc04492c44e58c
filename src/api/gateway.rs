//! The gateway in front of every handler. The [`authenticate`] middleware checks the
//! bearer token once (see `auth::verify`), counts the request against its client's rate
//! limit, and records the outcome; the [`Caller`] extractor then decides, for the
//! operation its route names, everything a handler needs to know about who is asking:
//! the verified claims, that the token's scopes and user levels allow the operation
//! (CONTRACT §6), and the caller's confinement (a sub-admin's sources). Handlers get a
//! `Caller` or nothing, so no handler can forget a check.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::rate_limit::{Bucket, RetryAfter};
use super::state::AppState;
use crate::auth::rights::{self, Operation};
use crate::auth::{Claims, TokenError};
use crate::domain::scope::{is_confined, Scope};

/// What [`authenticate`] found out about a request's token.
#[derive(Clone, Debug)]
enum TokenCheck {
    Verified(Arc<Claims>),
    /// The 401 message (CONTRACT §6).
    Refused(String),
}

/// The bearer token of a request, or the 401 message if there is none.
fn bearer_token(headers: &HeaderMap) -> Result<&str, String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| "JWT is required".to_string())?;
    let value = value
        .to_str()
        .map_err(|_| "JWT validation failed: JWT is malformed".to_string())?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| "JWT is required".to_string())
}

/// Verifies the request's token once and, when it verifies, counts the request
/// against its client's budget for the route family (CONTRACT §8): over it, 429.
/// A request without a valid token is not counted (its client id is unproven) and
/// goes on, so the handler answers it exactly as it would have (401, or 200 for
/// routes that need no token).
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let check = match bearer_token(req.headers()) {
        Err(message) => TokenCheck::Refused(message),
        Ok(token) => match state.verifier.verify(token).await {
            Ok(claims) => {
                let path = match req.extensions().get::<OriginalUri>() {
                    Some(original) => original.path(),
                    None => req.uri().path(),
                };
                if let Some(bucket) = Bucket::of_path(path)
                    && let Err(RetryAfter(secs)) =
                        state.rate_limits.check(&claims.client_id, bucket).await
                {
                    state.metrics.rate_limited(bucket);
                    return ApiError::RateLimited {
                        retry_after_secs: secs,
                    }
                    .into_response();
                }
                TokenCheck::Verified(claims)
            }
            Err(e @ TokenError::Refused(_)) => TokenCheck::Refused(e.to_string()),
            Err(TokenError::Store(e)) => return ApiError::from(e).into_response(),
        },
    };
    req.extensions_mut().insert(check);
    next.run(req).await
}

/// The claims of the request's verified token, if it has one.
pub fn verified_claims(req: &Request) -> Option<Arc<Claims>> {
    match req.extensions().get::<TokenCheck>() {
        Some(TokenCheck::Verified(claims)) => Some(claims.clone()),
        _ => None,
    }
}

/// The scope that opens the admin API (`/_accessd/`); `sp:scopes:all` does not include
/// it.
pub const ADMIN_SCOPE: &str = "accessd:admin";

/// A caller of the admin API: a verified token whose client holds [`ADMIN_SCOPE`].
#[derive(Clone, Debug)]
pub struct AdminCaller {
    pub claims: Arc<Claims>,
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        match parts.extensions.get::<TokenCheck>() {
            Some(TokenCheck::Verified(claims)) if claims.scope.iter().any(|s| s == ADMIN_SCOPE) => {
                Ok(AdminCaller {
                    claims: claims.clone(),
                })
            }
            Some(TokenCheck::Verified(_)) => Err(ApiError::Forbidden(format!(
                "The admin API needs a token whose client holds the scope {ADMIN_SCOPE}."
            ))),
            Some(TokenCheck::Refused(message)) => Err(ApiError::Unauthorized(message.clone())),
            None => Err(ApiError::internal(
                "the authentication middleware did not run for this route",
            )),
        }
    }
}

/// The verified caller of one operation: its claims, its right to the operation
/// (checked), and what it is confined to for it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub claims: Arc<Claims>,
    /// The operation of the route, as registered with it.
    pub op: Operation,
    /// Everything, or a sub-admin's sources (CONTRACT §6), for this operation.
    pub scope: Scope,
}

impl Caller {
    pub fn identity_id(&self) -> Option<&str> {
        self.claims.identity_id.as_deref()
    }

    /// Who launched a task, as `TaskStatus.launcher` shows it: the identity's name, or
    /// the API client's id.
    pub fn launcher(&self) -> String {
        self.claims
            .user_name
            .clone()
            .unwrap_or_else(|| self.claims.client_id.clone())
    }
}

/// Whether the request carries `X-SailPoint-Experimental: true`.
fn experimental(parts: &Parts) -> bool {
    parts
        .headers
        .get(rights::EXPERIMENTAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// 401 without a verified token; 400 when the operation is experimental and the
    /// header is missing; 403 unless the token's scopes and user levels allow the
    /// operation. A sub-admin for the operation is confined to its sources.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = match parts.extensions.get::<TokenCheck>() {
            Some(TokenCheck::Verified(claims)) => claims.clone(),
            Some(TokenCheck::Refused(message)) => {
                return Err(ApiError::Unauthorized(message.clone()))
            }
            // Fail closed: without the middleware there is no verified caller.
            None => {
                return Err(ApiError::internal(
                    "the authentication middleware did not run for this route",
                ))
            }
        };
        // Fail closed: a route registered without its operation has no rights entry.
        let Some(op) = parts.extensions.get::<Operation>().copied() else {
            return Err(ApiError::internal("the route names no operation"));
        };
        let Some(req) = rights::requirement(op) else {
            return Err(ApiError::internal(format!("no rights entry for {op:?}")));
        };
        if req.experimental && !experimental(parts) {
            return Err(ApiError::ExperimentalHeaderMissing);
        }
        let span = tracing::Span::current();
        span.record("client_id", claims.client_id.as_str());
        span.record(
            "operation_id",
            tracing::field::display(format_args!(
                "{}{}",
                op.id.as_str(),
                op.family.operation_suffix()
            )),
        );
        if let Some(why) = rights::refusal(req, &claims.scope, &claims.authorities) {
            return Err(ApiError::Forbidden(format!(
                "The caller does not have the rights this operation requires: {why}."
            )));
        }
        let scope = match claims.identity_id.as_deref() {
            Some(id) if is_confined(&claims.authorities, req.user_levels.as_deref()) => {
                Scope::Sources(state.store.administered_source_ids(id).await?)
            }
            _ => Scope::All,
        };
        Ok(Caller { claims, op, scope })
    }
}
