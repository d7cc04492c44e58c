//! Controls for testers (the admin API of `admin.rs` sets them): injected faults, which
//! answer matching requests in place of their operation, the clock, and the journal of
//! the last requests.
//!
//! Fault rules and the clock live in the database, shared by every instance on it: each
//! instance matches requests against a copy in its memory (a request that matches no
//! rule costs no database round trip), loaded at start and, on PostgreSQL, reloaded
//! when any instance announces a change ([`Control::follow`]). A rule that matches is
//! counted in the database, atomically, so `times` holds across instances. The journal
//! is this instance's own, in memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

use super::error::ApiError;
use crate::auth::{Claims, Operation};
use crate::domain::task::{message, CompletionStatus, MessageType, TaskRecord, TaskState};
use crate::domain::{clock_in_range, format_timestamp, Clock};
use crate::store::db::ChangeFeed;
use crate::store::{FaultRuleRow, Store, StoreError, StoreResult};
use crate::tasks::Wakeup;

/// The completion statuses `taskOutcome` may force.
const TASK_OUTCOMES: [&str; 4] = ["ERROR", "TEMPERROR", "WARNING", "TERMINATED"];

/// The `taskOutcome` that holds the task running (for `runningMs`).
const RUNNING: &str = "RUNNING";

/// The longest `runningMs`: 30 days (the clock can be moved past it at once).
const MAX_RUNNING_MS: u64 = 30 * 24 * 3600 * 1000;

/// The runner a task held running by a fault rule is claimed by: no runner has this
/// name, so the task stays untouched until its claim expires on the server's clock,
/// and is then taken over and run like a task whose runner died (CONTRACT §4).
pub const HELD_BY_FAULT: &str = "fault-rule";

/// The operations that start a task a fault can decide the outcome of.
const BULK_DELETES: [&str; 2] = ["deleteAccessProfilesInBulk", "deleteBulkRoles"];

/// What a fault rule does to the task the request starts (a request extension the
/// bulk-delete handlers read).
#[derive(Clone, Copy, Debug)]
pub enum ForcedOutcome {
    /// The task ends at once with this completion status.
    Finished(CompletionStatus),
    /// The task reads as running for this many milliseconds of the server's clock,
    /// then runs as usual.
    Running { for_ms: u64 },
}

