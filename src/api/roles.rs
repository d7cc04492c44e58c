//! Roles on every family (`/v3/roles`, `/beta/roles`, `/roles/v1`): list, create, get,
//! patch, delete, and bulk delete (as a task).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::control::{start_task, ForcedOutcome};
use super::docs::Reference;
use super::extract::{list_response, Json, Params};
use super::gateway::Caller;
use super::scope::for_subadmin;
use super::Fam;
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::model::{Role, RoleDraft};
use crate::domain::role::{
    apply_role_patch, check_bulk_delete, check_bulk_delete_known, check_owner_name,
    check_role_refs, RoleInput,
};
use crate::domain::scope::ROLE_SUBADMIN;
use crate::domain::segment::segment_scope;
use crate::domain::task::{TaskKind, TaskRecord};
use crate::domain::Problems;
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/roles{suffix}");
    Routes::default()
        .at::<F>(
            &base,
            [
                (Op::ListRoles, get(list_roles)),
                (Op::CreateRole, post(create_role)),
            ],
        )
        .at::<F>(
            &format!("{base}/bulk-delete"),
            [(Op::DeleteBulkRoles, post(delete_bulk_roles))],
        )
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetRole, get(get_role)),
                (Op::PatchRole, patch(patch_role)),
                (Op::DeleteRole, delete(delete_role)),
            ],
        )
}

/// `listRoles` (CONTRACT §5): at most 50 per page on every family, as the spec says. A
/// ROLE_SUBADMIN sees the roles whose access profiles all come from its sources;
/// `for-subadmin` shows another's view; `for-segment-ids` and `include-unsegmented`
/// narrow it to segments, as for access profiles.
async fn list_roles(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let mut scope = caller.scope.clone();
    if let Some(view) = for_subadmin(
        &state,
        &caller,
        params.get("for-subadmin"),
        &[ROLE_SUBADMIN],
    )
    .await?
    {
        scope = scope.intersect(&view);
    }
    let segments = segment_scope(
        params.get("for-segment-ids"),
        params.get("include-unsegmented"),
    )?;
    let q = params.list_query(
        &specs::LIST_ROLES_FILTERS,
        &specs::LIST_ROLES_SORTERS,
        specs::LIST_ROLES_MAX_LIMIT,
    )?;
    let page = state
        .store
        .list_roles(&scope, segments.as_ref(), &q)
        .await?;
    Ok(list_response(&page.items, page.total, RoleBody::of))
}

/// The Role document every family answers (v3 `Role`; beta `Role` and v1 `role` are
/// the same): the free-form fields as stored, `null` where the schema makes them
/// nullable, lists `[]` when unset, and `accessModelMetadata` (not nullable) left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleBody<'a> {
    id: &'a str,
    name: &'a str,
    created: String,
    modified: String,
    description: Option<&'a str>,
    owner: Reference<'a>,
    access_profiles: Vec<Reference<'a>>,
    entitlements: Vec<Reference<'a>>,
    membership: Option<&'a Value>,
    legacy_membership_info: Option<&'a Value>,
    enabled: bool,
    requestable: bool,
    access_request_config: Option<&'a Value>,
    revocation_request_config: Option<&'a Value>,
    segments: &'a [String],
    dimensional: bool,
    dimension_refs: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_model_metadata: Option<&'a Value>,
    privilege_level: Option<&'a Value>,
    additional_owners: &'a Value,
}

static EMPTY_LIST: Value = Value::Array(Vec::new());

