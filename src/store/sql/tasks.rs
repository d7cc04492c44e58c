//! The durable task table in SQL, and the steps of delete tasks. Every write here runs
//! in a write transaction, so a usage check and the delete it guards cannot be
//! interleaved with a role or lifecycle-state write (CONTRACT §2 invariant).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::access_profiles::delete_unused_profiles;
use super::*;
use crate::domain::model::Page;
use crate::domain::task::{
    abandoned, after_delete_step, next_chunk, CompletionStatus, ItemResult, TaskKind, TaskRecord,
    TaskState, TaskUpdate, MAX_ATTEMPTS,
};
use crate::query::format_timestamp;
use crate::store::{DeleteTarget, TaskStore};
use crate::store::{TaskStatusView, TaskView};

const TASK_COLS: &str = "SELECT t.id, t.kind, t.unique_name, t.description, t.launcher, \
     t.source_id, t.payload, t.attributes, t.messages, t.returns, t.state, t.progress, \
     t.percent_complete, t.completion_status, t.claimed_by, t.claim_expires, t.attempts, \
     t.created, t.modified, t.launched, t.completed";
const TASKS: Listing = Listing {
    cols: TASK_COLS,
    from: " FROM tasks t",
    count_from: " FROM tasks t",
    columns: &TASK_COLUMNS,
};

/// The fields of getTaskStatusList, on `tasks t`. Every accessd task is of `type`
/// QUARTZ, so `type` compares with that constant.
pub(super) static TASK_COLUMNS: Columns = Columns {
    key: "t.id",
    fields: &[
        ("id", not_null("t.id")),
        ("sourceId", nullable("t.source_id")),
        ("completionStatus", nullable("t.completion_status")),
        ("type", Column::Constant("'QUARTZ'")),
        ("launcher", not_null("t.launcher")),
        ("created", not_null("t.created")),
    ],
    base: None,
};

fn task_row(r: &Row) -> StoreResult<TaskRecord> {
    Ok(TaskRecord {
        id: r.get("id")?,
        kind: enum_col(r, "kind", TaskKind::parse)?,
        unique_name: r.get("unique_name")?,
        description: r.get("description")?,
        launcher: r.get("launcher")?,
        source_id: r.get("source_id")?,
        payload: json_col(r, "payload")?,
        attributes: json_col(r, "attributes")?,
        messages: json_col(r, "messages")?,
        returns: json_col(r, "returns")?,
        state: enum_col(r, "state", TaskState::parse)?,
        progress: r.get("progress")?,
        percent_complete: r.get("percent_complete")?,
        completion_status: r
            .get::<Option<String>>("completion_status")?
            .map(|s| {
                CompletionStatus::parse(&s).map_err(|_| corrupt_value("completion_status", &s))
            })
            .transpose()?,
        claimed_by: r.get("claimed_by")?,
        claim_expires: opt_ts(r, "claim_expires")?,
        attempts: r.get("attempts")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
        launched: opt_ts(r, "launched")?,
        completed: opt_ts(r, "completed")?,
    })
}

/// A column holding one of an enum's names.
fn enum_col<T>(r: &Row, col: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = r.get(col)?;
    parse(&s).ok_or_else(|| corrupt_value(col, &s))
}

fn corrupt_value(col: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{col}: unknown value '{value}'"))
}

fn fmt_opt(d: &Option<DateTime<Utc>>) -> Option<String> {
    d.as_ref().map(format_timestamp)
}

/// Writes a new task row inside the caller's transaction.
pub(super) async fn insert_task_in(ex: &mut dyn Executor, t: &TaskRecord) -> StoreResult<()> {
    ex.execute(
        "INSERT INTO tasks (id, kind, unique_name, description, launcher, source_id, payload, \
         attributes, messages, returns, state, progress, percent_complete, completion_status, \
         claimed_by, claim_expires, attempts, created, modified, launched, completed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21)",
        params![
            t.id,
            t.kind.as_str(),
            t.unique_name,
            t.description,
            t.launcher,
            t.source_id,
            t.payload.to_string(),
            Value::Object(t.attributes.clone()).to_string(),
            Value::Array(t.messages.clone()).to_string(),
            Value::Array(t.returns.clone()).to_string(),
            t.state.as_str(),
            t.progress,
            t.percent_complete,
            t.completion_status.map(CompletionStatus::as_str),
            t.claimed_by,
            fmt_opt(&t.claim_expires),
            t.attempts,
            format_timestamp(&t.created),
            format_timestamp(&t.modified),
            fmt_opt(&t.launched),
            fmt_opt(&t.completed),
        ],
    )
    .await?;
    Ok(())
}

