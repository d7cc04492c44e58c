//! Segments on v3 (`/v3/segments`): list, create, get, patch, delete. The other
//! families have no segment API; their access-profile lists filter by segment
//! (`for-segment-ids`) all the same.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::extract::{list_response, Json, Params};
use super::Fam;
use crate::app::AppState;
use crate::auth::{Operation, Principal};
use crate::domain::segment::{
    apply_segment_patch, check_segment_refs, segment_document, SegmentDraft, SegmentInput,
};
use crate::error::ApiError;
use crate::query::specs;

pub fn routes<F: Fam>(suffix: &str) -> Router<AppState> {
    let base = format!("/segments{suffix}");
    Router::new()
        .route(&base, get(list_segments::<F>).post(create_segment::<F>))
        .route(
            &format!("{base}/{{id}}"),
            get(get_segment::<F>)
                .patch(patch_segment::<F>)
                .delete(delete_segment::<F>),
        )
}

fn op<F: Fam>(id: &'static str) -> Operation {
    Operation::new(F::FAMILY, id)
}

/// Validates a segment and checks its owner against the store.
async fn checked_draft(state: &AppState, input: SegmentInput) -> Result<SegmentDraft, ApiError> {
    let draft = SegmentDraft::try_from(input)?;
    let facts = state.store.resolve_segment_refs(&draft).await?;
    check_segment_refs(&draft, &facts)?;
    Ok(draft)
}

/// `listSegments`: `limit`, `offset` and `count` only (CONTRACT §5), oldest first.
async fn list_segments<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    params: Params,
) -> Result<Response, ApiError> {
    principal.require(op::<F>("listSegments"))?;
    let q = params.list_query_paged(&specs::LIST_SEGMENTS_ORDER, specs::LIST_MAX_LIMIT)?;
    let page = state.store.list_segments(&q).await?;
    Ok(list_response(&page.items, page.total, segment_document))
}

/// `createSegment`: 201 with the stored segment.
async fn create_segment<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<SegmentInput>,
) -> Result<Response, ApiError> {
    principal.require(op::<F>("createSegment"))?;
    let draft = checked_draft(&state, input).await?;
    let segment = state
        .store
        .insert_segment(&draft, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(segment_document(&segment))).into_response())
}

/// `getSegment`
async fn get_segment<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    principal.require(op::<F>("getSegment"))?;
    let segment = state.store.get_segment(&id).await?;
    Ok(axum::Json(segment_document(&segment)))
}

/// `patchSegment`: RFC 6902 on name, description, owner, visibilityCriteria and
/// active; the result passes the same rules as a create.
async fn patch_segment<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(ops): Json<Vec<Value>>,
) -> Result<axum::Json<Value>, ApiError> {
    principal.require(op::<F>("patchSegment"))?;
    let current = state.store.get_segment(&id).await?;
    let input = apply_segment_patch(&current, &ops)?;
    let draft = checked_draft(&state, input).await?;
    let segment = state
        .store
        .update_segment(&id, &draft, state.clock.now())
        .await?;
    Ok(axum::Json(segment_document(&segment)))
}

/// `deleteSegment`: 204. The segment leaves every access profile that was in it.
async fn delete_segment<F: Fam>(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    principal.require(op::<F>("deleteSegment"))?;
    state.store.delete_segment(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
