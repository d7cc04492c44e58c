//! The verified caller of a request. The [`authenticate`] middleware checks the bearer
//! JWT once (ES256 only, this tenant's keys, not expired by the server's clock), counts
//! the request against its client's rate limit, and records the outcome; the
//! `Principal` extractor hands the verified claims to handlers, and `require` checks one
//! operation's right against them.

use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::keys::{self, KeyLookup};
use super::rights::{self, Operation};
use crate::api::rate_limit::{Bucket, RetryAfter};
use crate::app::AppState;
use crate::error::ApiError;

/// Access-token claims (CONTRACT §6).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub tenant_id: String,
    pub org: String,
    pub pod: String,
    pub identity_id: Option<String>,
    pub user_name: Option<String>,
    pub authorities: Vec<String>,
    pub scope: Vec<String>,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Clone, Debug)]
pub struct Principal {
    pub claims: Claims,
    /// Whether the request carries `X-SailPoint-Experimental: true`.
    pub experimental: bool,
}

impl Principal {
    /// 403 unless the token's scopes and user levels allow `op`; before that, 400
    /// when `op` is experimental and the request lacks the experimental header.
    pub fn require(&self, op: Operation) -> Result<(), ApiError> {
        let Some(req) = rights::requirement(op) else {
            return Err(ApiError::internal(format!("no rights entry for {op:?}")));
        };
        if req.experimental && !self.experimental {
            return Err(ApiError::ExperimentalHeaderMissing);
        }
        if rights::allows(req, &self.claims.scope, &self.claims.authorities) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "The caller does not have the rights this operation requires.".into(),
            ))
        }
    }

    pub fn identity_id(&self) -> Option<&str> {
        self.claims.identity_id.as_deref()
    }
}

fn failed(why: &str) -> ApiError {
    ApiError::Unauthorized(format!("JWT validation failed: {why}"))
}

/// Verifies a bearer token against the tenant's keys and the server clock.
pub async fn verify(state: &AppState, token: &str) -> Result<Claims, ApiError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| failed("JWT is malformed"))?;
    if header.alg != Algorithm::ES256 {
        return Err(failed("JWT algorithm is not accepted"));
    }
    let kid = header.kid.ok_or_else(|| failed("JWT has no key id"))?;
    let now = state.clock.now();
    // A superseded key verifies until every token it can have signed has expired: the
    // token lifetime, plus the time other instances may still sign with it.
    let grace = state
        .config
        .token_ttl_secs
        .checked_add(keys::RELOAD_EVERY.as_secs())
        .and_then(|secs| i64::try_from(secs).ok())
        .and_then(chrono::Duration::try_seconds)
        .unwrap_or(chrono::Duration::MAX);
    let mut lookup = state.keys.lookup(&kid, now, grace);
    if matches!(lookup, KeyLookup::Unknown) {
        // Another instance may have created the key since we loaded ours. At most one
        // such read a second, so tokens with made-up key ids cannot turn into a
        // database query each.
        if state.keys.claim_forced_reload() {
            state
                .keys
                .reload(state.store.as_ref())
                .await
                .map_err(ApiError::from)?;
            lookup = state.keys.lookup(&kid, now, grace);
        }
    }
    let key = match lookup {
        KeyLookup::Valid(key) => key,
        KeyLookup::Retired => return Err(failed("JWT was signed with a retired key")),
        KeyLookup::Unknown => return Err(failed("JWT was not signed by this tenant")),
    };
    let mut validation = Validation::new(Algorithm::ES256);
    // Expiry is checked below against the server's clock, which tests can move.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                failed("JWT signature does not match locally computed signature")
            }
            _ => failed("JWT is malformed"),
        })?;
    let claims = data.claims;
    if claims.tenant_id != state.tenant.id {
        return Err(failed("JWT was not issued for this tenant"));
    }
    if claims.exp <= now.timestamp() {
        return Err(failed("JWT is expired"));
    }
    Ok(claims)
}

/// What [`authenticate`] found out about a request's token.
#[derive(Clone, Debug)]
enum TokenCheck {
    Verified(Box<Claims>),
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
        Ok(token) => match verify(&state, token).await {
            Ok(claims) => {
                let path = match req.extensions().get::<OriginalUri>() {
                    Some(original) => original.path(),
                    None => req.uri().path(),
                };
                if let Some(bucket) = Bucket::of_path(path) {
                    if let Err(RetryAfter(secs)) =
                        state.rate_limits.check(&claims.client_id, bucket).await
                    {
                        return ApiError::RateLimited {
                            retry_after_secs: secs,
                        }
                        .into_response();
                    }
                }
                TokenCheck::Verified(Box::new(claims))
            }
            Err(ApiError::Unauthorized(message)) => TokenCheck::Refused(message),
            Err(other) => return other.into_response(),
        },
    };
    req.extensions_mut().insert(check);
    next.run(req).await
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        match parts.extensions.get::<TokenCheck>() {
            Some(TokenCheck::Verified(claims)) => Ok(Principal {
                claims: claims.as_ref().clone(),
                experimental: parts
                    .headers
                    .get(rights::EXPERIMENTAL_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            }),
            Some(TokenCheck::Refused(message)) => Err(ApiError::Unauthorized(message.clone())),
            // Fail closed: without the middleware there is no verified caller.
            None => Err(ApiError::internal(
                "the authentication middleware did not run for this route",
            )),
        }
    }
}