impl<'a> RoleBody<'a> {
    fn of(role: &'a Role) -> Self {
        let stored = |field: &str| role.doc.get(field).filter(|v| !v.is_null());
        let refs = |list: &'a [crate::domain::model::NamedRef], kind| {
            list.iter().map(|r| Reference::to(kind, r)).collect()
        };
        RoleBody {
            id: &role.id,
            name: &role.name,
            created: crate::domain::format_timestamp(&role.created),
            modified: crate::domain::format_timestamp(&role.modified),
            description: role.description.as_deref(),
            owner: Reference::to("IDENTITY", &role.owner),
            access_profiles: refs(&role.access_profiles, "ACCESS_PROFILE"),
            entitlements: refs(&role.entitlements, "ENTITLEMENT"),
            membership: stored("membership"),
            legacy_membership_info: stored("legacyMembershipInfo"),
            enabled: role.enabled,
            requestable: role.requestable,
            access_request_config: stored("accessRequestConfig"),
            revocation_request_config: stored("revocationRequestConfig"),
            segments: &role.segments,
            dimensional: role.dimensional,
            dimension_refs: stored("dimensionRefs"),
            access_model_metadata: stored("accessModelMetadata"),
            privilege_level: stored("privilegeLevel"),
            additional_owners: stored("additionalOwners").unwrap_or(&EMPTY_LIST),
        }
    }
}

/// Validates a role's references against the store (owner, access profiles,
/// entitlements) and the owner's display name when one was given.
async fn checked_draft(state: &AppState, input: RoleInput) -> Result<RoleDraft, ApiError> {
    let owner_name = input.owner_name();
    let draft = RoleDraft::try_from(input)?;
    let facts = state.store.resolve_role_refs(&draft).await?;
    let mut problems = Problems::default();
    problems.check(check_role_refs(&draft, &facts));
    problems.check(check_owner_name(owner_name.as_deref(), &facts));
    problems.finish()?;
    Ok(draft)
}

/// `createRole`: 201 with the stored role.
async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<RoleInput>,
) -> Result<Response, ApiError> {
    let draft = checked_draft(&state, input).await?;
    let role = state
        .store
        .insert_role(&caller.scope, &draft, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(RoleBody::of(&role))).into_response())
}

/// `getRole`
async fn get_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let role = state.store.get_role(&caller.scope, &id).await?;
    Ok(axum::Json(RoleBody::of(&role)).into_response())
}

/// `patchRole`: RFC 6902 on the fields the operation lists as patchable; the result
/// passes the same rules as a create.
async fn patch_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(ops): Json<Vec<Value>>,
) -> Result<Response, ApiError> {
    let current = state.store.get_role(&caller.scope, &id).await?;
    let input = apply_role_patch(&current, &ops)?;
    let draft = checked_draft(&state, input).await?;
    let role = state
        .store
        .update_role(&caller.scope, &id, &draft, state.clock.now())
        .await?;
    Ok(axum::Json(RoleBody::of(&role)).into_response())
}

/// `deleteRole`: 204 on every family (the beta spec documents 204 too, unlike
/// `deleteAccessProfile`). Nothing references a role, so nothing blocks it.
async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_role(&caller.scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `RoleBulkDeleteRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleBulkDeleteRequest {
    role_ids: Option<Vec<String>>,
}

/// `deleteBulkRoles`: 1 to 50 distinct, existing ids, else 400 and nothing deleted;
/// the deletion runs as a task and the answer is 202 with its `TaskResultDto`.
async fn delete_bulk_roles(
    State(state): State<AppState>,
    caller: Caller,
    forced: Option<Extension<ForcedOutcome>>,
    Json(body): Json<RoleBulkDeleteRequest>,
) -> Result<Response, ApiError> {
    let Some(role_ids) = body.role_ids else {
        return Err(ApiError::bad_request("roleIds is required."));
    };
    check_bulk_delete(&role_ids)?;
    // A sub-admin may delete only roles built from its sources: their profiles are
    // checked in one query, and any outside is a 403 with nothing deleted.
    let existing = state
        .store
        .existing_role_ids(&caller.scope, &role_ids)
        .await?;
    check_bulk_delete_known(&role_ids, &existing)?;
    let task = TaskRecord::pending(
        TaskKind::RoleBulkDelete,
        &caller.launcher(),
        json!({ "ids": role_ids }),
        state.clock.now(),
    );
    let task_id = start_task(&state, forced.map(|Extension(f)| f), task).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"type": "TASK_RESULT", "id": task_id, "name": null})),
    )
        .into_response())
}
