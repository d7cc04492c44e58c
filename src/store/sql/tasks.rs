//! Usages, deletion and the durable task table in SQLite. Every write here runs in a
//! `BEGIN IMMEDIATE` transaction, so a usage check and the delete it guards cannot be
//! interleaved with a role or lifecycle-state write (CONTRACT §2 invariant).

use super::*;
use crate::domain::task::{
    after_delete_step, failed, next_chunk, CompletionStatus, ItemResult, TaskRecord, TaskState,
    TaskUpdate, MAX_ATTEMPTS,
};
use crate::domain::usage::{Usage, UsageKind};

const TASK_COLS: &str = "SELECT t.id, t.kind, t.unique_name, t.description, t.launcher, \
     t.source_id, t.payload, t.attributes, t.messages, t.returns, t.state, t.progress, \
     t.percent_complete, t.completion_status, t.claimed_by, t.claim_expires, t.attempts, \
     t.created, t.modified, t.launched, t.completed";
const TASKS: Listing = Listing {
    cols: TASK_COLS,
    from: " FROM tasks t",
    count_from: " FROM tasks t",
    key: "t.id",
};

/// One indexed query per usage kind (`…_ap_idx` on each link table).
const USAGE_QUERIES: [(UsageKind, &str); 3] = [
    (
        UsageKind::Role,
        "SELECT l.access_profile_id, r.id, r.name FROM role_access_profiles l \
         JOIN roles r ON r.id = l.role_id WHERE l.access_profile_id IN (",
    ),
    (
        UsageKind::LifecycleState,
        "SELECT l.access_profile_id, ls.id, ls.name FROM lifecycle_state_access_profiles l \
         JOIN lifecycle_states ls ON ls.id = l.lifecycle_state_id WHERE l.access_profile_id IN (",
    ),
    (
        UsageKind::Application,
        "SELECT l.access_profile_id, a.id, a.name FROM source_app_access_profiles l \
         JOIN source_apps a ON a.id = l.app_id WHERE l.access_profile_id IN (",
    ),
];

pub(super) async fn usages_of(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<Usage>> {
    let mut out = Vec::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for (kind, sql) in USAGE_QUERIES {
        let mut qb = QueryBuilder::<Db>::new(sql);
        push_id_list(&mut qb, ids);
        for r in qb.build().fetch_all(&mut *conn).await? {
            out.push(Usage {
                access_profile_id: r.try_get(0)?,
                kind,
                id: r.try_get(1)?,
                name: r.try_get(2)?,
            });
        }
    }
    Ok(out)
}

/// The access profiles among `ids` that exist, with their names (one indexed query).
pub(super) async fn profile_refs(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<NamedRef>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Db>::new("SELECT id, name FROM access_profiles WHERE id IN (");
    push_id_list(&mut qb, ids);
    let rows = qb.build().fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(NamedRef {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
            })
        })
        .collect()
}

/// Deletes those of `ids` that nothing uses, inside the caller's transaction: one
/// query for the names, one per usage kind, one DELETE. Results in the order of `ids`.
async fn delete_unused_profiles(
    conn: &mut DbConn,
    ids: &[String],
) -> StoreResult<Vec<(String, ItemResult)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: HashMap<String, String> = profile_refs(conn, ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut usages: HashMap<String, Vec<Usage>> = HashMap::new();
    for u in usages_of(conn, ids).await? {
        usages
            .entry(u.access_profile_id.clone())
            .or_default()
            .push(u);
    }
    let mut results = Vec::with_capacity(ids.len());
    let mut unused = Vec::new();
    for id in ids {
        let result = match (names.remove(id), usages.remove(id)) {
            (None, _) => ItemResult::Gone,
            (Some(name), Some(usages)) => ItemResult::InUse { name, usages },
            (Some(_), None) => {
                unused.push(id);
                ItemResult::Deleted
            }
        };
        results.push((id.clone(), result));
    }
    if !unused.is_empty() {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM access_profiles WHERE id IN (");
        push_id_list(&mut qb, unused);
        qb.build().execute(&mut *conn).await?;
    }
    Ok(results)
}

fn opt_ts(row: &DbRow, col: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| StoreError::Corrupt(format!("{col} '{s}': {e}")))
    })
    .transpose()
}

fn task_row(r: &DbRow) -> StoreResult<TaskRecord> {
    Ok(TaskRecord {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        unique_name: r.try_get("unique_name")?,
        description: r.try_get("description")?,
        launcher: r.try_get("launcher")?,
        source_id: r.try_get("source_id")?,
        payload: json_col(r, "payload")?,
        attributes: json_col(r, "attributes")?,
        messages: json_col(r, "messages")?,
        returns: json_col(r, "returns")?,
        state: r.try_get("state")?,
        progress: r.try_get("progress")?,
        percent_complete: r.try_get("percent_complete")?,
        completion_status: r.try_get("completion_status")?,
        claimed_by: r.try_get("claimed_by")?,
        claim_expires: opt_ts(r, "claim_expires")?,
        attempts: r.try_get("attempts")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
        launched: opt_ts(r, "launched")?,
        completed: opt_ts(r, "completed")?,
    })
}

