//! Identities (beta/v1 list/get) and v3 public identities: the owners a client can
//! reference.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::extract::{list_response, Params};
use super::{docs, Fam};
use crate::app::AppState;
use crate::auth::{Family, Operation, Principal};
use crate::error::ApiError;
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Router<AppState> {
    let base = format!("/identities{suffix}");
    Router::new()
        .route(&base, get(list_identities::<F>))
        .route(&format!("{base}/{{id}}"), get(get_identity::<F>))
}

/// `listIdentities` (beta, v1)
async fn list_identities<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    principal.require(Operation::new(F::FAMILY, "listIdentities"))?;
    let (filters, sorters) = match F::FAMILY {
        Family::V1 => (
            &specs::LIST_IDENTITIES_V1_FILTERS,
            &specs::LIST_IDENTITIES_V1_SORTERS,
        ),
        _ => (
            &specs::LIST_IDENTITIES_FILTERS,
            &specs::LIST_IDENTITIES_SORTERS,
        ),
    };
    let q = params.list_query(filters, sorters, 250)?;
    let page = state.store.list_identities(&q).await?;
    Ok(list_response(&page.items, page.total, docs::identity))
}

/// `getIdentity` (beta, v1)
async fn get_identity<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    principal.require(Operation::new(F::FAMILY, "getIdentity"))?;
    Ok(axum::Json(docs::identity(
        &state.store.get_identity(&id).await?,
    )))
}

/// `getPublicIdentities` (v3)
pub async fn get_public_identities(
    State(state): State<AppState>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    principal.require(Operation::new(Family::V3, "getPublicIdentities"))?;
    let q = params.list_query(
        &specs::GET_PUBLIC_IDENTITIES_FILTERS,
        &specs::GET_PUBLIC_IDENTITIES_SORTERS,
        250,
    )?;
    let page = state.store.list_identities(&q).await?;
    Ok(list_response(
        &page.items,
        page.total,
        docs::public_identity,
    ))
}
