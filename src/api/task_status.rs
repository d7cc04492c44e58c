//! Task status on beta (`/beta/task-status`) and v1 (`/task-status/v1`), CONTRACT §4:
//! get one, list (beta: finished tasks; v1: all), beta's pending tasks, and the PATCH
//! that marks a task complete. Tasks older than the retention period are not shown.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, patch};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::extract::{list_response, Json, Params};
use super::gateway::Caller;
use super::Fam;
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::format_timestamp;
use crate::domain::task::{CompletionStatus, TaskRecord};
use crate::query::specs;
use crate::store::{TaskStatusView, TaskView};

/// The `TaskStatus` document (beta and v1 are the same): the non-null fields of
/// CONTRACT §4 always present, the nullable ones `null` when unset, and
/// `taskDefinitionSummary` (not nullable; accessd's tasks have no definition) left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskStatusBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    unique_name: &'a str,
    description: &'a str,
    parent_name: Option<&'a str>,
    launcher: &'a str,
    target: Option<&'a Value>,
    created: String,
    modified: String,
    launched: Option<String>,
    completed: Option<String>,
    completion_status: Option<&'static str>,
    messages: &'a [Value],
    returns: &'a [Value],
    attributes: &'a Map<String, Value>,
    progress: Option<&'a str>,
    percent_complete: i64,
}

impl<'a> TaskStatusBody<'a> {
    fn of(t: &'a TaskRecord) -> Self {
        TaskStatusBody {
            id: &t.id,
            kind: "QUARTZ",
            unique_name: &t.unique_name,
            description: &t.description,
            parent_name: None,
            launcher: &t.launcher,
            target: None,
            created: format_timestamp(&t.created),
            modified: format_timestamp(&t.modified),
            launched: t.launched.as_ref().map(format_timestamp),
            completed: t.completed.as_ref().map(format_timestamp),
            completion_status: t.completion_status.map(CompletionStatus::as_str),
            messages: &t.messages,
            returns: &t.returns,
            attributes: &t.attributes,
            progress: t.progress.as_deref(),
            percent_complete: t.percent_complete,
        }
    }
}

pub fn routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/task-status{suffix}");
    let routes = Routes::default()
        .at::<F>(
            &base,
            [(Op::GetTaskStatusList, get(get_task_status_list::<F>))],
        )
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetTaskStatus, get(get_task_status)),
                (Op::UpdateTaskStatus, patch(update_task_status)),
            ],
        );
    // One handler, two operations: HEAD (getPendingTaskHeaders) answers the same
    // headers as GET (getPendingTasks), without the body.
    routes.at::<F>(
        &format!("{base}/pending-tasks"),
        [
            (Op::GetPendingTasks, get(get_pending_tasks)),
            (Op::GetPendingTaskHeaders, head(get_pending_tasks)),
        ],
    )
}

/// Only tasks created within the retention period exist for clients.
fn retention_cutoff(state: &AppState) -> DateTime<Utc> {
    state.clock.now() - chrono::Duration::days(state.config.tasks.task_retention_days as i64)
}

fn visible(state: &AppState, status: TaskStatusView) -> TaskView {
    TaskView {
        since: retention_cutoff(state),
        status,
    }
}

async fn visible_task(state: &AppState, id: &str) -> Result<TaskRecord, ApiError> {
    let task = state.store.get_task(id).await?;
    if task.created < retention_cutoff(state) {
        return Err(ApiError::not_found("task", id));
    }
    Ok(task)
}

/// `getTaskStatus`
async fn get_task_status(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let task = visible_task(&state, &id).await?;
    Ok(axum::Json(TaskStatusBody::of(&task)).into_response())
}