async fn task_in(ex: &mut dyn Executor, id: &str) -> StoreResult<Option<TaskRecord>> {
    let sql = format!("{TASK_COLS} FROM tasks t WHERE t.id = $1");
    ex.fetch_optional(&sql, params![id])
        .await?
        .as_ref()
        .map(task_row)
        .transpose()
}

/// Writes a step's update if `worker` still holds the task; false otherwise.
async fn write_update(
    ex: &mut dyn Executor,
    id: &str,
    worker: &str,
    u: &TaskUpdate,
    now: DateTime<Utc>,
    claim_until: Option<DateTime<Utc>>,
) -> StoreResult<bool> {
    let finished = u.completion.is_some();
    let state = if finished {
        TaskState::Finished
    } else {
        TaskState::Running
    };
    let done = ex
        .execute(
            "UPDATE tasks SET attributes = $1, messages = $2, progress = $3, \
             percent_complete = $4, completion_status = $5, completed = $6, state = $7, \
             modified = $8, claim_expires = COALESCE($9, claim_expires), \
             claimed_by = CASE WHEN $10 THEN NULL ELSE claimed_by END \
             WHERE id = $11 AND claimed_by = $12 AND state = 'RUNNING'",
            params![
                Value::Object(u.attributes.clone()).to_string(),
                Value::Array(u.messages.clone()).to_string(),
                u.progress,
                u.percent_complete,
                u.completion.map(CompletionStatus::as_str),
                finished.then(|| format_timestamp(&now)),
                state.as_str(),
                format_timestamp(&now),
                fmt_opt(&claim_until),
                finished,
                id,
                worker,
            ],
        )
        .await?;
    Ok(done == 1)
}

