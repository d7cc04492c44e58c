//! Segments on v3 (`/v3/segments`): list, create, get, patch, delete. The other
//! families have no segment API; their access-profile lists filter by segment
//! (`for-segment-ids`) all the same.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde::Serialize;
use serde_json::Value;

use super::docs::Reference;
use super::extract::{list_response, Json, Params};
use super::gateway::Caller;
use super::Fam;
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::segment::{
    apply_segment_patch, check_segment_refs, Segment, SegmentDraft, SegmentInput,
};
use crate::query::specs;

/// v3 `Segment`: `owner` is nullable; `description` and `visibilityCriteria` are not,
/// and are left out when unset.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SegmentBody<'a> {
    id: &'a str,
    name: &'a str,
    created: String,
    modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    owner: Option<Reference<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility_criteria: Option<&'a Value>,
    active: bool,
}

impl<'a> SegmentBody<'a> {
    fn of(s: &'a Segment) -> Self {
        SegmentBody {
            id: &s.id,
            name: &s.name,
            created: crate::domain::format_timestamp(&s.created),
            modified: crate::domain::format_timestamp(&s.modified),
            description: s.description.as_deref(),
            owner: s.owner.as_ref().map(|o| Reference::to("IDENTITY", o)),
            visibility_criteria: s.visibility_criteria.as_ref(),
            active: s.active,
        }
    }
}

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/segments{suffix}");
    Routes::default()
        .at::<F>(
            &base,
            [
                (Op::ListSegments, get(list_segments)),
                (Op::CreateSegment, post(create_segment)),
            ],
        )
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetSegment, get(get_segment)),
                (Op::PatchSegment, patch(patch_segment)),
                (Op::DeleteSegment, delete(delete_segment)),
            ],
        )
}

/// Validates a segment and checks its owner against the store.
async fn checked_draft(state: &AppState, input: SegmentInput) -> Result<SegmentDraft, ApiError> {
    let draft = SegmentDraft::try_from(input)?;
    let facts = state.store.resolve_segment_refs(&draft).await?;
    check_segment_refs(&draft, &facts)?;
    Ok(draft)
}

/// `listSegments`: `limit`, `offset` and `count` only (CONTRACT §5), oldest first.
async fn list_segments(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let q = params.list_query_paged(&specs::LIST_SEGMENTS_ORDER, specs::LIST_MAX_LIMIT)?;
    let page = state.store.list_segments(&q).await?;
    Ok(list_response(&page.items, page.total, SegmentBody::of))
}

/// `createSegment`: 201 with the stored segment.
async fn create_segment(
    State(state): State<AppState>,
    _caller: Caller,
    Json(input): Json<SegmentInput>,
) -> Result<Response, ApiError> {
    let draft = checked_draft(&state, input).await?;
    let segment = state
        .store
        .insert_segment(&draft, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(SegmentBody::of(&segment))).into_response())
}

/// `getSegment`
async fn get_segment(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let segment = state.store.get_segment(&id).await?;
    Ok(axum::Json(SegmentBody::of(&segment)).into_response())
}

/// `patchSegment`: RFC 6902 on name, description, owner, visibilityCriteria and
/// active; the result passes the same rules as a create.
async fn patch_segment(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(ops): Json<Vec<Value>>,
) -> Result<Response, ApiError> {
    let current = state.store.get_segment(&id).await?;
    let input = apply_segment_patch(&current, &ops)?;
    let draft = checked_draft(&state, input).await?;
    let segment = state
        .store
        .update_segment(&id, &draft, state.clock.now())
        .await?;
    Ok(axum::Json(SegmentBody::of(&segment)).into_response())
}

/// `deleteSegment`: 204. The segment leaves every access profile and role that was in
/// it.
async fn delete_segment(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_segment(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
