//! Governance groups (workgroups) on beta and v1: list, get, create, members, and
//! the beta bulk-add of members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::{list_response, Json, OptionalJson, Params};
use super::gateway::Caller;
use super::{docs, Fam};
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::access_profile::RefInput;
use crate::domain::model::NewGovernanceGroup;
use crate::domain::patch;
use crate::domain::text::{Description, Name};
use crate::query::specs;
use crate::store::StoreError;

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/workgroups{suffix}");
    let routes = Routes::default()
        .at::<F>(
            &base,
            [
                (Op::ListWorkgroups, get(list_workgroups)),
                (Op::CreateWorkgroup, post(create_workgroup)),
            ],
        )
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetWorkgroup, get(get_workgroup)),
                (Op::PatchWorkgroup, patch(patch_workgroup)),
                (Op::DeleteWorkgroup, delete(delete_workgroup)),
            ],
        )
        .at::<F>(
            &format!("{base}/bulk-delete"),
            [(Op::DeleteWorkgroupsInBulk, post(delete_workgroups_in_bulk))],
        )
        .at::<F>(
            &format!("{base}/{{id}}/members"),
            [(Op::ListWorkgroupMembers, get(list_workgroup_members))],
        );
    routes
        .at::<F>(
            &format!("{base}/{{id}}/members/bulk-add"),
            [(Op::UpdateWorkgroupMembers, post(update_workgroup_members))],
        )
        .at::<F>(
            &format!("{base}/{{id}}/members/bulk-delete"),
            [(Op::DeleteWorkgroupMembers, post(delete_workgroup_members))],
        )
}

/// `listWorkgroups`
async fn list_workgroups(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let q = params.list_query(
        &specs::LIST_WORKGROUPS_FILTERS,
        &specs::LIST_WORKGROUPS_SORTERS,
        250,
    )?;
    let page = state.store.list_governance_groups(&q).await?;
    Ok(list_response(&page.items, page.total, docs::workgroup))
}

