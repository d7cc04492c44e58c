//! Source apps on beta (`/beta/source-apps`) and v1 (`/source-apps/v1`, where every
//! operation needs `X-SailPoint-Experimental: true`): the three lists, create, get,
//! patch, delete, bulk update, the app's access profiles, and bulk remove
//! (CONTRACT §3.3, docs/source-apps.md).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use serde_json::Value;

use super::extract::{list_response, Json, OptionalJson, Params};
use super::gateway::Caller;
use super::Fam;
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::model::{SourceApp, SourceAppDraft};
use crate::domain::source_app::{
    access_profile_details, apply_patch, check_bulk_remove, check_bulk_update, check_refs,
    document, not_on_app, patch_document, unknown_apps, NewSourceApp, SourceAppCreateInput,
};
use crate::query::{parse_paging, sort_order, specs, FilterSpec, SortSpec};
use crate::store::{ListQuery, SourceAppView, StoreError};

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/source-apps{suffix}");
    Routes::default()
        .at::<F>(
            &base,
            [
                (Op::ListAvailableSourceApps, get(list_available_source_apps)),
                (Op::CreateSourceApp, post(create_source_app)),
            ],
        )
        .at::<F>(
            &format!("{base}/all"),
            [(Op::ListAllSourceApp, get(list_all_source_app))],
        )
        .at::<F>(
            &format!("{base}/assigned"),
            [(Op::ListAssignedSourceApp, get(list_assigned_source_app))],
        )
        .at::<F>(
            &format!("{base}/bulk-update"),
            [(Op::UpdateSourceAppsInBulk, post(update_source_apps_in_bulk))],
        )
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetSourceApp, get(get_source_app)),
                (Op::PatchSourceApp, patch(patch_source_app)),
                (Op::DeleteSourceApp, delete(delete_source_app)),
            ],
        )
        .at::<F>(
            &format!("{base}/{{id}}/access-profiles"),
            [(
                Op::ListAccessProfilesForSourceApp,
                get(list_access_profiles_for_source_app),
            )],
        )
        .at::<F>(
            &format!("{base}/{{id}}/access-profiles/bulk-remove"),
            [(
                Op::DeleteAccessProfilesFromSourceAppByBulk,
                post(delete_access_profiles_from_source_app_by_bulk),
            )],
        )
}

async fn list_view(
    state: &AppState,
    view: Option<SourceAppView>,
    params: &Params,
    filters: &FilterSpec,
    sorters: &SortSpec,
) -> Result<Response, ApiError> {
    let q = params.list_query(filters, sorters, specs::LIST_MAX_LIMIT)?;
    let page = match view {
        Some(view) => state.store.list_source_apps(view, &q).await?,
        None => crate::domain::model::Page {
            items: Vec::new(),
            total: q.paging.count.then_some(0),
        },
    };
    Ok(list_response(&page.items, page.total, document))
}

/// `listAvailableSourceApps`: apps open to access requests.
async fn list_available_source_apps(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    list_view(
        &state,
        Some(SourceAppView::Available),
        &params,
        &specs::LIST_AVAILABLE_SOURCE_APPS_FILTERS,
        &specs::LIST_AVAILABLE_SOURCE_APPS_SORTERS,
    )
    .await
}

/// `listAllSourceApp` (ORG_ADMIN, from the spec's user levels).
async fn list_all_source_app(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    list_view(
        &state,
        Some(SourceAppView::All),
        &params,
        &specs::LIST_ALL_SOURCE_APP_FILTERS,
        &specs::LIST_ALL_SOURCE_APP_SORTERS,
    )
    .await
}

/// `listAssignedSourceApp`: the available apps the calling identity can request
/// something from. A client without an identity is assigned none.
async fn list_assigned_source_app(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let view = caller.identity_id().map(|_| SourceAppView::Assigned);
    list_view(
        &state,
        view,
        &params,
        &specs::LIST_ASSIGNED_SOURCE_APP_FILTERS,
        &specs::LIST_ASSIGNED_SOURCE_APP_SORTERS,
    )
    .await
}

/// Checks a draft's references against the store: owner, account source, profiles.
async fn check_draft(state: &AppState, draft: &SourceAppDraft) -> Result<(), ApiError> {
    let facts = state.store.resolve_source_app_refs(draft).await?;
    check_refs(draft, &facts)?;
    Ok(())
}

/// `createSourceApp`: **200** with the new app. Its owner is the calling identity, or
/// the account source's owner for an API client.
async fn create_source_app(
    State(state): State<AppState>,
    caller: Caller,
    Json(input): Json<SourceAppCreateInput>,
) -> Result<axum::Json<Value>, ApiError> {
    let new = NewSourceApp::try_from(input)?;
    let owner_id = match caller.identity_id() {
        Some(id) => id.to_string(),
        // An API client: the app's owner is its account source's owner. Source apps
        // are not confined to a sub-admin's sources (their operations name no
        // sub-admin levels), so this reads the source unconfined.
        None => match state
            .store
            .get_source(&caller.scope, &new.account_source_id)
            .await
        {
            Ok(source) => source.owner.id,
            Err(StoreError::NotFound { .. }) => {
                return Err(ApiError::bad_request(format!(
                    "accountSource '{}' is not an existing source.",
                    new.account_source_id
                )))
            }
            Err(e) => return Err(e.into()),
        },
    };
    let draft = new.into_draft(owner_id);
    check_draft(&state, &draft).await?;
    let app = state
        .store
        .insert_source_app(&draft, state.clock.now())
        .await?;
    Ok(axum::Json(document(&app)))
}

