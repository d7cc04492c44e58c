//! Controls for testers (the admin API of `admin.rs` sets them): injected faults, which
//! answer matching requests in place of their operation, and the journal of the last
//! requests. Both live in this instance's memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::error::ApiError;
use crate::auth::{Claims, Operation};
use crate::domain::task::{message, CompletionStatus, MessageType, TaskRecord};
use crate::domain::Clock;

/// The outcomes `taskOutcome` may force.
const TASK_OUTCOMES: [&str; 4] = ["ERROR", "TEMPERROR", "WARNING", "TERMINATED"];

/// The operations that start a task a fault can decide the outcome of.
const BULK_DELETES: [&str; 2] = ["deleteAccessProfilesInBulk", "deleteBulkRoles"];

/// The outcome a fault rule forces on the task the request starts (a request
/// extension the bulk-delete handlers read).
#[derive(Clone, Copy, Debug)]
pub struct ForcedOutcome(pub CompletionStatus);

/// Records the task a bulk delete starts: pending, for the runner — or, when a fault
/// rule forced its outcome, finished at once with it, nothing deleted.
pub async fn start_task(
    state: &super::AppState,
    forced: Option<ForcedOutcome>,
    task: TaskRecord,
) -> Result<String, ApiError> {
    let Some(ForcedOutcome(status)) = forced else {
        return Ok(crate::tasks::enqueue(state.store.as_ref(), &state.wakeup, &task).await?);
    };
    let mut messages = task.messages.clone();
    messages.push(message(
        if status == CompletionStatus::Warning {
            MessageType::Warn
        } else {
            MessageType::Error
        },
        "injected_outcome",
        format!(
            "The task ended {} as a fault rule of the admin API asked; nothing was deleted.",
            status.as_str()
        ),
        Vec::new(),
    ));
    let finished = TaskRecord {
        id: task.id.clone(),
        ..TaskRecord::finished(
            task.kind,
            &task.launcher,
            task.payload,
            status,
            messages,
            state.clock.now(),
        )
    };
    state.store.insert_task(&finished).await?;
    Ok(finished.id)
}

/// The statuses a fault may answer with.
pub const FAULT_STATUSES: [u16; 5] = [408, 429, 500, 502, 503];

/// A fault rule as a client writes it: what it matches (every field given must match)
/// and what it does.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The request path; `*` matches any run of characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Answer with this status and the ISC error body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds of a 429 or 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Wait this long first (then answer `status`, or the operation's own answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// For a bulk delete (of access profiles or roles): the task it starts ends at
    /// once with this completion status (`ERROR`, `TEMPERROR`, `WARNING`, `TERMINATED`)
    /// and deletes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_outcome: Option<String>,
    /// Close the connection without an answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
    /// Fire this many times, then disappear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire with this probability (0 to 1) on each matching request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl FaultSpec {
    /// Every problem of the rule, in one list (empty: valid).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(status) = self.status
            && !FAULT_STATUSES.contains(&status)
        {
            problems.push(format!("status {status} is not one of {FAULT_STATUSES:?}"));
        }
        if self.retry_after.is_some() && !matches!(self.status, Some(429 | 503)) {
            problems.push("retryAfter needs status 429 or 503".into());
        }
        if self.status.is_none()
            && self.delay_ms.is_none()
            && !self.drop
            && self.task_outcome.is_none()
        {
            problems.push("a fault needs an effect: status, delayMs, drop or taskOutcome".into());
        }
        if let Some(outcome) = &self.task_outcome {
            if self.outcome().is_none() {
                problems.push(format!(
                    "taskOutcome '{outcome}' is not one of {}",
                    TASK_OUTCOMES.join(", ")
                ));
            }
            if self.status.is_some() || self.drop {
                problems.push("taskOutcome lets the request through: no status or drop".into());
            }
            if self
                .operation_id
                .as_deref()
                .is_some_and(|op| !BULK_DELETES.contains(&op))
            {
                problems.push(format!(
                    "taskOutcome applies to {} only",
                    BULK_DELETES.join(" and ")
                ));
            }
        }
        if self.drop && self.status.is_some() {
            problems.push("drop and status exclude each other".into());
        }
        if self.delay_ms.is_some_and(|d| d > 600_000) {
            problems.push("delayMs is at most 600000".into());
        }
        if self.times == Some(0) {
            problems.push("times is at least 1".into());
        }
        if let Some(p) = self.probability
            && (!(0.0..=1.0).contains(&p) || p.is_nan())
        {
            problems.push("probability is between 0 and 1".into());
        }
        if let Some(m) = &self.method
            && (m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            problems.push(format!("method '{m}' is not an HTTP method"));
        }
        problems
    }

    /// The completion status `taskOutcome` names.
    pub fn outcome(&self) -> Option<CompletionStatus> {
        let wanted = self.task_outcome.as_deref()?;
        CompletionStatus::parse(wanted)
            .ok()
            .filter(|s| TASK_OUTCOMES.contains(&s.as_str()))
    }

    fn matches(&self, req: &RequestFacts<'_>) -> bool {
        if self.task_outcome.is_some()
            && !req
                .operation
                .is_some_and(|o| BULK_DELETES.contains(&o.id.as_str()))
        {
            return false;
        }
        let op = req.operation;
        self.operation_id
            .as_deref()
            .is_none_or(|id| op.is_some_and(|o| o.id.as_str() == id))
            && self
                .family
                .as_deref()
                .is_none_or(|f| op.is_some_and(|o| o.family.as_str() == f))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(req.method))
            && self.path.as_deref().is_none_or(|p| glob(p, req.path))
            && self
                .client_id
                .as_deref()
                .is_none_or(|c| req.client_id == Some(c))
    }
}

