//! `POST /oauth/token` (client credentials, CONTRACT §6).

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::rate_limit::{Bucket, RetryAfter};
use super::state::AppState;
use crate::auth::keys::SignError;
use crate::auth::{hash_secret, Claims};

/// Collects the request's parameters from the query string and the body, whichever
/// encoding the client used (form, multipart — the TypeScript SDK — or none).
async fn token_params(req: Request, state: &AppState) -> Result<Vec<(String, String)>, ApiError> {
    let mut params: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| multipart_error(e.status(), &e))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(e.status(), &e))?
        {
            let name = field.name().unwrap_or("").to_string();
            let value = field
                .text()
                .await
                .map_err(|e| multipart_error(e.status(), &e))?;
            params.push((name, value));
        }
    } else {
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("The request body is larger than the limit.".into())
            } else {
                ApiError::bad_request(format!("The request body could not be read: {e}"))
            }
        })?;
        if !body.is_empty() {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| ApiError::bad_request(format!("Invalid form body: {e}")))?;
            params.extend(form);
        }
    }
    // The query string was checked before routing; a form or multipart body can carry
    // U+0000 too, which no client id, secret or grant holds (CONTRACT §7).
    if params
        .iter()
        .any(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(ApiError::bad_request(
            "The request must not contain the character U+0000.",
        ));
    }
    Ok(params)
}

/// A multipart body that could not be read: over the body limit, or malformed.
fn multipart_error(status: StatusCode, e: &dyn std::fmt::Display) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("The request body is larger than the limit.".into())
    } else {
        ApiError::bad_request(format!("Invalid multipart body: {e}"))
    }
}

/// `POST /oauth/token`
pub async fn post_token(
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let params = token_params(req, &state).await?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Unsupported grant_type '{other}': accessd supports client_credentials."
            )))
        }
        None => return Err(ApiError::bad_request("grant_type is required.")),
    }
    // A client id or address that failed too often is refused before its credentials
    // are looked at, so a right guess is no different from a wrong one.
    let throttled = |RetryAfter(secs)| {
        state.metrics.auth_throttled();
        ApiError::AuthThrottled {
            retry_after_secs: secs,
        }
    };
    state
        .auth_failures
        .check(get("client_id"), peer)
        .map_err(throttled)?;
    let (Some(client_id), Some(secret)) = (get("client_id"), get("client_secret")) else {
        state.auth_failures.failed(None, peer).map_err(throttled)?;
        return Err(ApiError::Unauthorized(
            "Bad credentials: client_id and client_secret are required".into(),
        ));
    };
    let client = state.store.get_client(client_id).await?;
    let Some(client) = client.filter(|c| c.secret_hash == hash_secret(secret)) else {
        state
            .auth_failures
            .failed(Some(client_id), peer)
            .map_err(throttled)?;
        return Err(ApiError::Unauthorized("Bad credentials".into()));
    };
    // Counted only with valid credentials, so nobody can spend another client's budget.
    if let Err(RetryAfter(secs)) = state
        .rate_limits
        .check(&client.client_id, Bucket::Token)
        .await
    {
        state.metrics.rate_limited(Bucket::Token);
        return Err(ApiError::RateLimited {
            retry_after_secs: secs,
        });
    }
    let (identity_id, user_name, authorities) = match &client.identity_id {
        Some(id) => {
            let identity = state.store.get_identity(id).await?;
            let mut levels = identity.authorities.clone();
            if !levels.iter().any(|l| l == "USER") {
                levels.push("USER".into());
            }
            (Some(identity.id), Some(identity.alias), levels)
        }
        None => (None, None, vec!["API".to_string()]),
    };
    let now = state.clock.now().timestamp();
    let ttl = state.config.token_ttl_secs;
    let claims = Claims {
        tenant_id: state.tenant.id.clone(),
        org: state.tenant.org.clone(),
        pod: state.tenant.pod.clone(),
        identity_id: identity_id.clone(),
        user_name,
        authorities,
        scope: client.scopes.clone(),
        client_id: client.client_id.clone(),
        iat: now,
        exp: now + ttl as i64,
        jti: crate::domain::new_id(),
    };
    let token = state
        .keys
        .sign_active(state.store.as_ref(), &claims)
        .await
        .map_err(|e| match e {
            SignError::Store(e) => ApiError::from(e),
            SignError::Key(e) => ApiError::internal(e),
        })?;
    let mut body = json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": client.scopes.join(" "),
        "tenant_id": state.tenant.id,
        "pod": state.tenant.pod,
        "org": state.tenant.org,
        "strong_auth": false,
        "jti": claims.jti,
    });
    if let Some(id) = identity_id {
        body["identity_id"] = json!(id);
        body["user_id"] = json!(id);
    }
    Ok(Json(body))
}