#[async_trait]
impl TaskStore for SqlStore {
    async fn insert_task(&self, t: &TaskRecord) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        insert_task_in(&mut *tx, t).await?;
        tx.commit().await
    }

    async fn get_task(&self, id: &str) -> StoreResult<TaskRecord> {
        task_in(&mut Pooled(&*self.db), id)
            .await?
            .ok_or_else(|| not_found("task", id))
    }

    async fn list_tasks(&self, view: &TaskView, q: &ListQuery) -> StoreResult<Page<TaskRecord>> {
        let mut fixed = vec![
            SqlPiece::Sql("t.created >= ".into()),
            SqlPiece::Bind(Param::Text(format_timestamp(&view.since))),
        ];
        match view.status {
            TaskStatusView::All => {}
            TaskStatusView::Completed => {
                fixed.push(SqlPiece::Sql(" AND t.completion_status IS NOT NULL".into()))
            }
            TaskStatusView::Uncompleted => {
                fixed.push(SqlPiece::Sql(" AND t.completion_status IS NULL".into()))
            }
        }
        let (rows, total) = self.list_rows(&TASKS, &fixed, q).await?;
        Ok(Page {
            items: rows.iter().map(task_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn complete_task_by_client(
        &self,
        id: &str,
        status: CompletionStatus,
        completed: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<TaskRecord> {
        let mut tx = self.db.begin_write().await?;
        let done = tx
            .execute(
                "UPDATE tasks SET completion_status = $1, completed = $2, state = 'FINISHED', \
                 claimed_by = NULL, claim_expires = NULL, modified = $3, \
                 progress = COALESCE(progress, 'Completed') WHERE id = $4 AND state <> 'FINISHED'",
                params![
                    status.as_str(),
                    format_timestamp(&completed),
                    format_timestamp(&now),
                    id,
                ],
            )
            .await?;
        let task = task_in(&mut *tx, id)
            .await?
            .ok_or_else(|| not_found("task", id))?;
        if done == 0 {
            return Err(StoreError::TaskFinished(id.to_string()));
        }
        tx.commit().await?;
        Ok(task)
    }

    async fn claim_task(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        let now_s = format_timestamp(&now);
        let sql = format!(
            "{TASK_COLS} FROM tasks t WHERE t.state = 'PENDING' \
             OR (t.state = 'RUNNING' AND t.claim_expires < $1) ORDER BY t.created, t.id \
             LIMIT 1{}",
            self.db.dialect().skip_locked
        );
        loop {
            let mut tx = self.db.begin_claim().await?;
            let row = tx.fetch_optional(&sql, params![now_s]).await?;
            let Some(mut task) = row.as_ref().map(task_row).transpose()? else {
                return Ok(None);
            };
            if task.attempts >= MAX_ATTEMPTS {
                // A task that keeps killing or outliving its runners: give it up.
                let update = abandoned(&task);
                tx.execute(
                    "UPDATE tasks SET state = 'FINISHED', completion_status = 'ERROR', \
                     completed = $1, claimed_by = NULL, claim_expires = NULL, messages = $2, \
                     progress = $3, modified = $4, attributes = $5 WHERE id = $6",
                    params![
                        now_s,
                        Value::Array(update.messages).to_string(),
                        update.progress,
                        now_s,
                        Value::Object(update.attributes).to_string(),
                        task.id,
                    ],
                )
                .await?;
                tx.commit().await?;
                continue;
            }
            tx.execute(
                "UPDATE tasks SET state = 'RUNNING', claimed_by = $1, claim_expires = $2, \
                 attempts = attempts + 1, launched = COALESCE(launched, $3), \
                 progress = CASE WHEN state = 'PENDING' THEN 'Started' ELSE progress END, \
                 modified = $4 WHERE id = $5",
                params![
                    worker,
                    format_timestamp(&claim_until),
                    now_s,
                    now_s,
                    task.id,
                ],
            )
            .await?;
            task = task_in(&mut *tx, &task.id)
                .await?
                .ok_or_else(|| not_found("task", &task.id))?;
            tx.commit().await?;
            return Ok(Some(task));
        }
    }

    async fn run_delete_step(
        &self,
        task: &TaskRecord,
        worker: &str,
        target: DeleteTarget,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        let mut tx = self.db.begin_write().await?;
        // The row as it is now: if another runner took it over or a client completed
        // it, this runner stops without writing anything.
        let Some(current) = task_in(&mut *tx, &task.id).await? else {
            return Ok(None);
        };
        if current.claimed_by.as_deref() != Some(worker) || current.state != TaskState::Running {
            return Ok(None);
        }
        let ids = next_chunk(&current);
        let results = match target {
            DeleteTarget::AccessProfiles => delete_unused_profiles(&mut *tx, &ids).await?,
            DeleteTarget::Roles => {
                let mut results = Vec::with_capacity(ids.len());
                for id in &ids {
                    let r = if delete_by_id(&mut *tx, "roles", id).await? == 1 {
                        ItemResult::Deleted
                    } else {
                        ItemResult::Gone
                    };
                    results.push((id.clone(), r));
                }
                results
            }
        };
        let update = after_delete_step(&current, &results);
        if !write_update(&mut *tx, &task.id, worker, &update, now, Some(claim_until)).await? {
            return Ok(None);
        }
        let after = task_in(&mut *tx, &task.id).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn update_claimed_task(
        &self,
        id: &str,
        worker: &str,
        update: &TaskUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin_write().await?;
        let ok = write_update(&mut *tx, id, worker, update, now, None).await?;
        tx.commit().await?;
        Ok(ok)
    }

    async fn release_task(&self, id: &str, worker: &str) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        // claim_expires = the epoch: reclaimable by any runner at any clock.
        tx.execute(
            "UPDATE tasks SET claimed_by = NULL, claim_expires = '1970-01-01T00:00:00.000Z', \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
             WHERE id = $1 AND claimed_by = $2 AND state = 'RUNNING'",
            params![id, worker],
        )
        .await?;
        tx.commit().await
    }

    async fn purge_tasks(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.db.begin_write().await?;
        let done = tx
            .execute(
                "DELETE FROM tasks WHERE state = 'FINISHED' AND completed < $1",
                params![format_timestamp(&before)],
            )
            .await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn count_tasks_by_state(
        &self,
    ) -> StoreResult<Vec<(TaskState, Option<CompletionStatus>, i64)>> {
        let rows = self
            .db
            .fetch_all(
                "SELECT state, completion_status, COUNT(*) FROM tasks \
                 GROUP BY state, completion_status",
                vec![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.get(0)?;
                let state = TaskState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("task state '{state}'")))?;
                let completion = r
                    .get::<Option<String>>(1)?
                    .map(|s| {
                        CompletionStatus::parse(&s)
                            .map_err(|_| StoreError::Corrupt(format!("completion status '{s}'")))
                    })
                    .transpose()?;
                Ok((state, completion, r.get(2)?))
            })
            .collect()
    }

    async fn count_unfinished_tasks(&self) -> StoreResult<i64> {
        self.db
            .fetch_one(
                "SELECT COUNT(*) FROM tasks WHERE state <> 'FINISHED'",
                vec![],
            )
            .await?
            .get(0)
    }
}
