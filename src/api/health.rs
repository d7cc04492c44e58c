//! Readiness (`GET /health/ready`), beside liveness (`GET /health`, in `api`): whether
//! this instance can serve writes now. Liveness says the process and its database
//! answer; readiness also makes a write durable, so a database that cannot write (a
//! full disk) takes the instance out of a load balancer's rotation until it can again.

use axum::extract::State;
use axum::Json;

use super::error::ApiError;
use super::AppState;
use crate::store::StoreError;

/// The one check readiness runs, named in its answers.
pub const DATABASE_CHECK: &str = "database";

/// `GET /health/ready`: 200 `{"status": "UP", "checks": {"database": "UP"}}` when the
/// database answers a read and commits a write; else 503 with the ISC body naming the
/// failing check (the cause is logged).
pub async fn ready(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let probe = match state.store.ping().await {
        Ok(()) => state.store.write_probe().await,
        Err(e) => Err(e),
    };
    match probe {
        Ok(()) => Ok(Json(serde_json::json!({
            "status": "UP",
            "checks": {DATABASE_CHECK: "UP"},
        }))),
        Err(e) => {
            let reason = match &e {
                StoreError::StorageFull(_) => "its storage is full, so writes fail",
                _ => "it cannot make a write durable",
            };
            tracing::warn!(check = DATABASE_CHECK, error = %e, "not ready");
            Err(ApiError::NotReady {
                check: DATABASE_CHECK,
                reason,
            })
        }
    }
}