/// `pattern` with `*` as any run of characters, against all of `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A stored fault rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How often it has fired.
    pub fired: u64,
}

/// One journal entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub family: Option<&'static str>,
    pub operation_id: Option<&'static str>,
    pub client_id: Option<String>,
    pub tracking_id: Option<String>,
    pub latency_ms: f64,
    /// The id of the fault that answered (or delayed) the request.
    pub fault: Option<String>,
}

/// The controls of one instance.
pub struct Control {
    faults: Mutex<Vec<Fault>>,
    /// Whether `faults` holds a rule: read without the lock on every request, so an
    /// instance without faults never takes it.
    armed: AtomicBool,
    journal: Mutex<VecDeque<JournalEntry>>,
    journal_size: usize,
    clock: Clock,
}

/// What a fault is matched on.
struct RequestFacts<'a> {
    method: &'a str,
    path: &'a str,
    operation: Option<Operation>,
    client_id: Option<&'a str>,
}

/// What the per-operation layer found, for the journal and the metrics (a response
/// extension, taken by [`answered`]).
#[derive(Clone, Debug)]
pub(super) struct Answered {
    pub operation: Operation,
    pub caller: Option<Arc<Claims>>,
    pub fault: Option<String>,
}

/// The operation that answered `response`, and who called it; `None` when no
/// operation did (an unknown path, a refusal before routing, a route outside the
/// families).
pub(super) fn answered(response: &mut Response) -> Option<Answered> {
    response.extensions_mut().remove::<Answered>()
}

impl Control {
    pub fn new(journal_size: usize, clock: Clock) -> Self {
        Self {
            faults: Mutex::default(),
            armed: AtomicBool::new(false),
            journal: Mutex::default(),
            journal_size,
            clock,
        }
    }

