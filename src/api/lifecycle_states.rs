//! Lifecycle states of identity profiles (v3 and v1). v3 has list, create, get,
//! patch and delete under `/v3/identity-profiles/{id}/lifecycle-states`; the v1
//! document has only list and create, at `/identity-profiles/v1/{id}/lifecycle-states`.
//! Identity profiles themselves have no API here: they exist only in the store.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde::Serialize;
use serde_json::Value;

use super::extract::{list_response, Json, Params};
use super::gateway::Caller;
use super::Fam;
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::lifecycle_state::{
    apply_patch, check_access_profiles, deleted_document, LifecycleStateInput,
};
use crate::domain::model::{LifecycleState, LifecycleStateDraft};
use crate::query::specs;

/// The LifecycleState document of both families (v3 `LifecycleState`, v1
/// `lifecyclestate`): `identityState` and `priority` are nullable; `description`,
/// `emailNotificationOption` and `accessActionConfiguration` are not in v3 or v1 (the
/// v1 `description` is, but leaving it out is valid there too), so they are left out
/// when unset. `identityCount` is always 0: accessd assigns no identities.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LifecycleStateBody<'a> {
    id: &'a str,
    name: &'a str,
    technical_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    enabled: bool,
    identity_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_notification_option: Option<&'a Value>,
    account_actions: &'a Value,
    access_profile_ids: &'a [String],
    identity_state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_action_configuration: Option<&'a Value>,
    priority: Option<i64>,
    created: String,
    modified: String,
}

static EMPTY_LIST: Value = Value::Array(Vec::new());

impl<'a> LifecycleStateBody<'a> {
    fn of(ls: &'a LifecycleState) -> Self {
        let stored = |field: &str| ls.doc.get(field).filter(|v| !v.is_null());
        LifecycleStateBody {
            id: &ls.id,
            name: &ls.name,
            technical_name: &ls.technical_name,
            description: ls.description.as_deref(),
            enabled: ls.enabled,
            identity_count: ls.identity_count,
            email_notification_option: stored("emailNotificationOption"),
            account_actions: stored("accountActions").unwrap_or(&EMPTY_LIST),
            access_profile_ids: &ls.access_profile_ids,
            identity_state: ls.identity_state.as_deref(),
            access_action_configuration: stored("accessActionConfiguration"),
            priority: ls.priority,
            created: crate::domain::format_timestamp(&ls.created),
            modified: crate::domain::format_timestamp(&ls.modified),
        }
    }
}

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/identity-profiles{suffix}/{{identity_profile_id}}/lifecycle-states");
    let routes = Routes::default().at::<F>(
        &base,
        [
            (Op::GetLifecycleStates, get(get_lifecycle_states)),
            (Op::CreateLifecycleState, post(create_lifecycle_state)),
        ],
    );
    routes.at::<F>(
        &format!("{base}/{{lifecycle_state_id}}"),
        [
            (Op::GetLifecycleState, get(get_lifecycle_state)),
            (Op::UpdateLifecycleStates, patch(update_lifecycle_states)),
            (Op::DeleteLifecycleState, delete(delete_lifecycle_state)),
        ],
    )
}

/// Validates a draft and checks that every access profile it names exists.
async fn checked_draft(
    state: &AppState,
    input: LifecycleStateInput,
) -> Result<LifecycleStateDraft, ApiError> {
    let draft = LifecycleStateDraft::try_from(input)?;
    let existing = state
        .store
        .existing_access_profiles(&draft.access_profile_ids)
        .await?;
    check_access_profiles(&draft, &existing)?;
    Ok(draft)
}

/// `getLifecycleStates`: sorters and paging, no filters (CONTRACT §5).
async fn get_lifecycle_states(
    State(state): State<AppState>,
    _caller: Caller,
    Path(profile_id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let q = params
        .list_query_unfiltered(&specs::GET_LIFECYCLE_STATES_SORTERS, specs::LIST_MAX_LIMIT)?;
    let page = state.store.list_lifecycle_states(&profile_id, &q).await?;
    Ok(list_response(
        &page.items,
        page.total,
        LifecycleStateBody::of,
    ))
}

/// `createLifecycleState`: 201 with the stored state.
async fn create_lifecycle_state(
    State(state): State<AppState>,
    _caller: Caller,
    Path(profile_id): Path<String>,
    Json(input): Json<LifecycleStateInput>,
) -> Result<Response, ApiError> {
    // An unknown profile is a 404 whatever the body says.
    state.store.get_identity_profile(&profile_id).await?;
    let draft = checked_draft(&state, input).await?;
    let created = state
        .store
        .insert_lifecycle_state(&profile_id, &draft, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(LifecycleStateBody::of(&created)),
    )
        .into_response())
}

/// `getLifecycleState`
async fn get_lifecycle_state(
    State(state): State<AppState>,
    _caller: Caller,
    Path((profile_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let found = state.store.get_lifecycle_state(&profile_id, &id).await?;
    Ok(axum::Json(LifecycleStateBody::of(&found)).into_response())
}

/// `updateLifecycleStates`: RFC 6902 on the documented fields (enabled, description,
/// accountActions, accessProfileIds, emailNotificationOption).
async fn update_lifecycle_states(
    State(state): State<AppState>,
    _caller: Caller,
    Path((profile_id, id)): Path<(String, String)>,
    Json(ops): Json<Vec<Value>>,
) -> Result<Response, ApiError> {
    let current = state.store.get_lifecycle_state(&profile_id, &id).await?;
    let input = apply_patch(&current, &ops)?;
    let draft = checked_draft(&state, input).await?;
    let updated = state
        .store
        .update_lifecycle_state(&profile_id, &id, &draft, state.clock.now())
        .await?;
    Ok(axum::Json(LifecycleStateBody::of(&updated)).into_response())
}

/// `deleteLifecycleState`: 202 with the `LifecyclestateDeleted` body.
async fn delete_lifecycle_state(
    State(state): State<AppState>,
    _caller: Caller,
    Path((profile_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let deleted = state.store.delete_lifecycle_state(&profile_id, &id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(deleted_document(&deleted))).into_response())
}