/// `getWorkgroup`
async fn get_workgroup(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let group = state.store.get_governance_group(&id).await?;
    Ok(axum::Json(docs::workgroup(&group)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkgroupInput {
    name: Option<String>,
    description: Option<String>,
    owner: Option<RefInput>,
}

/// `createWorkgroup`: 200 with the new group (the spec's status for this operation).
async fn create_workgroup(
    State(state): State<AppState>,
    _caller: Caller,
    Json(input): Json<WorkgroupInput>,
) -> Result<Response, ApiError> {
    let group = checked_workgroup(&state, input).await?;
    let group = state
        .store
        .insert_governance_group(&group, state.clock.now())
        .await?;
    Ok(axum::Json(docs::workgroup(&group)).into_response())
}

/// A workgroup as sent, checked: a name, and an owner that is an existing identity.
async fn checked_workgroup(
    state: &AppState,
    input: WorkgroupInput,
) -> Result<NewGovernanceGroup, ApiError> {
    let name = Name::parse(input.name, "name")?.into_string();
    let owner_id = match input.owner {
        None => None,
        Some(owner) => Some(owner_identity(owner)?),
    };
    if let Some(id) = &owner_id {
        state.store.get_identity(id).await.map_err(|_| {
            ApiError::bad_request(format!("owner '{id}' is not an existing identity."))
        })?;
    }
    Ok(NewGovernanceGroup {
        name,
        description: Description::parse_optional(input.description)?.map(Description::into_string),
        owner_id,
    })
}

/// What `patchWorkgroup` may write, as its description lists.
const WORKGROUP_PATCHABLE: [&str; 3] = ["name", "description", "owner"];

/// `patchWorkgroup`: RFC 6902 on name, description and owner; the result passes the
/// rules of a create. 200 with the group.
async fn patch_workgroup(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    OptionalJson(ops): OptionalJson<Vec<Value>>,
) -> Result<Response, ApiError> {
    let current = state.store.get_governance_group(&id).await?;
    // The body is optional in the spec: none is a patch of no operations, which
    // changes nothing and answers the group as it is.
    let Some(ops) = ops else {
        return Ok(axum::Json(docs::workgroup(&current)).into_response());
    };
    let mut doc = serde_json::to_value(docs::workgroup(&current))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Description and owner left out of the document are there as null, so that
    // `replace` can set them (RFC 6902 replaces only what exists); null reads back as
    // absent.
    if let Some(obj) = doc.as_object_mut() {
        for k in ["description", "owner"] {
            obj.entry(k).or_insert(Value::Null);
        }
    }
    patch::apply(&mut doc, &ops, &WORKGROUP_PATCHABLE, &[])?;
    let input: WorkgroupInput = patch::read_patched(doc, "workgroup")?;
    let group = checked_workgroup(&state, input).await?;
    let group = state
        .store
        .update_governance_group(&id, &group, state.clock.now())
        .await?;
    Ok(axum::Json(docs::workgroup(&group)).into_response())
}

/// `deleteWorkgroup`: 204; its memberships go with it. A workgroup that manages a
/// source is not deleted from under it: its members are that source's sub-admins
/// (CONTRACT §6), so 400 in use, as for access profiles (§3.1), nothing changed.
async fn delete_workgroup(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_governance_group(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct WorkgroupBulkDeleteInput {
    ids: Option<Vec<String>>,
}

/// The most ids one `deleteWorkgroupsInBulk` takes, per its description.
const MAX_BULK_WORKGROUPS: usize = 100;

/// `WorkgroupDeleteItem` and `WorkgroupMemberDeleteItem`: the HTTP status of one id.
#[derive(Serialize)]
struct DeleteItem {
    id: String,
    status: u16,
    description: String,
}

/// `deleteWorkgroupsInBulk`: 207 with a status per id, in the order asked: 204
/// deleted, 404 not found, 409 in use (managing a source, as `deleteWorkgroup`);
/// each deleted on its own, the others not held back.
async fn delete_workgroups_in_bulk(
    State(state): State<AppState>,
    _caller: Caller,
    Json(input): Json<WorkgroupBulkDeleteInput>,
) -> Result<Response, ApiError> {
    let ids = input.ids.unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "ids must name at least one workgroup.",
        ));
    }
    if ids.len() > MAX_BULK_WORKGROUPS {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_BULK_WORKGROUPS} workgroups can be deleted at one time."
        )));
    }
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let (status, description) = match state.store.delete_governance_group(&id).await {
            Ok(()) => (204, "Governance Group deleted successfully.".to_string()),
            Err(StoreError::NotFound { .. }) => (
                404,
                format!("Referenced Governance Group {id} was not found."),
            ),
            Err(StoreError::InUse { .. }) => (
                409,
                format!("Unable to delete Governance Group {id} because it is in use."),
            ),
            Err(e) => return Err(e.into()),
        };
        results.push(DeleteItem {
            id,
            status,
            description,
        });
    }
    Ok((StatusCode::MULTI_STATUS, axum::Json(results)).into_response())
}

/// `deleteWorkgroupMembers` (beta bulk-remove): 207 with a status per identity, in the
/// order asked: 204 removed, 404 not a member.
async fn delete_workgroup_members(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(items): Json<Vec<RefInput>>,
) -> Result<Response, ApiError> {
    state.store.get_governance_group(&id).await?;
    if items.is_empty() {
        return Err(ApiError::bad_request("At least one identity is required."));
    }
    let mut requested = Vec::with_capacity(items.len());
    for item in items {
        if let Some(kind) = item.ref_type.as_deref().filter(|k| *k != "IDENTITY") {
            return Err(ApiError::bad_request(format!(
                "type '{kind}' is not valid: the members of a workgroup are IDENTITY."
            )));
        }
        let Some(member) = item.id else {
            return Err(ApiError::bad_request("Every item needs an id."));
        };
        requested.push(member);
    }
    let removed = state.store.remove_group_members(&id, &requested).await?;
    let results: Vec<DeleteItem> = requested
        .into_iter()
        .map(|member| {
            let (status, description) = if removed.contains(&member) {
                (
                    204,
                    "Identity deleted from Governance Group members list.".to_string(),
                )
            } else {
                (
                    404,
                    format!(
                        "Referenced Governance Group Member with Identity Id \"{member}\" \
                         was not found."
                    ),
                )
            };
            DeleteItem {
                id: member,
                status,
                description,
            }
        })
        .collect();
    Ok((StatusCode::MULTI_STATUS, axum::Json(results)).into_response())
}