/// `getSourceApp`
async fn get_source_app(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    Ok(axum::Json(document(
        &state.store.get_source_app(&id).await?,
    )))
}

/// `patchSourceApp`: answers the `SourceAppPatchDto` (the app and its profile ids).
async fn patch_source_app(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    OptionalJson(ops): OptionalJson<Vec<Value>>,
) -> Result<axum::Json<Value>, ApiError> {
    let current = state.store.get_source_app(&id).await?;
    // The body is optional in the spec: none is a patch of no operations, which
    // changes nothing and answers the app as it is.
    let Some(ops) = ops else {
        return Ok(axum::Json(patch_document(&current)));
    };
    let draft = apply_patch(&current, &ops)?;
    check_draft(&state, &draft).await?;
    state
        .store
        .update_source_apps(&[(id.clone(), draft)], state.clock.now())
        .await?;
    Ok(axum::Json(patch_document(
        &state.store.get_source_app(&id).await?,
    )))
}

/// `deleteSourceApp`: **200** with the app as it was; its profiles stay.
async fn delete_source_app(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    Ok(axum::Json(document(
        &state.store.delete_source_app(&id).await?,
    )))
}

/// `updateSourceAppsInBulk`: the same patch on up to 50 apps, all or nothing; 204.
async fn update_source_apps_in_bulk(
    State(state): State<AppState>,
    _caller: Caller,
    OptionalJson(body): OptionalJson<Value>,
) -> Result<StatusCode, ApiError> {
    // The body is optional in the spec: none names no app to update, so nothing
    // changes (204, as for any update that was carried out).
    let Some(body) = body else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let request = check_bulk_update(&body)?;
    let existing = state
        .store
        .existing_source_app_ids(&request.app_ids)
        .await?;
    let unknown: Vec<String> = request
        .app_ids
        .iter()
        .filter(|id| !existing.contains(id))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::NotFound(unknown_apps(&unknown)));
    }
    let mut updates = Vec::with_capacity(request.app_ids.len());
    for id in &request.app_ids {
        let in_app = |e: ApiError| match e {
            ApiError::BadRequest(msg) => ApiError::BadRequest(format!("Source app '{id}': {msg}")),
            other => other,
        };
        let current = state.store.get_source_app(id).await?;
        let draft = apply_patch(&current, &request.json_patch).map_err(|e| in_app(e.into()))?;
        check_draft(&state, &draft).await.map_err(in_app)?;
        updates.push((id.clone(), draft));
    }
    state
        .store
        .update_source_apps(&updates, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the app's profiles as `AccessProfileDetails`.
async fn profiles_response(
    state: &AppState,
    app: &SourceApp,
    q: &ListQuery,
) -> Result<Response, ApiError> {
    let page = state
        .store
        .list_source_app_access_profiles(&app.id, q)
        .await?;
    Ok(list_response(&page.items, page.total, |p| {
        access_profile_details(p, app)
    }))
}

/// `listAccessProfilesForSourceApp`: in the app's order (no `sorters` parameter).
async fn list_access_profiles_for_source_app(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let q = params.list_query(
        &specs::LIST_ACCESS_PROFILES_FOR_SOURCE_APP_FILTERS,
        &specs::LIST_ACCESS_PROFILES_FOR_SOURCE_APP_SORTERS,
        specs::LIST_MAX_LIMIT,
    )?;
    let app = state.store.get_source_app(&id).await?;
    profiles_response(&state, &app, &q).await
}

/// `deleteAccessProfilesFromSourceAppByBulk`: removes 1 to 50 profiles the app holds
/// (any it does not hold: 400, nothing removed) and answers the remaining ones, at
/// most `limit` (the only query parameter the operation documents).
async fn delete_access_profiles_from_source_app_by_bulk(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    params: Params,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let paging = parse_paging(params.get("limit"), None, None, specs::LIST_MAX_LIMIT)?;
    let app = state.store.get_source_app(&id).await?;
    let ids = check_bulk_remove(&body)?;
    let missing = state
        .store
        .remove_source_app_access_profiles(&id, &ids, state.clock.now())
        .await?;
    if !missing.is_empty() {
        return Err(not_on_app(&app, &missing).into());
    }
    let remaining = ListQuery {
        filter: None,
        sort: sort_order(None, &specs::LIST_ACCESS_PROFILES_FOR_SOURCE_APP_SORTERS)?,
        paging,
    };
    profiles_response(&state, &app, &remaining).await
}
