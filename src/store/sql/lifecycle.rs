//! Identity profiles and their lifecycle states in SQL: the state row, and its
//! access-profile links in the client's order (`lifecycle_state_access_profiles`).
//!
//! Every lifecycle-state method answers `NotFound` for an unknown identity profile, and
//! `NotFound` for a state that exists only under another profile.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::*;
use crate::domain::model::*;
use crate::query::format_timestamp;
use crate::store::LifecycleStateStore;

const IDENTITY_PROFILE_SELECT: &str = "SELECT ip.id, ip.name, ip.description, ip.owner_id, \
     o.name AS owner_name, ip.authoritative_source_id, s.name AS source_name, ip.priority, \
     ip.created, ip.modified FROM identity_profiles ip \
     LEFT JOIN identities o ON o.id = ip.owner_id \
     LEFT JOIN sources s ON s.id = ip.authoritative_source_id WHERE ip.id = $1";

const LIFECYCLE_STATE_COLS: &str = "SELECT ls.id, ls.identity_profile_id, ls.name, \
     ls.technical_name, ls.description, ls.enabled, ls.identity_count, ls.identity_state, \
     ls.priority, ls.doc, ls.created, ls.modified";
const LIFECYCLE_STATE_FROM: &str = " FROM lifecycle_states ls";

const LIFECYCLE_STATES: Listing = Listing {
    cols: LIFECYCLE_STATE_COLS,
    from: LIFECYCLE_STATE_FROM,
    count_from: LIFECYCLE_STATE_FROM,
    columns: &LIFECYCLE_STATE_COLUMNS,
};

/// The fields of getLifecycleStates (sorters only), on `lifecycle_states ls`.
pub(super) static LIFECYCLE_STATE_COLUMNS: Columns = Columns {
    key: "ls.id",
    fields: &[
        ("name", not_null("ls.name")),
        ("priority", nullable("ls.priority")),
        ("created", not_null("ls.created")),
        ("modified", not_null("ls.modified")),
    ],
    base: None,
};

