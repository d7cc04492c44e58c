//! Sources (v3 list/get/create) and entitlements (beta and v1 list/get): what a
//! client needs to discover before it can create an access profile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::extract::{list_response, Json, Params};
use super::gateway::Caller;
use super::scope::for_subadmin;
use super::{docs, Fam, V3};
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::{Family, OperationId as Op};
use crate::domain::access_profile::RefInput;
use crate::domain::model::NewSource;
use crate::domain::scope::{is_subadmin, SOURCE_SUBADMIN};
use crate::domain::text::{Description, Name};
use crate::query::specs;

/// `listSources` (v3). A sub-admin sees the sources it administers; a SOURCE_SUBADMIN
/// must say so with `for-subadmin=me` (or its own id), else 403, as the spec says.
pub async fn list_sources(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let mut scope = caller.scope.clone();
    let subadmin = params.get("for-subadmin");
    let names_itself = subadmin
        .map(str::trim)
        .is_some_and(|v| v == "me" || Some(v) == caller.identity_id());
    if !scope.is_all()
        && is_subadmin(&caller.claims.authorities, &[SOURCE_SUBADMIN])
        && !names_itself
    {
        return Err(ApiError::Forbidden(
            "A SOURCE_SUBADMIN must pass for-subadmin=me (or its own identity id).".into(),
        ));
    }
    if let Some(view) = for_subadmin(&state, &caller, subadmin, &[SOURCE_SUBADMIN]).await? {
        scope = scope.intersect(&view);
    }
    // `includeIDNSource`: accessd has no built-in IdentityNow source to include; the
    // value is checked all the same.
    params.flag("includeIDNSource")?;
    let q = params.list_query(
        &specs::LIST_SOURCES_FILTERS,
        &specs::LIST_SOURCES_SORTERS,
        250,
    )?;
    let page = state.store.list_sources(&scope, &q).await?;
    Ok(list_response(&page.items, page.total, docs::source))
}

/// `getSource` (v3)
pub async fn get_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let source = state.store.get_source(&caller.scope, &id).await?;
    Ok(axum::Json(docs::source(&source)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInput {
    name: Option<String>,
    description: Option<String>,
    owner: Option<RefInput>,
    management_workgroup: Option<RefInput>,
    #[serde(rename = "type")]
    source_type: Option<String>,
    connector: Option<String>,
    connector_name: Option<String>,
    connection_type: Option<String>,
    authoritative: Option<bool>,
    features: Option<Vec<String>>,
    /// Everything else of the v3 `Source` document, kept as sent.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Fields of `Source` that the server computes; ignored on input.
const SOURCE_READ_ONLY: [&str; 6] = ["id", "created", "modified", "healthy", "status", "since"];

/// `createSource` (v3): 201 with the stored source.
pub async fn create_source(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
    Json(input): Json<SourceInput>,
) -> Result<Response, ApiError> {
    // `provisionAsCsv`: accessd provisions nothing, so a source is the same either way;
    // the value is checked all the same.
    params.flag("provisionAsCsv")?;
    let name = Name::parse(input.name, "name")?.into_string();
    let owner_id = input
        .owner
        .and_then(|o| o.id)
        .ok_or_else(|| ApiError::bad_request("owner.id is required."))?;
    let connector = input
        .connector
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("connector is required."))?;
    state.store.get_identity(&owner_id).await.map_err(|_| {
        ApiError::bad_request(format!("owner '{owner_id}' is not an existing identity."))
    })?;
    let workgroup_id = input.management_workgroup.and_then(|w| w.id);
    if let Some(w) = &workgroup_id {
        state.store.get_governance_group(w).await.map_err(|_| {
            ApiError::bad_request(format!("managementWorkgroup '{w}' does not exist."))
        })?;
    }
    let mut doc = input.rest;
    for k in SOURCE_READ_ONLY {
        doc.remove(k);
    }
    doc.retain(|_, v| !v.is_null());
    let source = state
        .store
        .insert_source(
            &NewSource {
                name,
                description: Description::parse_optional(input.description)?
                    .map(Description::into_string),
                owner_id,
                management_workgroup_id: workgroup_id,
                source_type: input.source_type,
                connector,
                connector_name: input.connector_name,
                connection_type: input.connection_type,
                authoritative: input.authoritative.unwrap_or(false),
                features: input.features.unwrap_or_default(),
                doc,
            },
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(docs::source(&source))).into_response())
}

pub fn entitlement_routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/entitlements{suffix}");
    Routes::default()
        .at::<F>(&base, [(Op::ListEntitlements, get(list_entitlements::<F>))])
        .at::<F>(
            &format!("{base}/{{id}}"),
            [(Op::GetEntitlement, get(get_entitlement::<F>))],
        )
}

/// `/v3/sources`.
pub fn routes() -> Routes {
    Routes::default()
        .at::<V3>(
            "/sources",
            [
                (Op::ListSources, get(list_sources)),
                (Op::CreateSource, post(create_source)),
            ],
        )
        .at::<V3>("/sources/{id}", [(Op::GetSource, get(get_source))])
}

/// `listEntitlements` (beta, v1)
async fn list_entitlements<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let (filters, sorters) = match F::FAMILY {
        Family::V1 => (
            &specs::LIST_ENTITLEMENTS_V1_FILTERS,
            &specs::LIST_ENTITLEMENTS_V1_SORTERS,
        ),
        _ => (
            &specs::LIST_ENTITLEMENTS_FILTERS,
            &specs::LIST_ENTITLEMENTS_SORTERS,
        ),
    };
    // `include-unsegmented`: entitlements are in no segment here, so every one is
    // unsegmented and listed either way; the value is checked all the same.
    params.flag("include-unsegmented")?;
    let q = params.list_query(filters, sorters, 250)?;
    let page = state.store.list_entitlements(&q).await?;
    Ok(list_response(&page.items, page.total, |e| {
        docs::entitlement(e, F::FAMILY)
    }))
}

/// `getEntitlement` (beta, v1)
async fn get_entitlement<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = state.store.get_entitlement(&id).await?;
    Ok(axum::Json(docs::entitlement(&e, F::FAMILY)).into_response())
}
