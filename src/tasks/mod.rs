//! The durable task runner (CONTRACT §4), in underway's shape: tasks are rows written
//! in the same transaction as the request that creates them; a runner claims one for a
//! limited time, advances it step by step (each step's effects and its progress in one
//! transaction, extending the claim), and a claim whose runner died expires and is
//! claimed again. Several runners (instances) can share one database.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::domain::task::{failed, TaskKind, TaskRecord, TaskState};
use crate::domain::Clock;
use crate::store::{DeleteTarget, Store, StoreResult};

/// Wakes the runner of this instance when a request has enqueued a task.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

#[derive(Clone)]
pub struct Runner {
    store: Arc<dyn Store>,
    clock: Clock,
    /// Unique per runner: claims name it.
    worker: String,
    claim_ttl: chrono::Duration,
    retention: chrono::Duration,
    poll: Duration,
    step_delay: Duration,
    wakeup: Wakeup,
    /// Turns true at shutdown: the running task stops after its current step.
    stop: watch::Receiver<bool>,
}

impl Runner {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Clock,
        config: &crate::config::TaskArgs,
        wakeup: Wakeup,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Runner {
            store,
            clock,
            worker: format!("runner-{}", crate::domain::new_id()),
            claim_ttl: chrono::Duration::seconds(config.task_claim_ttl_secs.max(1) as i64),
            retention: chrono::Duration::days(config.task_retention_days as i64),
            poll: Duration::from_millis(config.task_poll_ms.max(10)),
            step_delay: Duration::from_millis(config.task_step_delay_ms),
            wakeup,
            stop,
        }
    }

    /// Runs tasks until the stop signal; between tasks, waits for a wake-up or the
    /// poll interval. Purges expired tasks about once a minute. A task running at
    /// shutdown finishes its current step and is released for another runner.
    pub async fn run(self) {
        let mut stop = self.stop.clone();
        let mut last_purge: Option<std::time::Instant> = None;
        while !*stop.borrow() {
            if last_purge.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                last_purge = Some(std::time::Instant::now());
                let before = self.clock.now() - self.retention;
                if let Err(e) = self.store.purge_tasks(before).await {
                    tracing::warn!(error = %e, "purging old tasks failed");
                }
            }
            match self.run_one().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "task runner step failed; retrying"),
            }
            tokio::select! {
                _ = self.wakeup.0.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = stop.changed() => break,
            }
        }
    }

    /// Claims one runnable task and runs it to its end (or until its claim is lost).
    /// False when there was nothing to run.
    pub async fn run_one(&self) -> StoreResult<bool> {
        let now = self.clock.now();
        let Some(task) = self
            .store
            .claim_task(&self.worker, now, now + self.claim_ttl)
            .await?
        else {
            return Ok(false);
        };
        // The worker names the instance: `claimed_by` in the tasks table says the same.
        tracing::info!(task_id = %task.id, kind = task.kind.as_str(), attempt = task.attempts, worker = %self.worker, "task claimed");
        self.execute(task).await?;
        Ok(true)
    }

    async fn execute(&self, mut task: TaskRecord) -> StoreResult<()> {
        let target = match task.kind {
            TaskKind::AccessProfileBulkDelete => DeleteTarget::AccessProfiles,
            TaskKind::RoleBulkDelete => DeleteTarget::Roles,
            // Recorded as finished when created: it has no steps to run.
            TaskKind::AccessProfileDelete | TaskKind::SourceDelete => {
                let update = failed(
                    &task,
                    &format!("A {} task has no steps to run.", task.kind.as_str()),
                );
                self.store
                    .update_claimed_task(&task.id, &self.worker, &update, self.clock.now())
                    .await?;
                return Ok(());
            }
        };
        let mut stop = self.stop.clone();
        while task.state != TaskState::Finished {
            if !self.step_delay.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(self.step_delay) => {}
                    _ = stop.changed() => {}
                }
            }
            if *self.stop.borrow() {
                self.store.release_task(&task.id, &self.worker).await?;
                tracing::info!(task_id = %task.id, "shutting down: task released");
                return Ok(());
            }
            let now = self.clock.now();
            match self
                .store
                .run_delete_step(&task, &self.worker, target, now, now + self.claim_ttl)
                .await?
            {
                Some(next) => task = next,
                None => {
                    tracing::info!(task_id = %task.id, "task claim lost; leaving it");
                    return Ok(());
                }
            }
        }
        tracing::info!(task_id = %task.id, status = ?task.completion_status, "task finished");
        Ok(())
    }
}

/// Runs tasks in the calling task until none is left unfinished (the test harness's
/// `drain_tasks`). Tasks claimed by other runners are waited for.
pub async fn drain(runner: &Runner) -> StoreResult<()> {
    loop {
        if runner.run_one().await? {
            continue;
        }
        if runner.store.count_unfinished_tasks().await? == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Writes a pending task and wakes the runner; returns the task id.
pub async fn enqueue(store: &dyn Store, wakeup: &Wakeup, task: &TaskRecord) -> StoreResult<String> {
    store.insert_task(task).await?;
    wakeup.notify();
    Ok(task.id.clone())
}
