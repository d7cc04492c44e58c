//! Lifecycle states of identity profiles (v3 and v1). v3 has list, create, get,
//! patch and delete under `/v3/identity-profiles/{id}/lifecycle-states`; the v1
//! document has only list and create, at `/identity-profiles/v1/{id}/lifecycle-states`.
//! Identity profiles themselves have no API here: they exist only in the store.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde_json::Value;

use super::extract::{list_response, Json, Params};
use super::gateway::Caller;
use super::Fam;
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::{Family, OperationId as Op};
use crate::domain::lifecycle_state::{
    apply_patch, check_access_profiles, deleted_document, lifecycle_state_document,
    LifecycleStateInput,
};
use crate::domain::model::LifecycleStateDraft;
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/identity-profiles{suffix}/{{identity_profile_id}}/lifecycle-states");
    let routes = Routes::default().at::<F>(
        &base,
        [
            (Op::GetLifecycleStates, get(get_lifecycle_states::<F>)),
            (Op::CreateLifecycleState, post(create_lifecycle_state)),
        ],
    );
    if F::FAMILY == Family::V1 {
        // The v1 document has no get, patch or delete of a single state.
        return routes;
    }
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
async fn get_lifecycle_states<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(profile_id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let sorters = match F::FAMILY {
        Family::V1 => &specs::GET_LIFECYCLE_STATES_V1_SORTERS,
        _ => &specs::GET_LIFECYCLE_STATES_SORTERS,
    };
    let q = params.list_query_unfiltered(sorters, specs::LIST_MAX_LIMIT)?;
    let page = state.store.list_lifecycle_states(&profile_id, &q).await?;
    Ok(list_response(
        &page.items,
        page.total,
        lifecycle_state_document,
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
        axum::Json(lifecycle_state_document(&created)),
    )
        .into_response())
}

/// `getLifecycleState`
async fn get_lifecycle_state(
    State(state): State<AppState>,
    _caller: Caller,
    Path((profile_id, id)): Path<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    let found = state.store.get_lifecycle_state(&profile_id, &id).await?;
    Ok(axum::Json(lifecycle_state_document(&found)))
}

/// `updateLifecycleStates`: RFC 6902 on the documented fields (enabled, description,
/// accountActions, accessProfileIds, emailNotificationOption).
async fn update_lifecycle_states(
    State(state): State<AppState>,
    _caller: Caller,
    Path((profile_id, id)): Path<(String, String)>,
    Json(ops): Json<Vec<Value>>,
) -> Result<axum::Json<Value>, ApiError> {
    let current = state.store.get_lifecycle_state(&profile_id, &id).await?;
    let input = apply_patch(&current, &ops)?;
    let draft = checked_draft(&state, input).await?;
    let updated = state
        .store
        .update_lifecycle_state(&profile_id, &id, &draft, state.clock.now())
        .await?;
    Ok(axum::Json(lifecycle_state_document(&updated)))
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