fn identity_profile_row(r: &Row) -> StoreResult<IdentityProfile> {
    Ok(IdentityProfile {
        id: r.get("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        authoritative_source: opt_ref(r, "authoritative_source_id", "source_name")?,
        priority: r.get("priority")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn lifecycle_state_row(r: &Row) -> StoreResult<LifecycleState> {
    Ok(LifecycleState {
        id: r.get("id")?,
        identity_profile_id: r.get("identity_profile_id")?,
        name: r.get("name")?,
        technical_name: r.get("technical_name")?,
        description: r.get("description")?,
        enabled: r.get("enabled")?,
        identity_count: r.get("identity_count")?,
        identity_state: r.get("identity_state")?,
        priority: r.get("priority")?,
        access_profile_ids: Vec::new(),
        doc: json_col::<Map<String, Value>>(r, "doc")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

/// `ls.identity_profile_id = ?` and, when given, `ls.id = ?`.
fn state_filter(profile_id: &str, id: Option<&str>) -> Vec<SqlPiece> {
    let mut pieces = id_filter("ls.identity_profile_id", profile_id);
    if let Some(id) = id {
        pieces.push(SqlPiece::Sql(" AND ".into()));
        pieces.extend(id_filter("ls.id", id));
    }
    pieces
}

/// The unique technical name per profile, and the access-profile links' foreign key
/// (a profile deleted between the handler's existence check and this write).
fn state_conflict(e: StoreError, d: &LifecycleStateDraft) -> StoreError {
    if e.violation() == Some(ViolationKind::ForeignKey) {
        return missing_reference(e, "accessProfileIds");
    }
    conflict(e, "lifecycle state", "technical name", &d.technical_name)
}

/// The access-profile links of these states, in each state's order.
async fn access_profile_links(
    ex: &mut dyn Executor,
    ids: &[String],
) -> StoreResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT lifecycle_state_id, access_profile_id FROM lifecycle_state_access_profiles \
         WHERE lifecycle_state_id IN (",
    );
    sql.push_ids(ids)
        .push(" ORDER BY lifecycle_state_id, position");
    let rows = ex.fetch_all(&sql.text, sql.params).await?;
    rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

fn attach_links(states: &mut [LifecycleState], links: Vec<(String, String)>) {
    let index: HashMap<String, usize> = states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    for (state_id, ap_id) in links {
        if let Some(s) = index.get(&state_id).and_then(|&i| states.get_mut(i)) {
            s.access_profile_ids.push(ap_id);
        }
    }
}

async fn write_links(ex: &mut dyn Executor, id: &str, d: &LifecycleStateDraft) -> StoreResult<()> {
    ex.execute(
        "DELETE FROM lifecycle_state_access_profiles WHERE lifecycle_state_id = $1",
        params![id],
    )
    .await?;
    for (pos, ap) in d.access_profile_ids.iter().enumerate() {
        ex.execute(
            "INSERT INTO lifecycle_state_access_profiles \
             (lifecycle_state_id, access_profile_id, position) VALUES ($1, $2, $3)",
            params![id, ap, pos as i64],
        )
        .await
        .map_err(|e| state_conflict(e, d))?;
    }
    Ok(())
}

async fn profile_exists(ex: &mut dyn Executor, profile_id: &str) -> StoreResult<()> {
    let found = ex
        .fetch_optional(
            "SELECT id FROM identity_profiles WHERE id = $1",
            params![profile_id],
        )
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(not_found("identity profile", profile_id)),
    }
}

#[async_trait]
impl LifecycleStateStore for SqlStore {
    async fn insert_identity_profile(
        &self,
        p: &NewIdentityProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<IdentityProfile> {
        let id = crate::domain::new_id();
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO identity_profiles (id, name, description, owner_id, \
             authoritative_source_id, priority, created, modified) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                id,
                p.name,
                p.description,
                p.owner_id,
                p.authoritative_source_id,
                p.priority,
                format_timestamp(&now),
                format_timestamp(&now),
            ],
        )
        .await
        .map_err(|e| conflict(e, "identity profile", "name", &p.name))?;
        tx.commit().await?;
        self.get_identity_profile(&id).await
    }

    async fn get_identity_profile(&self, id: &str) -> StoreResult<IdentityProfile> {
        self.db
            .fetch_optional(IDENTITY_PROFILE_SELECT, params![id])
            .await?
            .as_ref()
            .map(identity_profile_row)
            .transpose()?
            .ok_or_else(|| not_found("identity profile", id))
    }

    async fn insert_lifecycle_state(
        &self,
        profile_id: &str,
        d: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        let id = crate::domain::new_id();
        let mut tx = self.db.begin_write().await?;
        profile_exists(&mut *tx, profile_id).await?;
        tx.execute(
            "INSERT INTO lifecycle_states (id, identity_profile_id, name, technical_name, \
             description, enabled, identity_state, priority, doc, created, modified) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            params![
                id,
                profile_id,
                d.name,
                d.technical_name,
                d.description,
                d.enabled,
                d.identity_state,
                d.priority,
                Value::Object(d.doc.clone()).to_string(),
                format_timestamp(&now),
                format_timestamp(&now),
            ],
        )
        .await
        .map_err(|e| state_conflict(e, d))?;
        write_links(&mut *tx, &id, d).await?;
        tx.commit().await?;
        self.get_lifecycle_state(profile_id, &id).await
    }

    async fn update_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
        d: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        let mut tx = self.db.begin_write().await?;
        profile_exists(&mut *tx, profile_id).await?;
        let done = tx
            .execute(
                "UPDATE lifecycle_states SET name = $1, technical_name = $2, description = $3, \
                 enabled = $4, identity_state = $5, priority = $6, doc = $7, modified = $8 \
                 WHERE id = $9 AND identity_profile_id = $10",
                params![
                    d.name,
                    d.technical_name,
                    d.description,
                    d.enabled,
                    d.identity_state,
                    d.priority,
                    Value::Object(d.doc.clone()).to_string(),
                    format_timestamp(&now),
                    id,
                    profile_id,
                ],
            )
            .await
            .map_err(|e| state_conflict(e, d))?;
        if done == 0 {
            return Err(not_found("lifecycle state", id));
        }
        write_links(&mut *tx, id, d).await?;
        tx.commit().await?;
        self.get_lifecycle_state(profile_id, id).await
    }

    async fn get_lifecycle_state(&self, profile_id: &str, id: &str) -> StoreResult<LifecycleState> {
        let mut pool = Pooled(&*self.db);
        profile_exists(&mut pool, profile_id).await?;
        let rows = self
            .first_row(&LIFECYCLE_STATES, &state_filter(profile_id, Some(id)))
            .await?;
        let mut states = rows
            .iter()
            .map(lifecycle_state_row)
            .collect::<StoreResult<Vec<_>>>()?;
        attach_links(
            &mut states,
            access_profile_links(&mut pool, &[id.to_string()]).await?,
        );
        states.pop().ok_or_else(|| not_found("lifecycle state", id))
    }

    async fn list_lifecycle_states(
        &self,
        profile_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<LifecycleState>> {
        let mut pool = Pooled(&*self.db);
        profile_exists(&mut pool, profile_id).await?;
        let (rows, total) = self
            .list_rows(&LIFECYCLE_STATES, &state_filter(profile_id, None), q)
            .await?;
        let mut items = rows
            .iter()
            .map(lifecycle_state_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<String> = items.iter().map(|s| s.id.clone()).collect();
        attach_links(&mut items, access_profile_links(&mut pool, &ids).await?);
        Ok(Page { items, total })
    }

    async fn delete_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
    ) -> StoreResult<LifecycleState> {
        let mut tx = self.db.begin_write().await?;
        profile_exists(&mut *tx, profile_id).await?;
        // Read what is deleted inside the same transaction, so the answer is the row
        // as it was at deletion.
        let row = tx
            .fetch_optional(
                &format!(
                    "{LIFECYCLE_STATE_COLS}{LIFECYCLE_STATE_FROM} \
                     WHERE ls.id = $1 AND ls.identity_profile_id = $2"
                ),
                params![id, profile_id],
            )
            .await?;
        let Some(row) = row else {
            return Err(not_found("lifecycle state", id));
        };
        let mut states = vec![lifecycle_state_row(&row)?];
        attach_links(
            &mut states,
            access_profile_links(&mut *tx, &[id.to_string()]).await?,
        );
        // The access-profile links go with the row (ON DELETE CASCADE).
        delete_by_id(&mut *tx, "lifecycle_states", id).await?;
        tx.commit().await?;
        states.pop().ok_or_else(|| not_found("lifecycle state", id))
    }
}