/// `getTaskStatusList`: finished tasks or every task, by the family's filters
/// ([`super::families::Edge::task_list`]).
async fn get_task_status_list<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let edge = F::edge();
    let q = params.list_query(
        edge.task_filters,
        &specs::GET_TASK_STATUS_LIST_SORTERS,
        specs::LIST_MAX_LIMIT,
    )?;
    let page = state
        .store
        .list_tasks(&visible(&state, edge.task_list), &q)
        .await?;
    Ok(list_response(&page.items, page.total, TaskStatusBody::of))
}

/// `getPendingTasks` / `getPendingTaskHeaders` (beta): unfinished tasks. HEAD always
/// carries `X-Total-Count`, since headers are all it answers.
async fn get_pending_tasks(
    State(state): State<AppState>,
    _caller: Caller,
    method: Method,
    params: Params,
) -> Result<Response, ApiError> {
    let mut q =
        params.list_query_unfiltered(&specs::GET_PENDING_TASKS_SORTERS, specs::LIST_MAX_LIMIT)?;
    if method == Method::HEAD {
        q.paging.count = true;
    }
    let page = state
        .store
        .list_tasks(&visible(&state, TaskStatusView::Uncompleted), &q)
        .await?;
    Ok(list_response(&page.items, page.total, TaskStatusBody::of))
}

/// `updateTaskStatus`: JSON Patch `replace` (or `add`) of `/completionStatus` and
/// optionally `/completed` (default now), written together (CONTRACT §4). Only an
/// unfinished task can be completed; its runner stops at its next step.
async fn update_task_status(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(ops): Json<Vec<Value>>,
) -> Result<Response, ApiError> {
    let mut status = None;
    let mut completed = None;
    for o in &ops {
        let kind = o.get("op").and_then(Value::as_str).unwrap_or("");
        let path = o.get("path").and_then(Value::as_str).unwrap_or("");
        if kind != "replace" && kind != "add" {
            return Err(ApiError::bad_request(format!(
                "Operation '{kind}' is not supported here: use replace on /completionStatus and /completed."
            )));
        }
        let value = o.get("value").and_then(Value::as_str).ok_or_else(|| {
            ApiError::bad_request(format!("The value for {path} must be a string."))
        })?;
        match path {
            "/completionStatus" => status = Some(CompletionStatus::parse(value)?),
            "/completed" => {
                completed = Some(
                    DateTime::parse_from_rfc3339(value)
                        .map_err(|e| {
                            ApiError::bad_request(format!(
                                "completed '{value}' is not an RFC 3339 date-time: {e}"
                            ))
                        })?
                        .with_timezone(&Utc),
                )
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Path '{other}' cannot be patched: only /completionStatus and /completed can."
                )))
            }
        }
    }
    let Some(status) = status else {
        return Err(ApiError::bad_request(
            "The patch must set /completionStatus (with /completed, or now by default).",
        ));
    };
    // 404 for an unknown or expired task; the store refuses a finished one (400).
    visible_task(&state, &id).await?;
    let now = state.clock.now();
    let task = state
        .store
        .complete_task_by_client(&id, status, completed.unwrap_or(now), now)
        .await?;
    Ok(axum::Json(TaskStatusBody::of(&task)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::task::TaskKind;

    #[test]
    fn a_task_status_has_every_required_field_and_no_null_summary() {
        let task = TaskRecord::pending(
            TaskKind::AccessProfileBulkDelete,
            "tester",
            serde_json::json!({"ids": ["ap0"]}),
            Utc::now(),
        );
        let doc = serde_json::to_value(TaskStatusBody::of(&task)).unwrap();
        for f in [
            "id",
            "type",
            "uniqueName",
            "description",
            "launcher",
            "created",
            "modified",
            "messages",
            "returns",
            "attributes",
            "percentComplete",
        ] {
            assert!(!doc[f].is_null(), "{f} must not be null");
        }
        for f in [
            "parentName",
            "launched",
            "completed",
            "completionStatus",
            "progress",
        ] {
            assert!(doc.get(f).is_some(), "{f} must be present");
        }
        assert!(doc.get("taskDefinitionSummary").is_none());
    }
}