fn fmt_opt(d: &Option<DateTime<Utc>>) -> Option<String> {
    d.as_ref().map(format_timestamp)
}

async fn insert_task_in(conn: &mut DbConn, t: &TaskRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tasks (id, kind, unique_name, description, launcher, source_id, payload, \
         attributes, messages, returns, state, progress, percent_complete, completion_status, \
         claimed_by, claim_expires, attempts, created, modified, launched, completed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(&t.id)
    .bind(&t.kind)
    .bind(&t.unique_name)
    .bind(&t.description)
    .bind(&t.launcher)
    .bind(&t.source_id)
    .bind(t.payload.to_string())
    .bind(Value::Object(t.attributes.clone()).to_string())
    .bind(Value::Array(t.messages.clone()).to_string())
    .bind(Value::Array(t.returns.clone()).to_string())
    .bind(&t.state)
    .bind(&t.progress)
    .bind(t.percent_complete)
    .bind(&t.completion_status)
    .bind(&t.claimed_by)
    .bind(fmt_opt(&t.claim_expires))
    .bind(t.attempts)
    .bind(format_timestamp(&t.created))
    .bind(format_timestamp(&t.modified))
    .bind(fmt_opt(&t.launched))
    .bind(fmt_opt(&t.completed))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn task_in(conn: &mut DbConn, id: &str) -> StoreResult<Option<TaskRecord>> {
    let sql = format!("{TASK_COLS} FROM tasks t WHERE t.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(task_row)
        .transpose()
}

/// Writes a step's update if `worker` still holds the task; false otherwise.
async fn write_update(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    u: &TaskUpdate,
    now: DateTime<Utc>,
    claim_until: Option<DateTime<Utc>>,
) -> StoreResult<bool> {
    let finished = u.completion.is_some();
    let done = sqlx::query(
        "UPDATE tasks SET attributes = $1, messages = $2, progress = $3, percent_complete = $4, \
         completion_status = $5, completed = $6, state = $7, modified = $8, \
         claim_expires = COALESCE($9, claim_expires), \
         claimed_by = CASE WHEN $10 THEN NULL ELSE claimed_by END \
         WHERE id = $11 AND claimed_by = $12 AND state = 'RUNNING'",
    )
    .bind(Value::Object(u.attributes.clone()).to_string())
    .bind(Value::Array(u.messages.clone()).to_string())
    .bind(&u.progress)
    .bind(u.percent_complete)
    .bind(u.completion.map(CompletionStatus::as_str))
    .bind(finished.then(|| format_timestamp(&now)))
    .bind(if finished {
        TaskState::Finished.as_str()
    } else {
        TaskState::Running.as_str()
    })
    .bind(format_timestamp(&now))
    .bind(fmt_opt(&claim_until))
    .bind(finished)
    .bind(id)
    .bind(worker)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl SqlStore {
    pub(super) async fn usages(&self, ids: &[String]) -> StoreResult<Vec<Usage>> {
        let mut conn = self.pool.acquire().await?;
        usages_of(&mut conn, ids).await
    }

    pub(super) async fn access_profile_delete(
        &self,
        id: &str,
        record: Option<&TaskRecord>,
    ) -> StoreResult<ItemResult> {
        let mut tx = self.begin_write().await?;
        let Some((_, result)) = delete_unused_profiles(&mut tx, &[id.to_string()])
            .await?
            .pop()
        else {
            return Err(not_found("access profile", id));
        };
        match result {
            ItemResult::Gone => return Err(not_found("access profile", id)),
            ItemResult::InUse { .. } => return Ok(result),
            ItemResult::Deleted => {}
        }
        if let Some(task) = record {
            insert_task_in(&mut tx, task).await?;
        }
        tx.commit().await?;
        Ok(result)
    }

    pub(super) async fn task_insert(&self, t: &TaskRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_task_in(&mut tx, t).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn task_get(&self, id: &str) -> StoreResult<TaskRecord> {
        let mut conn = self.pool.acquire().await?;
        task_in(&mut conn, id)
            .await?
            .ok_or_else(|| not_found("task", id))
    }

    pub(super) async fn task_list(
        &self,
        fixed: &[SqlPiece],
        q: &ListQuery,
    ) -> StoreResult<Page<TaskRecord>> {
        let (rows, total) = self.list_rows(&TASKS, fixed, q).await?;
        Ok(Page {
            items: rows.iter().map(task_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    pub(super) async fn task_complete_by_client(
        &self,
        id: &str,
        status: CompletionStatus,
        completed: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<TaskRecord> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE tasks SET completion_status = $1, completed = $2, state = 'FINISHED', \
             claimed_by = NULL, claim_expires = NULL, modified = $3, \
             progress = COALESCE(progress, 'Completed') WHERE id = $4 AND state <> 'FINISHED'",
        )
        .bind(status.as_str())
        .bind(format_timestamp(&completed))
        .bind(format_timestamp(&now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let task = task_in(&mut tx, id)
            .await?
            .ok_or_else(|| not_found("task", id))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "The task '{id}' has already completed."
            )));
        }
        tx.commit().await?;
        Ok(task)
    }

    pub(super) async fn task_claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        let now_s = format_timestamp(&now);
        loop {
            let mut tx = dialect::begin_claim(&self.pool).await?;
            let sql = format!(
                "{TASK_COLS} FROM tasks t WHERE t.state = 'PENDING' \
                 OR (t.state = 'RUNNING' AND t.claim_expires < $1) ORDER BY t.created, t.id \
                 LIMIT 1{}",
                dialect::SKIP_LOCKED
            );
            let row = sqlx::query(&sql)
                .bind(&now_s)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(mut task) = row.as_ref().map(task_row).transpose()? else {
                return Ok(None);
            };
            if task.attempts >= MAX_ATTEMPTS {
                // A task that keeps killing or outliving its runners: give it up.
                let update = failed(
                    &task,
                    &format!("The task was abandoned after {MAX_ATTEMPTS} attempts."),
                );
                sqlx::query(
                    "UPDATE tasks SET state = 'FINISHED', completion_status = 'ERROR', \
                     completed = $1, claimed_by = NULL, claim_expires = NULL, messages = $2, \
                     progress = $3, modified = $4 WHERE id = $5",
                )
                .bind(&now_s)
                .bind(Value::Array(update.messages).to_string())
                .bind(&update.progress)
                .bind(&now_s)
                .bind(&task.id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                continue;
            }
            sqlx::query(
                "UPDATE tasks SET state = 'RUNNING', claimed_by = $1, claim_expires = $2, \
                 attempts = attempts + 1, launched = COALESCE(launched, $3), \
                 progress = CASE WHEN state = 'PENDING' THEN 'Started' ELSE progress END, \
                 modified = $4 WHERE id = $5",
            )
            .bind(worker)
            .bind(format_timestamp(&claim_until))
            .bind(&now_s)
            .bind(&now_s)
            .bind(&task.id)
            .execute(&mut *tx)
            .await?;
            task = task_in(&mut tx, &task.id)
                .await?
                .ok_or_else(|| not_found("task", &task.id))?;
            tx.commit().await?;
            return Ok(Some(task));
        }
    }

    pub(super) async fn task_delete_step(
        &self,
        task: &TaskRecord,
        worker: &str,
        target: DeleteTarget,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        let mut tx = self.begin_write().await?;
        // The row as it is now: if another runner took it over or a client completed
        // it, this runner stops without writing anything.
        let Some(current) = task_in(&mut tx, &task.id).await? else {
            return Ok(None);
        };
        if current.claimed_by.as_deref() != Some(worker)
            || current.state != TaskState::Running.as_str()
        {
            return Ok(None);
        }
        let ids = next_chunk(&current);
        let results = match target {
            DeleteTarget::AccessProfiles => delete_unused_profiles(&mut tx, &ids).await?,
            DeleteTarget::Roles => {
                let mut results = Vec::with_capacity(ids.len());
                for id in &ids {
                    let done = sqlx::query("DELETE FROM roles WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let r = if done.rows_affected() == 1 {
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
        if !write_update(&mut tx, &task.id, worker, &update, now, Some(claim_until)).await? {
            return Ok(None);
        }
        let after = task_in(&mut tx, &task.id).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn task_update_claimed(
        &self,
        id: &str,
        worker: &str,
        update: &TaskUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let ok = write_update(&mut tx, id, worker, update, now, None).await?;
        tx.commit().await?;
        Ok(ok)
    }

    pub(super) async fn task_release(&self, id: &str, worker: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        // claim_expires = the epoch: reclaimable by any runner at any clock.
        sqlx::query(
            "UPDATE tasks SET claimed_by = NULL, claim_expires = '1970-01-01T00:00:00.000Z', \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = $1 AND claimed_by = $2 AND state = 'RUNNING'",
        )
        .bind(id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn task_purge(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM tasks WHERE state = 'FINISHED' AND completed < $1")
            .bind(format_timestamp(&before))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub(super) async fn task_count_unfinished(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE state <> 'FINISHED'")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