/// Records the task a bulk delete starts: pending, for the runner — or, when a fault
/// rule forced its outcome, finished at once with it, nothing deleted — or held
/// running: claimed by [`HELD_BY_FAULT`] until the server's clock passes the hold, so
/// no runner touches it (nothing is deleted) until then.
pub async fn start_task(
    state: &super::AppState,
    forced: Option<ForcedOutcome>,
    task: TaskRecord,
) -> Result<String, ApiError> {
    let status = match forced {
        None => {
            return Ok(crate::tasks::enqueue(state.store.as_ref(), &state.wakeup, &task).await?);
        }
        Some(ForcedOutcome::Running { for_ms }) => {
            let now = state.clock.now();
            let held = TaskRecord {
                state: TaskState::Running,
                progress: Some("Started".into()),
                claimed_by: Some(HELD_BY_FAULT.into()),
                // At most MAX_RUNNING_MS (the rule was checked): no overflow.
                claim_expires: Some(
                    now + chrono::Duration::milliseconds(
                        i64::try_from(for_ms.min(MAX_RUNNING_MS)).unwrap_or(0),
                    ),
                ),
                launched: Some(now),
                ..task
            };
            state.store.insert_task(&held).await?;
            return Ok(held.id);
        }
        Some(ForcedOutcome::Finished(status)) => status,
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
    /// and deletes nothing — or, `RUNNING`, reads as running for `runningMs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_outcome: Option<String>,
    /// With `taskOutcome` `RUNNING`: how long the task stays running, in milliseconds
    /// of the server's clock, before it runs as usual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_ms: Option<u64>,
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
            let running = outcome.eq_ignore_ascii_case(RUNNING);
            if self.outcome().is_none() {
                problems.push(format!(
                    "taskOutcome '{outcome}' is not one of {}, {RUNNING}",
                    TASK_OUTCOMES.join(", ")
                ));
            }
            if running && self.running_ms.is_none() {
                problems.push("taskOutcome RUNNING needs runningMs".into());
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
        if self.running_ms.is_some()
            && !self
                .task_outcome
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(RUNNING))
        {
            problems.push("runningMs goes with taskOutcome RUNNING only".into());
        }
        if let Some(ms) = self.running_ms
            && !(1..=MAX_RUNNING_MS).contains(&ms)
        {
            problems.push(format!(
                "runningMs is between 1 and {MAX_RUNNING_MS} (30 days)"
            ));
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

    /// What `taskOutcome` (and `runningMs`) do to the task.
    pub fn outcome(&self) -> Option<ForcedOutcome> {
        let wanted = self.task_outcome.as_deref()?;
        if wanted.eq_ignore_ascii_case(RUNNING) {
            return Some(ForcedOutcome::Running {
                for_ms: self.running_ms.unwrap_or(0),
            });
        }
        CompletionStatus::parse(wanted)
            .ok()
            .filter(|s| TASK_OUTCOMES.contains(&s.as_str()))
            .map(ForcedOutcome::Finished)
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
    /// The request's body, with `--journal-bodies` (and when it has one): JSON as
    /// JSON, anything else as text, secrets replaced (see `recorded_body`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Whether `body` is cut at [`BODY_CAP`] bytes (it is then the start of the text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_truncated: Option<bool>,
}

/// The controls of one instance.
pub struct Control {
    store: Arc<dyn Store>,
    /// This instance's copy of the fault rules, in the order they are matched.
    faults: Mutex<Vec<Fault>>,
    /// Whether `faults` holds a rule: read without the lock on every request, so an
    /// instance without faults never takes it.
    armed: AtomicBool,
    journal: Mutex<VecDeque<JournalEntry>>,
    journal_size: usize,
    /// Whether the journal records request bodies (`--journal-bodies`).
    journal_bodies: bool,
    clock: Clock,
    /// The version of the stored clock setting `clock` follows (0: none).
    clock_version: Mutex<i64>,
    /// The task runner, woken when the clock moves (a task held running may be due).
    wakeup: Wakeup,
}

/// How often a clock change is tried again when another instance changed the clock
/// between its read and its write.
const CLOCK_ATTEMPTS: usize = 8;

/// How long the follower waits before listening again after its connection failed.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

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

/// A stored rule as this instance matches it.
fn fault_of(row: FaultRuleRow) -> StoreResult<Fault> {
    let spec: FaultSpec = serde_json::from_str(&row.spec)
        .map_err(|e| StoreError::Corrupt(format!("fault rule {}: {e}", row.id)))?;
    Ok(Fault {
        id: row.id,
        spec,
        fired: u64::try_from(row.fired).unwrap_or(0),
    })
}

impl Control {
    pub fn new(
        store: Arc<dyn Store>,
        journal_size: usize,
        journal_bodies: bool,
        clock: Clock,
        wakeup: Wakeup,
    ) -> Self {
        Self {
            store,
            faults: Mutex::default(),
            armed: AtomicBool::new(false),
            journal: Mutex::default(),
            journal_size,
            journal_bodies,
            clock,
            clock_version: Mutex::new(0),
            wakeup,
        }
    }

    /// Stores a rule; it applies on this instance at once, on the others when they
    /// hear of it.
    pub async fn add_fault(&self, spec: FaultSpec) -> StoreResult<Fault> {
        let row = FaultRuleRow {
            id: crate::domain::new_id(),
            spec: serde_json::to_string(&spec)
                .map_err(|e| StoreError::Corrupt(format!("fault rule: {e}")))?,
            times_left: spec.times.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
            fired: 0,
        };
        self.store.insert_fault_rule(&row).await?;
        let fault = Fault {
            id: row.id,
            spec,
            fired: 0,
        };
        let mut faults = lock(&self.faults);
        // A reload may have brought it already.
        if !faults.iter().any(|f| f.id == fault.id) {
            faults.push(fault.clone());
            faults.sort_by(|a, b| a.id.cmp(&b.id));
        }
        self.armed.store(true, Ordering::Release);
        Ok(fault)
    }

    /// The stored rules, each with its firings on every instance.
    pub async fn faults(&self) -> StoreResult<Vec<Fault>> {
        self.store
            .fault_rules()
            .await?
            .into_iter()
            .map(fault_of)
            .collect()
    }

    /// Whether a rule with this id was there.
    pub async fn remove_fault(&self, id: &str) -> StoreResult<bool> {
        let gone = self.store.delete_fault_rules(Some(id)).await?;
        self.forget(Some(id));
        Ok(gone > 0)
    }

    pub async fn clear_faults(&self) -> StoreResult<()> {
        self.store.delete_fault_rules(None).await?;
        self.forget(None);
        Ok(())
    }

    /// Drops rule `id` (every rule when `None`) from this instance's copy.
    fn forget(&self, id: Option<&str>) {
        let mut faults = lock(&self.faults);
        match id {
            Some(id) => faults.retain(|f| f.id != id),
            None => faults.clear(),
        }
        self.armed.store(!faults.is_empty(), Ordering::Release);
    }

    /// The first rule matching the request that fires now. Matching is done on this
    /// instance's copy; a match is counted in the database, which decides whether the
    /// rule may still fire (another instance may have used up its `times`).
    async fn fire(&self, req: &RequestFacts<'_>) -> Option<Fault> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let candidates: Vec<String> = lock(&self.faults)
            .iter()
            .filter(|f| {
                f.spec.matches(req) && f.spec.probability.is_none_or(|p| rand::random::<f64>() < p)
            })
            .map(|f| f.id.clone())
            .collect();
        for id in candidates {
            match self.store.fire_fault_rule(&id).await {
                Ok(Some(row)) => {
                    let used_up = row.times_left == Some(0);
                    match fault_of(row) {
                        Ok(fault) => {
                            if used_up {
                                self.forget(Some(&fault.id));
                            }
                            return Some(fault);
                        }
                        Err(e) => tracing::warn!(error = %e, "a stored fault rule is unreadable"),
                    }
                }
                // Removed, or used up by another instance.
                Ok(None) => self.forget(Some(&id)),
                Err(e) => {
                    tracing::warn!(error = %e, fault = %id, "could not count a fault rule's firing; it does not fire");
                }
            }
        }
        None
    }

    /// Reads the fault rules and the clock from the database into this instance (at
    /// start, and when a change is announced).
    pub async fn reload(&self) -> StoreResult<()> {
        let faults: Vec<Fault> = self
            .store
            .fault_rules()
            .await?
            .into_iter()
            .filter_map(|row| {
                fault_of(row)
                    .inspect_err(
                        |e| tracing::warn!(error = %e, "a stored fault rule is unreadable"),
                    )
                    .ok()
            })
            .collect();
        {
            let mut mine = lock(&self.faults);
            self.armed.store(!faults.is_empty(), Ordering::Release);
            *mine = faults;
        }
        let (setting, version) = self.store.clock_setting().await?;
        if let Some(setting) = setting.filter(|s| {
            let within = s.in_range();
            if !within {
                tracing::warn!(setting = ?s, "the stored clock setting is out of range; it is not applied");
            }
            within
        }) {
            let mut current = lock(&self.clock_version);
            if version > *current {
                self.clock.apply(&setting);
                *current = version;
                self.wakeup.notify();
            }
        }
        Ok(())
    }

    /// Changes the clock with `change` and stores its new setting for every instance.
    /// The change is made on a detached copy of the clock as last stored (a change
    /// another instance stored since this one last heard comes first), written if the
    /// stored setting is still the one it was made on, and only then taken up by this
    /// instance's clock; if another change was stored meanwhile, it is made again on
    /// that one. A change that would take the clock outside 1970-01-01T00:00:00Z to
    /// 9999-12-31T23:59:59.999Z is refused and changes nothing.
    pub async fn change_clock(&self, change: impl Fn(&Clock)) -> StoreResult<()> {
        let (mut stored, mut version) = self.store.clock_setting().await?;
        for _ in 0..CLOCK_ATTEMPTS {
            let base = match stored {
                Some(stored) if version != *lock(&self.clock_version) => stored,
                _ => self.clock.setting(),
            };
            let detached = Clock::system();
            detached.apply(&base);
            change(&detached);
            match detached.try_now() {
                Some(at) if clock_in_range(&at) => {}
                at => {
                    let at = at.map_or_else(
                        || "beyond any date".into(),
                        |at| format!("at {}", format_timestamp(&at)),
                    );
                    return Err(StoreError::Refused(format!(
                        "The clock would stand {at}, outside the range it may be set to \
                         (1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z); it was not changed."
                    )));
                }
            }
            let setting = detached.setting();
            match self.store.replace_clock_setting(version, &setting).await? {
                Ok(new) => {
                    let mut current = lock(&self.clock_version);
                    // A later change heard meanwhile stands already.
                    if new > *current {
                        self.clock.apply(&setting);
                        *current = new;
                    }
                    self.wakeup.notify();
                    return Ok(());
                }
                Err(first) => (stored, version) = first,
            }
        }
        Err(StoreError::Refused(
            "The clock kept changing through other instances; try again.".into(),
        ))
    }

    /// Applies the changes other instances announce until `stop`: reloads at each
    /// announcement, and after its connection was lost (announcements made meanwhile
    /// are lost) — listening again first when the connection could not be reopened.
    pub async fn follow(
        self: Arc<Self>,
        mut feed: Box<dyn ChangeFeed>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let heard = tokio::select! {
                heard = feed.next() => heard,
                _ = stop.changed() => return,
            };
            if let Err(e) = heard {
                tracing::warn!(error = %e, "lost the announcements of control changes; listening again");
                feed = loop {
                    tokio::select! {
                        _ = tokio::time::sleep(RELISTEN_AFTER) => {}
                        _ = stop.changed() => return,
                    }
                    match self.store.control_changes().await {
                        Ok(Some(feed)) => break feed,
                        Ok(None) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for control changes yet")
                        }
                    }
                };
            }
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "could not reload the fault rules and the clock");
            }
        }
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
        control.fire(&facts).await
    };
    let mut response = match &fault {
        None => next.run(req).await,
        Some(fault) => {
            if let Some(ms) = fault.spec.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if let Some(outcome) = fault.spec.outcome() {
                let mut req = req;
                req.extensions_mut().insert(outcome);
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

impl Control {
    /// With `--journal-bodies`, reads a request's body for the journal (within the body
    /// limit, a layer outside) and hands the request on with the body whole, beside
    /// what the journal keeps of it ([`recorded_body`]); without, or for a request that
    /// declares no body, the body is not touched. `Err` is the answer to a body that
    /// could not be read (413 over the limit).
    pub(super) async fn read_body(
        &self,
        req: Request,
    ) -> Result<(Request, Option<(Value, bool)>), Response> {
        if !self.journal_bodies || !super::keep_alive::declares_body(req.headers()) {
            return Ok((req, None));
        }
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => {
                let recorded = recorded_body(&parts.headers, parts.uri.path(), &bytes);
                Ok((
                    Request::from_parts(parts, Body::from(bytes)),
                    Some(recorded),
                ))
            }
            Err(e) => Err(if over_limit(&e) {
                ApiError::PayloadTooLarge("The request body is larger than the limit.".into())
            } else {
                ApiError::bad_request(format!("The request body could not be read: {e}"))
            }
            .into_response()),
        }
    }
}

/// Whether reading a body failed on the body limit (`--body-limit`).
fn over_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// The most of a body the journal keeps, in bytes of its (redacted) text.
pub const BODY_CAP: usize = 64 * 1024;

/// What replaces a secret in a recorded body.
const REDACTED: &str = "[redacted]";

/// A body as the journal records it, and whether it was cut at [`BODY_CAP`]. JSON is
/// kept as JSON and a form as its text, each with the values of secret-like fields
/// replaced ([`is_secret`]); the token endpoint's body is read as a form whatever its
/// type (as the endpoint reads it). A multipart body is not recorded (its parts may
/// be secrets), only its size, nor is a form or JSON body that does not parse; anything
/// else is kept as text.
fn recorded_body(headers: &HeaderMap, path: &str, bytes: &Bytes) -> (Value, bool) {
    let media = super::extract::content_type(headers).unwrap_or_default();
    let json = super::extract::is_json(&media);
    if media.starts_with("multipart/") {
        return (
            Value::String(format!(
                "[a {media} body of {} bytes, not recorded]",
                bytes.len()
            )),
            false,
        );
    }
    if path == "/oauth/token" || media == "application/x-www-form-urlencoded" {
        return match serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes) {
            Ok(mut pairs) => {
                for (name, value) in &mut pairs {
                    if is_secret(name) {
                        *value = REDACTED.into();
                    }
                }
                cut(serde_urlencoded::to_string(&pairs).unwrap_or_default())
            }
            // Unreadable as a form: it may still hold a secret.
            Err(_) => (
                Value::String(format!(
                    "[a form body of {} bytes that does not parse, not recorded]",
                    bytes.len()
                )),
                false,
            ),
        };
    }
    if json {
        return match serde_json::from_slice::<Value>(bytes) {
            Ok(mut value) => {
                redact(&mut value);
                let text = value.to_string();
                if text.len() <= BODY_CAP {
                    (value, false)
                } else {
                    cut(text)
                }
            }
            // Unreadable as JSON: it may still hold a secret.
            Err(_) => (
                Value::String(format!(
                    "[a JSON body of {} bytes that does not parse, not recorded]",
                    bytes.len()
                )),
                false,
            ),
        };
    }
    cut(String::from_utf8_lossy(bytes).into_owned())
}

/// A request's query as the journal records it: as sent, but for the values of
/// secret-like parameters ([`is_secret`]), replaced as in a form body (the token
/// endpoint takes its credentials in the query too).
pub(super) fn redacted_query(query: &str) -> String {
    let secret =
        |name: &str| url::form_urlencoded::parse(name.as_bytes()).any(|(name, _)| is_secret(&name));
    // Most queries hold no secret: kept as sent, without splitting them up.
    if !query
        .split('&')
        .any(|pair| pair.split_once('=').is_some_and(|(name, _)| secret(name)))
    {
        return query.to_string();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret(name) => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text`, as a JSON string, cut at [`BODY_CAP`] bytes (on a character boundary).
fn cut(mut text: String) -> (Value, bool) {
    if text.len() <= BODY_CAP {
        return (Value::String(text), false);
    }
    let mut end = BODY_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (Value::String(text), true)
}

/// Replaces the values of secret-like fields, at any depth.
fn redact(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, v) in fields.iter_mut() {
                if is_secret(name) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Whether a field's name says it holds a secret: `client_secret`, `password`,
/// `refresh_token`, `apiKey`, `privateKey`…, in any case and spelling.
fn is_secret(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "secret",
        "password",
        "passwd",
        "passphrase",
        "apikey",
        "privatekey",
        "credential",
    ]
    .iter()
    .any(|w| name.contains(w))
        || name.ends_with("token")
        || name == "assertion"
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::CONTENT_TYPE;

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
    fn secrets_are_redacted_at_any_depth_and_big_bodies_are_cut() {
        let mut body = serde_json::json!({"name": "x", "clientSecret": "s",
            "nested": [{"Password": "p", "refresh_token": "t", "description": "d"}]});
        redact(&mut body);
        assert_eq!(
            body,
            serde_json::json!({"name": "x", "clientSecret": REDACTED,
                "nested": [{"Password": REDACTED, "refresh_token": REDACTED, "description": "d"}]})
        );
        let mut headers = HeaderMap::new();
        let form =
            Bytes::from_static(b"grant_type=client_credentials&client_id=a&client_secret=hush");
        let (recorded, cut_off) = recorded_body(&headers, "/oauth/token", &form);
        assert!(!cut_off);
        let text = recorded.as_str().unwrap();
        assert!(
            !text.contains("hush") && text.contains("client_id=a"),
            "{text}"
        );
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let big = Bytes::from(serde_json::json!({"description": "é".repeat(BODY_CAP)}).to_string());
        let (recorded, cut_off) = recorded_body(&headers, "/v3/access-profiles", &big);
        assert!(cut_off);
        assert!(recorded.as_str().unwrap().len() <= BODY_CAP);
    }

    #[test]
    fn a_query_keeps_all_but_the_values_of_secrets() {
        assert_eq!(
            redacted_query("grant_type=client_credentials&client_id=a&client_secret=hush"),
            "grant_type=client_credentials&client_id=a&client_secret=[redacted]"
        );
        assert_eq!(
            redacted_query("filters=name%20eq%20%22x%22&p%61ssword=p&refresh_token=t&flag"),
            "filters=name%20eq%20%22x%22&p%61ssword=[redacted]&refresh_token=[redacted]&flag"
        );
    }

    #[test]
    fn running_needs_running_ms_and_running_ms_needs_running() {
        let problems =
            |v: serde_json::Value| serde_json::from_value::<FaultSpec>(v).unwrap().problems();
        assert!(
            problems(serde_json::json!({"taskOutcome": "RUNNING", "runningMs": 1000})).is_empty()
        );
        assert_eq!(
            problems(serde_json::json!({"taskOutcome": "RUNNING"})).len(),
            1
        );
        assert_eq!(
            problems(serde_json::json!({"taskOutcome": "ERROR", "runningMs": 5})).len(),
            1
        );
        assert_eq!(
            problems(serde_json::json!({"taskOutcome": "running", "runningMs": 0})).len(),
            1
        );
        assert_eq!(
            problems(
                serde_json::json!({"taskOutcome": "RUNNING", "runningMs": MAX_RUNNING_MS + 1})
            )
            .len(),
            1
        );
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
