//! The admin API under `/_accessd/`, off the ISC families, for test suites: the clock,
//! injected faults and the request journal. The clock and the faults are shared by every
//! instance on the database (`control.rs`); the journal is this instance's. Described by its own OpenAPI document
//! (`GET /_accessd/openapi.json`, `spec/accessd-admin.json`); every operation needs a
//! token whose client holds the scope `accessd:admin` (not implied by `sp:scopes:all`).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::control::{FaultSpec, JournalEntry};
use super::error::ApiError;
use super::extract::{Json, OptionalJson, Params};
use super::gateway::{AdminCaller, ADMIN_SCOPE};
use super::AppState;
use crate::domain::format_timestamp;

/// The admin API's OpenAPI document.
pub const OPENAPI: &str = include_str!("../../spec/accessd-admin.json");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_accessd/openapi.json", get(openapi))
        .route("/_accessd/clock", get(get_clock).post(set_clock))
        .route("/_accessd/reset", post(reset))
        .route(
            "/_accessd/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_accessd/faults/{id}", delete(remove_fault))
        .route(
            "/_accessd/requests",
            get(list_requests).delete(clear_requests),
        )
}

async fn openapi(_: AdminCaller) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClockBody {
    now: String,
    frozen: bool,
    offset_ms: i64,
}

fn clock_body(state: &AppState) -> ClockBody {
    let reading = state.clock.reading();
    ClockBody {
        now: format_timestamp(&reading.now),
        frozen: reading.frozen,
        offset_ms: reading.offset_ms,
    }
}

/// `GET /_accessd/clock`
async fn get_clock(State(state): State<AppState>, _: AdminCaller) -> axum::Json<ClockBody> {
    axum::Json(clock_body(&state))
}

/// What `POST /_accessd/clock` does, applied in this order: back to real time, freeze,
/// set, advance.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    real: bool,
    #[serde(default)]
    freeze: bool,
    to: Option<String>,
    advance_seconds: Option<i64>,
}

/// `POST /_accessd/clock`: token expiry, task retention, rate-limit windows, tasks held
/// running by a fault and the `created`/`modified` stamps all follow it, on every
/// instance on the database.
async fn set_clock(
    State(state): State<AppState>,
    _: AdminCaller,
    Json(change): Json<ClockChange>,
) -> Result<axum::Json<ClockBody>, ApiError> {
    let to = change
        .to
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::bad_request(format!("to '{t}' is not an RFC 3339 date-time."))
                })
        })
        .transpose()?;
    if change.real && (change.freeze || to.is_some() || change.advance_seconds.is_some()) {
        return Err(ApiError::bad_request(
            "real returns to the system's time: it takes no freeze, to or advanceSeconds.",
        ));
    }
    if !change.real && !change.freeze && to.is_none() && change.advance_seconds.is_none() {
        return Err(ApiError::bad_request(
            "Name a change: real, freeze, to or advanceSeconds.",
        ));
    }
    state
        .control
        .change_clock(|clock| {
            if change.real {
                clock.real();
            }
            if change.freeze {
                clock.freeze();
            }
            if let Some(to) = to {
                clock.set(to);
            }
            if let Some(secs) = change.advance_seconds {
                clock.advance(secs);
            }
        })
        .await?;
    Ok(axum::Json(clock_body(&state)))
}

/// What `POST /_accessd/reset` leaves: an empty tenant (the default) or the demo.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetTo {
    to: Option<String>,
}

#[derive(Serialize)]
struct ResetBody {
    to: &'static str,
}

/// `POST /_accessd/reset`: empties the tenant — every object and task — keeping the
/// signing keys and the clients that hold `accessd:admin` (so the caller's token goes
/// on working), then loads the demo tenant if asked. The database is shared, so every
/// instance on it sees the result.
async fn reset(
    State(state): State<AppState>,
    _: AdminCaller,
    OptionalJson(body): OptionalJson<ResetTo>,
) -> Result<axum::Json<ResetBody>, ApiError> {
    let to = match body.and_then(|b| b.to).as_deref() {
        None | Some("empty") => "empty",
        Some("demo") => "demo",
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "to '{other}' is not one of empty, demo."
            )))
        }
    };
    state.store.reset_tenant(ADMIN_SCOPE).await?;
    if to == "demo" {
        let admin = state
            .store
            .find_identity_by_alias(crate::demo::ADMIN_ALIAS)
            .await?
            .ok_or_else(|| ApiError::internal("the admin identity did not survive the reset"))?;
        crate::demo::load(state.store.as_ref(), &state.clock, &admin).await?;
    }
    Ok(axum::Json(ResetBody { to }))
}

/// `GET /_accessd/faults`
async fn list_faults(State(state): State<AppState>, _: AdminCaller) -> Result<Response, ApiError> {
    Ok(axum::Json(state.control.faults().await?).into_response())
}

/// `POST /_accessd/faults`: 201 with the rule and its id; every problem of an invalid
/// rule in one 400, nothing added.
async fn add_fault(
    State(state): State<AppState>,
    _: AdminCaller,
    Json(spec): Json<FaultSpec>,
) -> Result<Response, ApiError> {
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(ApiError::bad_request(format!(
            "The fault rule is invalid: {}.",
            problems.join("; ")
        )));
    }
    let fault = state.control.add_fault(spec).await?;
    Ok((StatusCode::CREATED, axum::Json(fault)).into_response())
}

/// `DELETE /_accessd/faults`
async fn clear_faults(
    State(state): State<AppState>,
    _: AdminCaller,
) -> Result<StatusCode, ApiError> {
    state.control.clear_faults().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /_accessd/faults/{id}`
async fn remove_fault(
    State(state): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.control.remove_fault(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("fault rule", &id))
    }
}

/// `GET /_accessd/requests`: the journal, oldest first, narrowed by `operationId`,
/// `status`, `clientId` and `since` (RFC 3339).
async fn list_requests(
    State(state): State<AppState>,
    _: AdminCaller,
    params: Params,
) -> Result<axum::Json<Vec<JournalEntry>>, ApiError> {
    let status = params
        .get("status")
        .map(|s| {
            s.parse::<u16>()
                .map_err(|_| ApiError::bad_request(format!("status '{s}' is not a number.")))
        })
        .transpose()?;
    let since = params
        .get("since")
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| format_timestamp(&t.with_timezone(&Utc)))
                .map_err(|_| {
                    ApiError::bad_request(format!("since '{s}' is not an RFC 3339 date-time."))
                })
        })
        .transpose()?;
    let operation = params.get("operationId");
    let client = params.get("clientId");
    let entries = state
        .control
        .requests()
        .into_iter()
        .filter(|e| operation.is_none_or(|o| e.operation_id == Some(o)))
        .filter(|e| status.is_none_or(|s| e.status == s))
        .filter(|e| client.is_none_or(|c| e.client_id.as_deref() == Some(c)))
        .filter(|e| since.as_deref().is_none_or(|s| e.time.as_str() >= s))
        .collect();
    Ok(axum::Json(entries))
}

/// `DELETE /_accessd/requests`
async fn clear_requests(State(state): State<AppState>, _: AdminCaller) -> StatusCode {
    state.control.clear_requests();
    StatusCode::NO_CONTENT
}
