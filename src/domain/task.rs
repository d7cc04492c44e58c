//! Tasks (CONTRACT §4): the kinds accessd runs, their states, the `TaskStatus`
//! document, and the step rules of the delete tasks. Pure: the runner in
//! `crate::tasks` claims rows and the store applies each step in one transaction.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use std::collections::HashMap;

use super::model::NamedRef;
use super::usage::Usage;
use super::{invalid, DomainResult};

/// How many items a delete task handles per transaction: small enough that progress
/// moves and a crash loses little, large enough to amortise the commit.
pub const DELETE_CHUNK: usize = 10;
/// A task claimed this many times without finishing is given up as `ERROR`.
pub const MAX_ATTEMPTS: i64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// `deleteAccessProfilesInBulk` (CONTRACT §3.2).
    AccessProfileBulkDelete,
    /// beta `deleteAccessProfile`: done in the request, recorded as a finished task.
    AccessProfileDelete,
    /// `deleteBulkRoles`.
    RoleBulkDelete,
    /// v3 `deleteSource`: done in the request, recorded as a finished task.
    SourceDelete,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::AccessProfileBulkDelete => "ACCESS_PROFILE_BULK_DELETE",
            TaskKind::AccessProfileDelete => "ACCESS_PROFILE_DELETE",
            TaskKind::RoleBulkDelete => "ROLE_BULK_DELETE",
            TaskKind::SourceDelete => "SOURCE_DELETE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            TaskKind::AccessProfileBulkDelete,
            TaskKind::AccessProfileDelete,
            TaskKind::RoleBulkDelete,
            TaskKind::SourceDelete,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// `uniqueName` and `description` of the TaskStatus.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            TaskKind::AccessProfileBulkDelete => (
                "Access Profile Bulk Delete",
                "Deletes access profiles that are not in use",
            ),
            TaskKind::AccessProfileDelete => ("Access Profile Delete", "Deletes an access profile"),
            TaskKind::RoleBulkDelete => ("Role Bulk Delete", "Deletes roles"),
            TaskKind::SourceDelete => ("Source Delete", "Deletes a source"),
        }
    }
}

/// The runner's view of a task row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    Running,
    Finished,
}

impl TaskState {
    pub fn parse(s: &str) -> Option<Self> {
        [TaskState::Pending, TaskState::Running, TaskState::Finished]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "PENDING",
            TaskState::Running => "RUNNING",
            TaskState::Finished => "FINISHED",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionStatus {
    Success,
    Warning,
    Error,
    Terminated,
    TempError,
}

impl CompletionStatus {
    pub const ALL: [CompletionStatus; 5] = [
        CompletionStatus::Success,
        CompletionStatus::Warning,
        CompletionStatus::Error,
        CompletionStatus::Terminated,
        CompletionStatus::TempError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompletionStatus::Success => "SUCCESS",
            CompletionStatus::Warning => "WARNING",
            CompletionStatus::Error => "ERROR",
            CompletionStatus::Terminated => "TERMINATED",
            CompletionStatus::TempError => "TEMPERROR",
        }
    }

    /// Accepts any letter case (the spec's own PATCH example sends `"Error"`); stored
    /// and rendered uppercase (CONTRACT §4).
    pub fn parse(s: &str) -> DomainResult<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .map_or_else(
                || {
                    invalid(format!(
                        "completionStatus '{s}' is not one of SUCCESS, WARNING, ERROR, TERMINATED, TEMPERROR."
                    ))
                },
                Ok,
            )
    }
}

/// A task as stored.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub id: String,
    pub kind: TaskKind,
    pub unique_name: String,
    pub description: String,
    pub launcher: String,
    pub source_id: Option<String>,
    pub payload: Value,
    pub attributes: Map<String, Value>,
    pub messages: Vec<Value>,
    pub returns: Vec<Value>,
    pub state: TaskState,
    pub progress: Option<String>,
    pub percent_complete: i64,
    pub completion_status: Option<CompletionStatus>,
    pub claimed_by: Option<String>,
    pub claim_expires: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub launched: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
}

impl TaskRecord {
    /// A new pending task of `kind` with this input.
    pub fn pending(kind: TaskKind, launcher: &str, payload: Value, now: DateTime<Utc>) -> Self {
        let (unique_name, description) = kind.names();
        TaskRecord {
            id: super::new_id(),
            kind,
            unique_name: unique_name.into(),
            description: description.into(),
            launcher: launcher.into(),
            source_id: None,
            payload,
            attributes: Map::new(),
            messages: Vec::new(),
            returns: Vec::new(),
            state: TaskState::Pending,
            progress: Some("Pending".into()),
            percent_complete: 0,
            completion_status: None,
            claimed_by: None,
            claim_expires: None,
            attempts: 0,
            created: now,
            modified: now,
            launched: None,
            completed: None,
        }
    }

