//! The admin API under `/_accessd/`, off the ISC families, for test suites: the clock,
//! injected faults and the request journal. The clock and the faults are shared by every
//! instance on the database (`control.rs`); the journal is this instance's. Described by its own OpenAPI document
//! (`GET /_accessd/openapi.json`, `spec/accessd-admin.json`); every operation needs a
//! token whose client holds the scope `accessd:admin` (not implied by `sp:scopes:all`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::control::{FaultSpec, JournalEntry};
use super::error::ApiError;
use super::extract::{content_type, essence, Json, Params};
use super::gateway::{AdminCaller, ADMIN_SCOPE};
use super::AppState;
use crate::domain::format_timestamp;
use crate::fixture::Syntax;

/// The admin API's OpenAPI document.
pub const OPENAPI: &str = include_str!("../../spec/accessd-admin.json");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_accessd/openapi.json", get(openapi))
        .route("/_accessd/clock", get(get_clock).post(set_clock))
        .route("/_accessd/reset", post(reset))
        .route("/_accessd/fixture", get(export_fixture))
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

/// The content types of a raw YAML fixture body.
const YAML_TYPES: [&str; 3] = ["application/yaml", "application/x-yaml", "text/yaml"];

/// What `POST /_accessd/reset` was asked to leave.
enum ResetTarget {
    Empty,
    Demo,
    Fixture(Value),
}

/// The reset body: none (empty), `{"to": "empty"|"demo"}`, `{"fixture": {…}}`, or a
/// raw fixture in YAML (`Content-Type: application/yaml`).
fn reset_target(headers: &HeaderMap, body: &[u8]) -> Result<ResetTarget, ApiError> {
    let media = content_type(headers);
    if media.as_deref().is_some_and(|t| YAML_TYPES.contains(&t)) {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("The YAML fixture is not UTF-8 text."))?;
        return crate::fixture::parse_text(text, Syntax::Yaml)
            .map(ResetTarget::Fixture)
            .map_err(|problems| ApiError::InvalidDocument {
                what: "The fixture is invalid".into(),
                problems,
            });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ResetTarget::Empty);
    }
    if let Some(t) = media.as_deref()
        && t != "application/json"
        && !t.ends_with("+json")
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type '{t}' is not supported here: send application/json, or a YAML \
             fixture as one of {}.",
            YAML_TYPES.join(", ")
        )));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}.")))?;
    let Value::Object(mut body) = value else {
        return Err(ApiError::bad_request(
            "The request body must be an object: {\"to\": \"empty\"|\"demo\"} or {\"fixture\": {…}}.",
        ));
    };
    let fixture = body.remove("fixture");
    let to = body.remove("to");
    if let Some(k) = body.keys().next() {
        return Err(ApiError::bad_request(format!(
            "unknown field `{k}`: the body takes to or fixture."
        )));
    }
    match (to, fixture) {
        (None | Some(Value::Null), None) => Ok(ResetTarget::Empty),
        (None | Some(Value::Null), Some(f)) => Ok(ResetTarget::Fixture(f)),
        (Some(Value::String(t)), Some(f)) if t == "fixture" => Ok(ResetTarget::Fixture(f)),
        (Some(Value::String(t)), None) => match t.as_str() {
            "empty" => Ok(ResetTarget::Empty),
            "demo" => Ok(ResetTarget::Demo),
            "fixture" => Err(ApiError::bad_request("to 'fixture' needs the fixture.")),
            other => Err(ApiError::bad_request(format!(
                "to '{other}' is not one of empty, demo, fixture."
            ))),
        },
        (Some(t), Some(_)) => Err(ApiError::bad_request(format!(
            "to {t} does not go with a fixture: leave to out."
        ))),
        (Some(t), None) => Err(ApiError::bad_request(format!(
            "to {t} is not one of empty, demo, fixture."
        ))),
    }
}

/// `POST /_accessd/reset`: empties the tenant — every object and task — keeping the
/// signing keys and the clients that hold `accessd:admin` (so the caller's token goes
/// on working), then loads the demo tenant or a fixture if asked. A fixture is checked
/// whole first (every problem in one 400, nothing changed), and the reset and its load
/// are one transaction. The database is shared, so every instance on it sees the result.
async fn reset(
    State(state): State<AppState>,
    _: AdminCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    match reset_target(&headers, &body)? {
        ResetTarget::Empty => {
            state.store.reset_tenant(ADMIN_SCOPE).await?;
            Ok(axum::Json(json!({"to": "empty"})))
        }
        ResetTarget::Demo => {
            state.store.reset_tenant(ADMIN_SCOPE).await?;
            let admin = state
                .store
                .find_identity_by_alias(crate::demo::ADMIN_ALIAS)
                .await?
                .ok_or_else(|| {
                    ApiError::internal("the admin identity did not survive the reset")
                })?;
            crate::demo::load(state.store.as_ref(), &state.clock, &admin).await?;
            Ok(axum::Json(json!({"to": "demo"})))
        }
        ResetTarget::Fixture(value) => {
            let kept = state.store.fixture_kept(ADMIN_SCOPE).await?;
            let plan =
                crate::fixture::check(value, &kept, state.clock.now()).map_err(|problems| {
                    ApiError::InvalidDocument {
                        what: "The fixture is invalid".into(),
                        problems,
                    }
                })?;
            state.store.replace_tenant(ADMIN_SCOPE, &plan).await?;
            Ok(axum::Json(
                json!({"to": "fixture", "loaded": plan.counts()}),
            ))
        }
    }
}

/// `GET /_accessd/fixture`: the tenant as a fixture — every id and stamp, so that
/// loading it gives the same answers — in JSON, or YAML when `Accept` asks for it.
/// The admin clients are left out (a reset keeps them); other clients carry their
/// stored `secretHash`.
async fn export_fixture(
    State(state): State<AppState>,
    _: AdminCaller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let plan = state.store.fixture_plan().await?;
    let doc = crate::fixture::render::render(&plan, ADMIN_SCOPE);
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let yaml = accept
        .split(',')
        .map(essence)
        .any(|t| YAML_TYPES.contains(&t.as_str()));
    if yaml {
        let text = crate::fixture::to_yaml(&doc).map_err(ApiError::internal)?;
        Ok(([(header::CONTENT_TYPE, "application/yaml")], text).into_response())
    } else {
        Ok(axum::Json(doc).into_response())
    }
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
        return Err(ApiError::InvalidDocument {
            what: "The fault rule is invalid".into(),
            problems,
        });
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