    pub fn add_fault(&self, spec: FaultSpec) -> Fault {
        let fault = Fault {
            id: crate::domain::new_id(),
            spec,
            fired: 0,
        };
        let mut faults = lock(&self.faults);
        faults.push(fault.clone());
        self.armed.store(true, Ordering::Release);
        fault
    }

    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.faults).clone()
    }

    /// Whether a rule with this id was there.
    pub fn remove_fault(&self, id: &str) -> bool {
        let mut faults = lock(&self.faults);
        let before = faults.len();
        faults.retain(|f| f.id != id);
        self.armed.store(!faults.is_empty(), Ordering::Release);
        faults.len() != before
    }

    pub fn clear_faults(&self) {
        let mut faults = lock(&self.faults);
        faults.clear();
        self.armed.store(false, Ordering::Release);
    }

    /// The first rule matching the request that fires now (its `times` counted down;
    /// a rule used up is removed).
    fn fire(&self, req: &RequestFacts<'_>) -> Option<Fault> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut faults = lock(&self.faults);
        let at = faults.iter().position(|f| {
            f.spec.matches(req) && f.spec.probability.is_none_or(|p| rand::random::<f64>() < p)
        })?;
        faults[at].fired += 1;
        let fault = faults[at].clone();
        if fault.spec.times.is_some_and(|t| fault.fired >= t) {
            faults.remove(at);
            self.armed.store(!faults.is_empty(), Ordering::Release);
        }
        Some(fault)
    }

    pub fn journal_size(&self) -> usize {
        self.journal_size
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(super) fn record(&self, entry: JournalEntry) {
        if self.journal_size == 0 {
            return;
        }
        let mut journal = lock(&self.journal);
        while journal.len() >= self.journal_size {
            journal.pop_front();
        }
        journal.push_back(entry);
    }

    /// The journal, oldest first.
    pub fn requests(&self) -> Vec<JournalEntry> {
        lock(&self.journal).iter().cloned().collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.journal).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The layer around every operation's handler: applies the first fault that fires for
/// the request, and tells the journal which operation answered.
pub async fn per_operation(req: Request, next: Next) -> Response {
    let Some(control) = req.extensions().get::<Arc<Control>>().cloned() else {
        return next.run(req).await;
    };
    let operation = req.extensions().get::<Operation>().copied();
    let caller = super::gateway::verified_claims(&req);
    let fault = {
        // The whole path: a nested family router sees it without its prefix.
        let path = match req.extensions().get::<OriginalUri>() {
            Some(original) => original.path(),
            None => req.uri().path(),
        };
        let facts = RequestFacts {
            method: req.method().as_str(),
            path,
            operation,
            client_id: caller.as_deref().map(|c| c.client_id.as_str()),
        };
        control.fire(&facts)
    };
    let mut response = match &fault {
        None => next.run(req).await,
        Some(fault) => {
            if let Some(ms) = fault.spec.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if let Some(status) = fault.spec.outcome() {
                let mut req = req;
                req.extensions_mut().insert(ForcedOutcome(status));
                next.run(req).await
            } else if fault.spec.drop {
                dropped()
            } else if let Some(status) = fault.spec.status {
                ApiError::Injected {
                    status: StatusCode::from_u16(status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    retry_after_secs: fault.spec.retry_after,
                }
                .into_response()
            } else {
                next.run(req).await
            }
        }
    };
    if let Some(operation) = operation {
        response.extensions_mut().insert(Answered {
            operation,
            caller,
            fault: fault.map(|f| f.id),
        });
    }
    response
}

/// A response whose body fails at once: the server closes the connection without a
/// complete answer.
fn dropped() -> Response {
    let mut response = Response::new(Body::new(Dropped));
    response.extensions_mut().insert(DroppedByFault);
    response
}

/// Marks a response a fault rule drops (its body fails at once), for layers that read
/// bodies.
#[derive(Clone, Copy, Debug)]
pub struct DroppedByFault;

struct Dropped;

impl http_body::Body for Dropped {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped by a fault rule",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_star_matches_any_run() {
        assert!(glob("/v3/access-profiles", "/v3/access-profiles"));
        assert!(!glob("/v3/access-profiles", "/v3/access-profiles/x"));
        assert!(glob("/v3/access-profiles*", "/v3/access-profiles/x"));
        assert!(glob("*/roles/*", "/beta/roles/abc"));
        assert!(!glob("*/roles/*", "/beta/roles"));
        assert!(glob(
            "/*/access-profiles/*/entitlements",
            "/v3/access-profiles/1/entitlements"
        ));
        assert!(!glob("/a*b", "/ab/c"));
    }

    #[test]
    fn a_rule_lists_every_problem() {
        let spec: FaultSpec =
            serde_json::from_value(serde_json::json!({"status": 418, "retryAfter": 1, "times": 0}))
                .unwrap();
        assert_eq!(spec.problems().len(), 3, "{:?}", spec.problems());
        assert!(serde_json::from_value::<FaultSpec>(serde_json::json!({"stauts": 500})).is_err());
    }
}
