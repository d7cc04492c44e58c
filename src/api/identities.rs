//! Identities (beta/v1 list/get) and v3 public identities: the owners a client can
//! reference.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{delete, get};

use super::extract::{list_response, Params};
use super::gateway::Caller;
use super::{docs, Fam};
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/identities{suffix}");
    Routes::default()
        .at::<F>(&base, [(Op::ListIdentities, get(list_identities))])
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetIdentity, get(get_identity)),
                (Op::DeleteIdentity, delete(delete_identity)),
            ],
        )
}

/// `/public-identities` (v3 and the year-versioned families).
pub fn public_routes<F: Fam>() -> Routes {
    Routes::default().at::<F>(
        "/public-identities",
        [(Op::GetPublicIdentities, get(get_public_identities))],
    )
}

/// `listIdentities` (beta, v1)
async fn list_identities(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let (filters, sorters) = (
        &specs::LIST_IDENTITIES_FILTERS,
        &specs::LIST_IDENTITIES_SORTERS,
    );
    // `defaultFilter`: every identity here is correlated, so CORRELATED_ONLY and NONE
    // list the same ones; the value is checked all the same.
    params.one_of("defaultFilter", &["CORRELATED_ONLY", "NONE"])?;
    let q = params.list_query(filters, sorters, 250)?;
    let page = state.store.list_identities(&q).await?;
    Ok(list_response(&page.items, page.total, docs::identity))
}

/// `getIdentity` (beta, v1)
async fn get_identity(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let identity = state.store.get_identity(&id).await?;
    Ok(axum::Json(docs::identity(&identity)).into_response())
}

/// `deleteIdentity` (beta, v1): 204. Identities are the owners and managers of
/// CONTRACT §2's model: an identity that owns anything (a source, an access profile,
/// a role, a source app, a segment, an entitlement, a governance group, an identity
/// profile) or manages another identity is not deleted from under it: 400 in use, as
/// for access profiles (§3.1), nothing changed. Its memberships and personal access
/// tokens go with it.
async fn delete_identity(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_identity(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `getPublicIdentities` (v3)
pub async fn get_public_identities(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    // `add-core-filters` is accepted and not applied; its value is checked.
    params.flag("add-core-filters")?;
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
