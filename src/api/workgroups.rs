//! Governance groups (workgroups) on beta and v1: list, get, create, members, and
//! the beta bulk-add of members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{list_response, Json, Params};
use super::{docs, Fam};
use crate::app::AppState;
use crate::auth::{Family, Operation, Principal};
use crate::domain::access_profile::RefInput;
use crate::domain::model::NewGovernanceGroup;
use crate::error::ApiError;
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Router<AppState> {
    let base = format!("/workgroups{suffix}");
    Router::new()
        .route(&base, get(list_workgroups::<F>).post(create_workgroup::<F>))
        .route(&format!("{base}/{{id}}"), get(get_workgroup::<F>))
        .route(
            &format!("{base}/{{id}}/members"),
            get(list_workgroup_members::<F>),
        )
}

/// `listWorkgroups`
async fn list_workgroups<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    principal.require(Operation::new(F::FAMILY, "listWorkgroups"))?;
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
async fn get_workgroup<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    principal.require(Operation::new(F::FAMILY, "getWorkgroup"))?;
    Ok(axum::Json(docs::workgroup(
        &state.store.get_governance_group(&id).await?,
    )))
}

#[derive(Deserialize)]
pub struct WorkgroupInput {
    name: Option<String>,
    description: Option<String>,
    owner: Option<RefInput>,
}

/// `createWorkgroup`: 200 with the new group (the spec's status for this operation).
async fn create_workgroup<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<WorkgroupInput>,
) -> Result<axum::Json<Value>, ApiError> {
    principal.require(Operation::new(F::FAMILY, "createWorkgroup"))?;
    let name = input
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("name is required."))?;
    let owner_id = input.owner.and_then(|o| o.id);
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
                description: input.description,
                owner_id,
            },
            state.clock.now(),
        )
        .await?;
    Ok(axum::Json(docs::workgroup(&group)))
}

/// `listWorkgroupMembers` (limit at most 50, per the spec's `limit50`).
async fn list_workgroup_members<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    principal.require(Operation::new(F::FAMILY, "listWorkgroupMembers"))?;
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

/// `updateWorkgroupMembers` (beta bulk-add): 207 with a status per identity.
pub async fn update_workgroup_members(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(items): Json<Vec<RefInput>>,
) -> Result<Response, ApiError> {
    principal.require(Operation::new(Family::Beta, "updateWorkgroupMembers"))?;
    state.store.get_governance_group(&id).await?;
    if items.is_empty() {
        return Err(ApiError::bad_request("At least one identity is required."));
    }
    let mut added = Vec::new();
    let mut results = Vec::new();
    for item in items {
        let Some(member) = item.id else {
            return Err(ApiError::bad_request("Every item needs an id."));
        };
        match state.store.get_identity(&member).await {
            Ok(_) => {
                results.push(json!({"id": member, "status": "201", "description": "Added"}));
                added.push(member);
            }
            Err(_) => results
                .push(json!({"id": member, "status": "404", "description": "Identity not found"})),
        }
    }
    state
        .store
        .add_group_members(&id, &added, state.clock.now())
        .await?;
    Ok((StatusCode::MULTI_STATUS, axum::Json(results)).into_response())
}