    /// A task that finished within the request that created it.
    pub fn finished(
        kind: TaskKind,
        launcher: &str,
        payload: Value,
        status: CompletionStatus,
        messages: Vec<Value>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut t = Self::pending(kind, launcher, payload, now);
        t.state = TaskState::Finished;
        t.progress = Some("Completed".into());
        t.percent_complete = 100;
        t.completion_status = Some(status);
        t.messages = messages;
        t.launched = Some(now);
        t.completed = Some(now);
        t
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    Info,
    Warn,
    Error,
}

/// A `TaskStatusMessage`: every required field present.
pub fn message(kind: MessageType, key: &str, text: String, parameters: Vec<Value>) -> Value {
    let t = match kind {
        MessageType::Info => "INFO",
        MessageType::Warn => "WARN",
        MessageType::Error => "ERROR",
    };
    json!({
        "type": t,
        "localizedText": {"locale": "en-US", "message": text},
        "key": key,
        "parameters": parameters,
    })
}

/// What a step of a delete task found for one id, inside its transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemResult {
    Deleted,
    /// Already gone (deleted by someone else, or by this task before a crash).
    Gone,
    /// Used again since the request was answered: kept (CONTRACT §3.2).
    InUse {
        name: String,
        usages: Vec<Usage>,
    },
}

/// A delete step's decision, made from the facts its transaction read: which of its
/// ids to delete, and what it reports for each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepDecision {
    /// For each id of the step, in its order.
    pub results: Vec<(String, ItemResult)>,
    /// The ids to delete now: those that exist and that nothing uses.
    pub delete: Vec<String>,
}

/// Decides a delete step (CONTRACT §3.2): an id that names no profile any more is
/// `Gone`; a profile that something came to use since the request was answered is kept
/// and reported `InUse` with its usages; the rest are deleted. `existing` and `usages`
/// are what the step's transaction found for `ids`.
pub fn decide_step(ids: &[String], existing: Vec<NamedRef>, usages: Vec<Usage>) -> StepDecision {
    let mut names: HashMap<String, String> = existing.into_iter().map(|r| (r.id, r.name)).collect();
    let mut used: HashMap<String, Vec<Usage>> = HashMap::new();
    for u in usages {
        used.entry(u.access_profile_id.clone()).or_default().push(u);
    }
    let mut decision = StepDecision {
        results: Vec::with_capacity(ids.len()),
        delete: Vec::new(),
    };
    for id in ids {
        let result = match (names.remove(id), used.remove(id)) {
            (None, _) => ItemResult::Gone,
            (Some(name), Some(usages)) => ItemResult::InUse { name, usages },
            (Some(_), None) => {
                decision.delete.push(id.clone());
                ItemResult::Deleted
            }
        };
        decision.results.push((id.clone(), result));
    }
    decision
}

/// The writes a step makes to its task row, in the same transaction as its effects.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskUpdate {
    pub attributes: Map<String, Value>,
    pub messages: Vec<Value>,
    pub progress: Option<String>,
    pub percent_complete: i64,
    /// Set when this step finishes the task (`completed` is set with it).
    pub completion: Option<CompletionStatus>,
}

