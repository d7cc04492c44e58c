//! The verified caller of a request: an extractor that checks the bearer JWT
//! (ES256 only, this tenant's keys, not expired by the server's clock) and carries its
//! claims; `require` checks one operation's right against them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::rights::{self, Operation};
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
    let key = match state.keys.decoding_key(&kid) {
        Some(k) => k,
        None => {
            // Another instance may have created the key since we loaded ours.
            state
                .keys
                .reload(state.store.as_ref())
                .await
                .map_err(ApiError::from)?;
            state
                .keys
                .decoding_key(&kid)
                .ok_or_else(|| failed("JWT was not signed by this tenant"))?
        }
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
    if claims.exp <= state.clock.now().timestamp() {
        return Err(failed("JWT is expired"));
    }
    Ok(claims)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized("JWT is required".into()));
        };
        let value = value.to_str().map_err(|_| failed("JWT is malformed"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::Unauthorized("JWT is required".into()))?;
        let claims = verify(state, token.trim()).await?;
        let experimental = parts
            .headers
            .get(rights::EXPERIMENTAL_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Ok(Principal {
            claims,
            experimental,
        })
    }
}
