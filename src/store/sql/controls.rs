//! The admin API's controls in SQL: the fault rules and the shared clock. Every change
//! is announced on [`CHANNEL`] when it commits (PostgreSQL's NOTIFY), so the other
//! instances on the database reload their copy.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::domain::{format_timestamp, ClockSetting};
use crate::store::db::{ChangeFeed, Executor, Pooled, Transaction};
use crate::store::{ControlStore, FaultRuleRow};

/// The channel changes to the controls are announced on; the payload names the schema.
pub const CHANNEL: &str = "accessd_control";

const RULE_COLS: &str = "id, spec, times_left, fired";

fn rule_row(r: &Row) -> StoreResult<FaultRuleRow> {
    Ok(FaultRuleRow {
        id: r.get("id")?,
        spec: r.get("spec")?,
        times_left: r.get("times_left")?,
        fired: r.get("fired")?,
    })
}

/// The shared clock's setting and its version, read with `ex`.
async fn read_clock(ex: &mut dyn Executor) -> StoreResult<(Option<ClockSetting>, i64)> {
    let Some(row) = ex
        .fetch_optional(
            "SELECT frozen_at, offset_ms, version FROM control_clock WHERE id = 'clock'",
            vec![],
        )
        .await?
    else {
        return Ok((None, 0));
    };
    let version: i64 = row.get("version")?;
    if version == 0 {
        return Ok((None, 0));
    }
    let frozen_at = row
        .get::<Option<String>>("frozen_at")?
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt(format!("control_clock.frozen_at {t}: {e}")))
        })
        .transpose()?;
    let setting = ClockSetting {
        frozen_at,
        offset_ms: row.get("offset_ms")?,
    };
    Ok((Some(setting), version))
}

impl SqlStore {
    /// Announces a change to the controls, delivered when `tx` commits.
    async fn announce(&self, tx: &mut dyn Transaction) -> StoreResult<()> {
        if let Some(sql) = self.db.dialect().notify {
            tx.execute(sql, params![CHANNEL]).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ControlStore for SqlStore {
    async fn fault_rules(&self) -> StoreResult<Vec<FaultRuleRow>> {
        let sql = format!("SELECT {RULE_COLS} FROM fault_rules ORDER BY id");
        self.db
            .fetch_all(&sql, vec![])
            .await?
            .iter()
            .map(rule_row)
            .collect()
    }

    async fn insert_fault_rule(&self, rule: &FaultRuleRow) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO fault_rules (id, spec, times_left, fired) VALUES ($1, $2, $3, $4)",
            params![rule.id, rule.spec, rule.times_left, rule.fired],
        )
        .await?;
        self.announce(&mut *tx).await?;
        tx.commit().await
    }

    async fn delete_fault_rules(&self, id: Option<&str>) -> StoreResult<u64> {
        let mut tx = self.db.begin_write().await?;
        let gone = match id {
            Some(id) => {
                tx.execute("DELETE FROM fault_rules WHERE id = $1", params![id])
                    .await?
            }
            None => tx.execute("DELETE FROM fault_rules", vec![]).await?,
        };
        if gone > 0 {
            self.announce(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(gone)
    }

    async fn fire_fault_rule(&self, id: &str) -> StoreResult<Option<FaultRuleRow>> {
        // One statement: of two instances firing the last time left, one updates the
        // row and the other finds the condition false.
        let sql = format!(
            "UPDATE fault_rules SET fired = fired + 1, times_left = times_left - 1 \
             WHERE id = $1 AND (times_left IS NULL OR times_left > 0) RETURNING {RULE_COLS}"
        );
        let Some(rule) = self
            .db
            .fetch_optional(&sql, params![id])
            .await?
            .as_ref()
            .map(rule_row)
            .transpose()?
        else {
            return Ok(None);
        };
        if rule.times_left == Some(0) {
            let mut tx = self.db.begin_write().await?;
            tx.execute(
                "DELETE FROM fault_rules WHERE id = $1 AND times_left = 0",
                params![id],
            )
            .await?;
            self.announce(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(Some(rule))
    }

    async fn clock_setting(&self) -> StoreResult<(Option<ClockSetting>, i64)> {
        read_clock(&mut Pooled(&*self.db)).await
    }

    async fn replace_clock_setting(
        &self,
        version: i64,
        setting: &ClockSetting,
    ) -> StoreResult<Result<i64, (Option<ClockSetting>, i64)>> {
        let mut tx = self.db.begin_write().await?;
        let changed = tx
            .execute(
                "UPDATE control_clock SET frozen_at = $1, offset_ms = $2, version = version + 1 \
                 WHERE id = 'clock' AND version = $3",
                params![
                    setting.frozen_at.as_ref().map(format_timestamp),
                    setting.offset_ms,
                    version
                ],
            )
            .await?;
        if changed == 0 {
            // What came first, as this write sees it (with SQLite, a change of the
            // group being committed, which reads elsewhere do not see yet).
            let first = read_clock(&mut *tx).await?;
            tx.rollback().await?;
            return Ok(Err(first));
        }
        self.announce(&mut *tx).await?;
        tx.commit().await?;
        Ok(Ok(version + 1))
    }

    async fn control_changes(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        self.db.listen(CHANNEL).await
    }
}