/// The ids a delete task works on (`payload.ids`).
pub fn delete_targets(task: &TaskRecord) -> Vec<String> {
    str_list(task.payload.get("ids"))
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// How many targets earlier steps handled (`attributes.done`): the cursor, written
/// atomically with each step's deletions so a reclaimed task resumes exactly.
pub fn done_count(task: &TaskRecord) -> usize {
    task.attributes
        .get("done")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize
}

/// The next chunk of ids a delete task should handle; empty when all are done.
pub fn next_chunk(task: &TaskRecord) -> Vec<String> {
    delete_targets(task)
        .into_iter()
        .skip(done_count(task))
        .take(DELETE_CHUNK)
        .collect()
}

/// What a delete task's row becomes after a step with these results. The last step
/// decides the completion: `WARNING` if any profile had to be kept, else `SUCCESS`.
pub fn after_delete_step(task: &TaskRecord, results: &[(String, ItemResult)]) -> TaskUpdate {
    let total = delete_targets(task).len();
    let done = (done_count(task) + results.len()).min(total);
    let mut attributes = task.attributes.clone();
    let mut messages = task.messages.clone();
    let mut push = |key: &str, id: &str| {
        let list = attributes
            .entry(key.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(a) = list.as_array_mut() {
            a.push(Value::String(id.to_string()));
        }
    };
    for (id, r) in results {
        match r {
            ItemResult::Deleted => push("deleted", id),
            ItemResult::Gone => push("alreadyDeleted", id),
            ItemResult::InUse { name, usages } => {
                push("kept", id);
                let users: Vec<String> = usages
                    .iter()
                    .map(|u| format!("{} '{}'", u.kind.dto_type(), u.name))
                    .collect();
                messages.push(message(
                    MessageType::Warn,
                    "access_profile_in_use",
                    format!(
                        "The \"{name}\" access profile ({id}) was not deleted because it came into use by {} after the request.",
                        users.join(", ")
                    ),
                    vec![json!({"accessProfileId": id})],
                ));
            }
        }
    }
    attributes.insert("done".into(), json!(done));
    attributes.insert("total".into(), json!(total));
    let finished = done >= total;
    let completion = finished.then(|| {
        if attributes.get("kept").is_some() {
            CompletionStatus::Warning
        } else {
            CompletionStatus::Success
        }
    });
    let percent_complete = (done * 100).checked_div(total).unwrap_or(100) as i64;
    TaskUpdate {
        attributes,
        messages,
        progress: Some(if finished {
            "Completed".into()
        } else {
            format!("Processed {done} of {total}")
        }),
        percent_complete,
        completion,
    }
}

/// The messages a new delete task starts with: the unknown ids it skips
/// (`bestEffortOnly`, CONTRACT §3.2).
pub fn skipped_unknown_messages(unknown: &[String]) -> Vec<Value> {
    unknown
        .iter()
        .map(|id| {
            message(
                MessageType::Info,
                "access_profile_not_found",
                format!("Access profile {id} does not exist and was skipped."),
                vec![json!({"accessProfileId": id})],
            )
        })
        .collect()
}

/// The update that gives up on a task: `ERROR` with the reason.
pub fn failed(task: &TaskRecord, reason: &str) -> TaskUpdate {
    let mut messages = task.messages.clone();
    messages.push(message(
        MessageType::Error,
        "task_failed",
        reason.to_string(),
        vec![],
    ));
    TaskUpdate {
        attributes: task.attributes.clone(),
        messages,
        progress: Some("Failed".into()),
        percent_complete: task.percent_complete,
        completion: Some(CompletionStatus::Error),
    }
}

/// The update that gives up on a task claimed [`MAX_ATTEMPTS`] times without
/// finishing (its runners kept dying or losing their claims): `ERROR`, naming the
/// targets no step handled — in the message, its parameters and `attributes.notDeleted`
/// — so whoever launched it knows what is left to delete. Those a step handled are
/// already in `deleted`, `alreadyDeleted` or `kept`.
pub fn abandoned(task: &TaskRecord) -> TaskUpdate {
    let left: Vec<String> = delete_targets(task)
        .into_iter()
        .skip(done_count(task))
        .collect();
    let what = match task.kind {
        TaskKind::RoleBulkDelete => "roles",
        TaskKind::AccessProfileBulkDelete | TaskKind::AccessProfileDelete => "access profiles",
        TaskKind::SourceDelete => "sources",
    };
    let text = if left.is_empty() {
        format!("The task was abandoned after {MAX_ATTEMPTS} attempts.")
    } else {
        format!(
            "The task was abandoned after {MAX_ATTEMPTS} attempts; these {what} were not deleted: {}.",
            left.join(", ")
        )
    };
    let mut update = failed(task, &text);
    if let Some(last) = update.messages.last_mut() {
        last["key"] = json!("task_abandoned");
        last["parameters"] = json!([{ "notDeleted": left }]);
    }
    update.attributes.insert("notDeleted".into(), json!(left));
    update
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::usage::UsageKind;

    #[test]
    fn an_abandoned_task_names_the_targets_no_step_handled() {
        let mut t = task(15);
        t.attributes.insert("done".into(), json!(10));
        let update = abandoned(&t);
        let left: Vec<String> = (10..15).map(|i| format!("ap{i}")).collect();
        assert_eq!(update.completion, Some(CompletionStatus::Error));
        assert_eq!(update.attributes["notDeleted"], json!(left));
        let last = update.messages.last().unwrap();
        assert_eq!(last["type"], "ERROR");
        assert_eq!(last["key"], "task_abandoned");
        assert_eq!(
            last["localizedText"]["message"],
            format!(
                "The task was abandoned after 5 attempts; these access profiles were not deleted: {}.",
                left.join(", ")
            )
        );
        assert_eq!(last["parameters"], json!([{ "notDeleted": left }]));

        t.attributes.insert("done".into(), json!(15));
        let update = abandoned(&t);
        assert_eq!(update.attributes["notDeleted"], json!([]));
        assert_eq!(
            update.messages.last().unwrap()["localizedText"]["message"],
            "The task was abandoned after 5 attempts."
        );
    }

    fn task(ids: usize) -> TaskRecord {
        let ids: Vec<String> = (0..ids).map(|i| format!("ap{i}")).collect();
        TaskRecord::pending(
            TaskKind::AccessProfileBulkDelete,
            "tester",
            json!({"ids": ids}),
            Utc::now(),
        )
    }

    fn apply(t: &mut TaskRecord, u: TaskUpdate) {
        t.attributes = u.attributes;
        t.messages = u.messages;
        t.percent_complete = u.percent_complete;
        t.completion_status = u.completion;
    }

    #[test]
    fn a_delete_task_walks_its_ids_in_chunks_and_progress_moves() {
        let mut t = task(25);
        let mut seen = Vec::new();
        let mut percents = Vec::new();
        loop {
            let chunk = next_chunk(&t);
            if chunk.is_empty() {
                break;
            }
            let results: Vec<_> = chunk
                .iter()
                .map(|id| (id.clone(), ItemResult::Deleted))
                .collect();
            seen.extend(chunk);
            let u = after_delete_step(&t, &results);
            percents.push(u.percent_complete);
            apply(&mut t, u);
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(percents, vec![40, 80, 100]);
        assert_eq!(t.completion_status, Some(CompletionStatus::Success));
        assert_eq!(t.attributes["deleted"].as_array().unwrap().len(), 25);
    }

    #[test]
    fn a_profile_that_came_into_use_is_kept_and_the_task_warns() {
        let t = task(2);
        let u = after_delete_step(
            &t,
            &[
                ("ap0".into(), ItemResult::Deleted),
                (
                    "ap1".into(),
                    ItemResult::InUse {
                        name: "Payroll".into(),
                        usages: vec![Usage {
                            access_profile_id: "ap1".into(),
                            kind: UsageKind::Role,
                            id: "r".into(),
                            name: "Clerk".into(),
                        }],
                    },
                ),
            ],
        );
        assert_eq!(u.completion, Some(CompletionStatus::Warning));
        let text = u.messages[0]["localizedText"]["message"].as_str().unwrap();
        assert!(
            text.contains("Payroll") && text.contains("ROLE 'Clerk'"),
            "{text}"
        );
        assert_eq!(u.messages[0]["type"], "WARN");
    }

    #[test]
    fn completion_statuses_parse_in_any_case_and_render_uppercase() {
        assert_eq!(CompletionStatus::parse("Error").unwrap().as_str(), "ERROR");
        assert!(CompletionStatus::parse("done").is_err());
    }

    #[test]
    fn a_step_deletes_what_exists_unused_and_keeps_what_came_into_use() {
        let ids: Vec<String> = ["gone", "used", "free"].map(String::from).to_vec();
        let existing = ["used", "free"]
            .map(|id| NamedRef {
                id: id.into(),
                name: format!("AP {id}"),
            })
            .to_vec();
        let usage = Usage {
            access_profile_id: "used".into(),
            kind: UsageKind::Role,
            id: "r1".into(),
            name: "Role 1".into(),
        };
        let decision = decide_step(&ids, existing, vec![usage.clone()]);
        assert_eq!(decision.delete, vec!["free".to_string()]);
        assert_eq!(
            decision.results,
            vec![
                ("gone".to_string(), ItemResult::Gone),
                (
                    "used".to_string(),
                    ItemResult::InUse {
                        name: "AP used".into(),
                        usages: vec![usage]
                    }
                ),
                ("free".to_string(), ItemResult::Deleted),
            ]
        );
    }

    #[test]
    fn a_step_over_ids_that_are_all_gone_deletes_nothing() {
        let decision = decide_step(&["a".to_string()], Vec::new(), Vec::new());
        assert!(decision.delete.is_empty());
        assert_eq!(decision.results, vec![("a".to_string(), ItemResult::Gone)]);
    }
}
