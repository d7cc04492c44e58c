//! Access profiles on every family (`/v3/access-profiles`, `/beta/access-profiles`,
//! `/access-profiles/v1`): list, create, get, patch, the profile's entitlements, and
//! deletion, single and bulk (CONTRACT §3.1, §3.2).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::control::{start_task, ForcedOutcome};
use super::extract::{list_response, memo_json_response, memo_list_response, Json, Params};
use super::families::SingleDelete;
use super::gateway::Caller;
use super::scope::for_subadmin;
use super::{docs, AppState, Fam, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::access_profile::{
    apply_patch, check_refs, AccessProfileDocument, AccessProfileDraft, AccessProfileInput,
};
use crate::domain::scope::{ROLE_SUBADMIN, SOURCE_SUBADMIN};
use crate::domain::segment::segment_scope;
use crate::domain::task::{CompletionStatus, ItemResult, TaskKind, TaskRecord};
use crate::domain::usage::{in_use_message, plan_bulk_delete, BulkDeleteInput, BulkDeleteRequest};
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/access-profiles{suffix}");
    let routes = Routes::default()
        .at::<F>(
            &base,
            [
                (Op::ListAccessProfiles, get(list_access_profiles)),
                (Op::CreateAccessProfile, post(create_access_profile)),
            ],
        )
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetAccessProfile, get(get_access_profile)),
                (Op::PatchAccessProfile, patch(patch_access_profile)),
                (Op::DeleteAccessProfile, delete(delete_access_profile::<F>)),
            ],
        )
        .at::<F>(
            &format!("{base}/bulk-delete"),
            [(
                Op::DeleteAccessProfilesInBulk,
                post(delete_access_profiles_in_bulk),
            )],
        )
        .at::<F>(
            &format!("{base}/{{id}}/entitlements"),
            [(
                Op::GetAccessProfileEntitlements,
                get(get_access_profile_entitlements::<F>),
            )],
        );
    routes.at::<F>(
        &format!("{base}/bulk-update-requestable"),
        [(
            Op::UpdateAccessProfilesInBulk,
            post(update_access_profiles_in_bulk),
        )],
    )
}

/// `listAccessProfiles` (CONTRACT §5): a sub-admin sees the profiles of its sources;
/// `for-subadmin` shows what another sub-admin sees (within the caller's own view);
/// `for-segment-ids` and `include-unsegmented` narrow it to segments.
async fn list_access_profiles(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let mut scope = caller.scope.clone();
    let subadmin = params.get("for-subadmin");
    if let Some(view) =
        for_subadmin(&state, &caller, subadmin, &[SOURCE_SUBADMIN, ROLE_SUBADMIN]).await?
    {
        scope = scope.intersect(&view);
    }
    let segments = segment_scope(
        params.get("for-segment-ids"),
        params.get("include-unsegmented"),
    )?;
    let q = params.list_query(
        &specs::LIST_ACCESS_PROFILES_FILTERS,
        &specs::LIST_ACCESS_PROFILES_SORTERS,
        250,
    )?;
    let view = crate::store::ProfileView { segments };
    let page = state.store.list_access_profiles(&scope, &view, &q).await?;
    Ok(memo_list_response(
        &page.items,
        page.total,
        |p| &p.json,
        |p| AccessProfileDocument::of(&p.profile),
    ))
}

/// Validates a draft's references against the store (owner, source, entitlements).
async fn checked_draft(
    state: &AppState,
    input: AccessProfileInput,
) -> Result<AccessProfileDraft, ApiError> {
    let draft = AccessProfileDraft::try_from(input)?;
    let facts = state.store.resolve_access_profile_refs(&draft).await?;
    check_refs(&draft, &facts)?;
    Ok(draft)
}

/// `createAccessProfile`: 201 with the stored profile.
async fn create_access_profile(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<AccessProfileInput>,
) -> Result<Response, ApiError> {
    let draft = checked_draft(&state, input).await?;
    let ap = state
        .store
        .insert_access_profile(&caller.scope, &draft, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AccessProfileDocument::of(&ap)),
    )
        .into_response())
}

/// `getAccessProfile`
async fn get_access_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ap = state.store.get_access_profile(&caller.scope, &id).await?;
    Ok(memo_json_response(&ap.json, || {
        AccessProfileDocument::of(&ap.profile)
    }))
}

/// `patchAccessProfile`: RFC 6902 on the patchable fields; `source` only together
/// with `entitlements` of the new source.
async fn patch_access_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(ops): Json<Vec<Value>>,
) -> Result<Response, ApiError> {
    let current = state.store.get_access_profile(&caller.scope, &id).await?;
    let input = apply_patch(&current.profile, &ops)?;
    let draft = checked_draft(&state, input).await?;
    let ap = state
        .store
        .update_access_profile(&caller.scope, &id, &draft, state.clock.now())
        .await?;
    Ok(axum::Json(AccessProfileDocument::of(&ap)).into_response())
}

/// `getAccessProfileEntitlements`
async fn get_access_profile_entitlements<F: Fam>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let q = params.list_query(
        &specs::GET_ACCESS_PROFILE_ENTITLEMENTS_FILTERS,
        &specs::GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS,
        250,
    )?;
    let page = state
        .store
        .list_access_profile_entitlements(&caller.scope, &id, &q)
        .await?;
    Ok(list_response(&page.items, page.total, |e| {
        docs::entitlement(e, F::edge().entitlement)
    }))
}