/// The identity a workgroup's `owner` names: `OwnerDto` is an `IDENTITY` with an id.
fn owner_identity(owner: RefInput) -> Result<String, ApiError> {
    if let Some(kind) = owner.ref_type.as_deref().filter(|k| *k != "IDENTITY") {
        return Err(ApiError::bad_request(format!(
            "owner.type '{kind}' is not valid: the owner of a workgroup is an IDENTITY."
        )));
    }
    owner
        .id
        .ok_or_else(|| ApiError::bad_request("owner.id is required when owner is given."))
}

/// `listWorkgroupMembers` (limit at most 50, per the spec's `limit50`).
async fn list_workgroup_members(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let q = params.list_query_unfiltered(&specs::LIST_WORKGROUP_MEMBERS_SORTERS, 50)?;
    state.store.get_governance_group(&id).await?;
    let page = state.store.list_group_members(&id, &q).await?;
    Ok(list_response(
        &page.items,
        page.total,
        docs::workgroup_member,
    ))
}

/// beta `WorkgroupMemberAddItem`: the HTTP status of one identity, as an integer.
#[derive(Serialize)]
struct MemberAddItem {
    id: String,
    status: u16,
    description: String,
}

/// `updateWorkgroupMembers` (beta bulk-add): 207 with a status per identity.
pub async fn update_workgroup_members(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(items): Json<Vec<RefInput>>,
) -> Result<Response, ApiError> {
    state.store.get_governance_group(&id).await?;
    if items.is_empty() {
        return Err(ApiError::bad_request("At least one identity is required."));
    }
    let mut requested = Vec::new();
    for item in items {
        if let Some(kind) = item.ref_type.as_deref().filter(|k| *k != "IDENTITY") {
            return Err(ApiError::bad_request(format!(
                "type '{kind}' is not valid: the members of a workgroup are IDENTITY."
            )));
        }
        let Some(member) = item.id else {
            return Err(ApiError::bad_request("Every item needs an id."));
        };
        let exists = state.store.get_identity(&member).await.is_ok();
        requested.push((member, exists));
    }
    let candidates: Vec<String> = requested
        .iter()
        .filter(|(_, exists)| *exists)
        .map(|(member, _)| member.clone())
        .collect();
    let added = state
        .store
        .add_group_members(&id, &candidates, state.clock.now())
        .await?;
    // `WorkgroupMemberAddItem.status`, in the order asked: 201 added, 409 already a
    // member, 404 no such identity.
    let results: Vec<MemberAddItem> = requested
        .into_iter()
        .map(|(member, exists)| {
            let (status, description) = if !exists {
                (404, format!("Identity \"{member}\" not found."))
            } else if added.contains(&member) {
                (
                    201,
                    "Identity added to Governance Group members list.".into(),
                )
            } else {
                (
                    409,
                    format!(
                        "Unable to set Membership of Identity \"{member}\" to Governance \
                         Group \"{id}\"; the relationship already exists."
                    ),
                )
            };
            MemberAddItem {
                id: member,
                status,
                description,
            }
        })
        .collect();
    Ok((StatusCode::MULTI_STATUS, axum::Json(results)).into_response())
}
