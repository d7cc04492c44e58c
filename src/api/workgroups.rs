//! Governance groups (workgroups) on beta and v1: list, get, create, members, and
//! the beta bulk-add of members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::extract::{list_response, Json, Params};
use super::gateway::Caller;
use super::{docs, Fam};
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::{Family, OperationId as Op};
use crate::domain::access_profile::RefInput;
use crate::domain::model::NewGovernanceGroup;
use crate::domain::text::{Description, Name};
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/workgroups{suffix}");
    let routes = Routes::default()
        .at::<F>(
            &base,
            [
                (Op::ListWorkgroups, get(list_workgroups::<F>)),
                (Op::CreateWorkgroup, post(create_workgroup)),
            ],
        )
        .at::<F>(
            &format!("{base}/{{id}}"),
            [(Op::GetWorkgroup, get(get_workgroup))],
        )
        .at::<F>(
            &format!("{base}/{{id}}/members"),
            [(Op::ListWorkgroupMembers, get(list_workgroup_members::<F>))],
        );
    if F::FAMILY != Family::Beta {
        return routes;
    }
    // Only the beta document has the bulk add.
    routes.at::<F>(
        &format!("{base}/{{id}}/members/bulk-add"),
        [(Op::UpdateWorkgroupMembers, post(update_workgroup_members))],
    )
}

/// `listWorkgroups`
async fn list_workgroups<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let (filters, sorters) = match F::FAMILY {
        Family::V1 => (
            &specs::LIST_WORKGROUPS_V1_FILTERS,
            &specs::LIST_WORKGROUPS_V1_SORTERS,
        ),
        _ => (
            &specs::LIST_WORKGROUPS_FILTERS,
            &specs::LIST_WORKGROUPS_SORTERS,
        ),
    };
    let q = params.list_query(filters, sorters, 250)?;
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
    let group = state
        .store
        .insert_governance_group(
            &NewGovernanceGroup {
                name,
                description: Description::parse_optional(input.description)?
                    .map(Description::into_string),
                owner_id,
            },
            state.clock.now(),
        )
        .await?;
    Ok(axum::Json(docs::workgroup(&group)).into_response())
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
async fn list_workgroup_members<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let sorters = match F::FAMILY {
        Family::V1 => &specs::LIST_WORKGROUP_MEMBERS_V1_SORTERS,
        _ => &specs::LIST_WORKGROUP_MEMBERS_SORTERS,
    };
    let q = params.list_query_unfiltered(sorters, 50)?;
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