/// `deleteAccessProfile` (CONTRACT §3.1): the usage check and the delete in one
/// transaction. v3 and v1 answer 204; beta answers 202 with a `TASK_RESULT` reference
/// to a task recorded, already `SUCCESS`, in that same transaction.
async fn delete_access_profile<F: Fam>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = (F::edge().access_profile_delete == SingleDelete::FinishedTask).then(|| {
        TaskRecord::finished(
            TaskKind::AccessProfileDelete,
            &caller.launcher(),
            json!({ "ids": [id] }),
            CompletionStatus::Success,
            Vec::new(),
            state.clock.now(),
        )
    });
    match state
        .store
        .delete_access_profile(&caller.scope, &id, record.as_ref())
        .await?
    {
        ItemResult::InUse { name, .. } => Err(ApiError::InUse(in_use_message(&name))),
        ItemResult::Gone | ItemResult::Deleted => Ok(match record {
            Some(task) => (
                StatusCode::ACCEPTED,
                axum::Json(json!({"type": "TASK_RESULT", "id": task.id, "name": null})),
            )
                .into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        }),
    }
}

/// `deleteAccessProfilesInBulk` (CONTRACT §3.2): the plan is decided from the usages
/// now; the deletion runs as a durable task that re-checks each profile.
async fn delete_access_profiles_in_bulk(
    State(state): State<AppState>,
    caller: Caller,
    forced: Option<Extension<ForcedOutcome>>,
    Json(input): Json<BulkDeleteInput>,
) -> Result<Response, ApiError> {
    let req = BulkDeleteRequest::try_from(input)?;
    // Any profile on a source a sub-admin cannot administer: 403, nothing deleted.
    let (existing, usages) = state
        .store
        .bulk_delete_facts(&caller.scope, &req.ids)
        .await?;
    let plan = plan_bulk_delete(&req, &existing, usages)?;
    let in_use: Vec<Value> = plan.in_use.iter().map(|u| u.to_json()).collect();
    if !plan.runs_task() {
        return Ok(axum::Json(json!({"pending": [], "inUse": in_use})).into_response());
    }
    let mut task = TaskRecord::pending(
        TaskKind::AccessProfileBulkDelete,
        &caller.launcher(),
        json!({ "ids": plan.pending, "unknown": plan.unknown }),
        state.clock.now(),
    );
    task.messages = crate::domain::task::skipped_unknown_messages(&plan.unknown);
    let task_id = start_task(&state, forced.map(|Extension(f)| f), task).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"taskId": task_id, "pending": plan.pending, "inUse": in_use})),
    )
        .into_response())
}

/// An item of `AccessProfileBulkUpdateRequest`: both fields are required.
#[derive(Deserialize)]
pub struct RequestableUpdate {
    id: Option<String>,
    requestable: Option<bool>,
}

/// `AccessProfileUpdateItem`: the HTTP status of one profile, as a string (the
/// schema's type).
#[derive(Serialize)]
struct RequestableUpdateItem {
    id: String,
    requestable: bool,
    status: String,
    description: String,
}

/// The most items one bulk update takes. The spec names no bound; accessd takes as
/// many as a bulk delete (CONTRACT §3.2), so that one request is one short transaction.
const MAX_BULK_UPDATE: usize = 50;

/// `updateAccessProfilesInBulk` (beta, v1): sets `requestable` of each profile named,
/// in one transaction; 207 with a status per item, in the order asked: "201" updated,
/// "404" not found. A SOURCE_SUBADMIN may only name profiles of its sources (CONTRACT
/// §6): one outside them refuses the whole request (403), nothing changed, as for
/// bulk delete.
async fn update_access_profiles_in_bulk(
    State(state): State<AppState>,
    caller: Caller,
    Json(items): Json<Vec<RequestableUpdate>>,
) -> Result<Response, ApiError> {
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "At least one access profile is required.",
        ));
    }
    if items.len() > MAX_BULK_UPDATE {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_BULK_UPDATE} access profiles can be updated at one time."
        )));
    }
    let mut wanted = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let (Some(id), Some(requestable)) = (item.id, item.requestable) else {
            return Err(ApiError::bad_request(format!(
                "Item {i} needs an id and requestable."
            )));
        };
        wanted.push((id, requestable));
    }
    let updated = state
        .store
        .update_access_profiles_requestable(&caller.scope, &wanted, state.clock.now())
        .await?;
    let results: Vec<RequestableUpdateItem> = wanted
        .into_iter()
        .map(|(id, requestable)| {
            let (status, description) = if updated.contains(&id) {
                ("201", "Access Profile updated successfully.".to_string())
            } else {
                (
                    "404",
                    format!("Referenced Access profile with Id \"{id}\" was not found."),
                )
            };
            RequestableUpdateItem {
                id,
                requestable,
                status: status.into(),
                description,
            }
        })
        .collect();
    Ok((StatusCode::MULTI_STATUS, axum::Json(results)).into_response())
}
