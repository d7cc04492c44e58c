//! Identity profiles and their lifecycle states in SQLite: the state row, and its
//! access-profile links in the client's order (`lifecycle_state_access_profiles`).
//!
//! Every lifecycle-state method answers `NotFound` for an unknown identity profile, and
//! `NotFound` for a state that exists only under another profile.

use sqlx::Executor;

use super::*;

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
    key: "ls.id",
};

fn identity_profile_row(r: &DbRow) -> StoreResult<IdentityProfile> {
    Ok(IdentityProfile {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        authoritative_source: opt_ref(r, "authoritative_source_id", "source_name")?,
        priority: r.try_get("priority")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn lifecycle_state_row(r: &DbRow) -> StoreResult<LifecycleState> {
    Ok(LifecycleState {
        id: r.try_get("id")?,
        identity_profile_id: r.try_get("identity_profile_id")?,
        name: r.try_get("name")?,
        technical_name: r.try_get("technical_name")?,
        description: r.try_get("description")?,
        enabled: r.try_get("enabled")?,
        identity_count: r.try_get("identity_count")?,
        identity_state: r.try_get("identity_state")?,
        priority: r.try_get("priority")?,
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
fn state_conflict(e: sqlx::Error, d: &LifecycleStateDraft) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_foreign_key_violation() {
            return StoreError::Conflict(
                "accessProfileIds names an access profile that does not exist.".into(),
            );
        }
    }
    conflict(e, || {
        format!(
            "A lifecycle state with technical name '{}' already exists in this identity profile.",
            d.technical_name
        )
    })
}

/// The access-profile links of these states, in each state's order.
async fn access_profile_links<'c, E>(ex: E, ids: &[String]) -> StoreResult<Vec<(String, String)>>
where
    E: Executor<'c, Database = Db>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT lifecycle_state_id, access_profile_id FROM lifecycle_state_access_profiles \
         WHERE lifecycle_state_id IN (",
    );
    push_id_list(&mut qb, ids);
    qb.push(" ORDER BY lifecycle_state_id, position");
    let rows = qb.build().fetch_all(ex).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
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

async fn write_links(
    tx: &mut sqlx::Transaction<'static, Db>,
    id: &str,
    d: &LifecycleStateDraft,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM lifecycle_state_access_profiles WHERE lifecycle_state_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (pos, ap) in d.access_profile_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO lifecycle_state_access_profiles \
             (lifecycle_state_id, access_profile_id, position) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(ap)
        .bind(pos as i64)
        .execute(&mut **tx)
        .await
        .map_err(|e| state_conflict(e, d))?;
    }
    Ok(())
}

async fn profile_exists<'c, E>(ex: E, profile_id: &str) -> StoreResult<()>
where
    E: Executor<'c, Database = Db>,
{
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM identity_profiles WHERE id = $1")
            .bind(profile_id)
            .fetch_optional(ex)
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(not_found("identity profile", profile_id)),
    }
}

impl SqlStore {
    pub(super) async fn identity_profile_insert(
        &self,
        p: &NewIdentityProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<IdentityProfile> {
        let id = crate::domain::new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO identity_profiles (id, name, description, owner_id, \
             authoritative_source_id, priority, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(&p.owner_id)
        .bind(&p.authoritative_source_id)
        .bind(p.priority)
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict(e, || {
                format!("An identity profile named '{}' already exists.", p.name)
            })
        })?;
        tx.commit().await?;
        self.identity_profile_get(&id).await
    }

    pub(super) async fn identity_profile_get(&self, id: &str) -> StoreResult<IdentityProfile> {
        sqlx::query(IDENTITY_PROFILE_SELECT)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_profile_row)
            .transpose()?
            .ok_or_else(|| not_found("identity profile", id))
    }

    pub(super) async fn lifecycle_state_insert(
        &self,
        profile_id: &str,
        d: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        let id = crate::domain::new_id();
        let mut tx = self.begin_write().await?;
        profile_exists(&mut *tx, profile_id).await?;
        sqlx::query(
            "INSERT INTO lifecycle_states (id, identity_profile_id, name, technical_name, \
             description, enabled, identity_state, priority, doc, created, modified) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(profile_id)
        .bind(&d.name)
        .bind(&d.technical_name)
        .bind(&d.description)
        .bind(d.enabled)
        .bind(&d.identity_state)
        .bind(d.priority)
        .bind(Value::Object(d.doc.clone()).to_string())
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(|e| state_conflict(e, d))?;
        write_links(&mut tx, &id, d).await?;
        tx.commit().await?;
        self.lifecycle_state_get(profile_id, &id).await
    }

    pub(super) async fn lifecycle_state_update(
        &self,
        profile_id: &str,
        id: &str,
        d: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        let mut tx = self.begin_write().await?;
        profile_exists(&mut *tx, profile_id).await?;
        let done = sqlx::query(
            "UPDATE lifecycle_states SET name = $1, technical_name = $2, description = $3, \
             enabled = $4, identity_state = $5, priority = $6, doc = $7, modified = $8 \
             WHERE id = $9 AND identity_profile_id = $10",
        )
        .bind(&d.name)
        .bind(&d.technical_name)
        .bind(&d.description)
        .bind(d.enabled)
        .bind(&d.identity_state)
        .bind(d.priority)
        .bind(Value::Object(d.doc.clone()).to_string())
        .bind(format_timestamp(&now))
        .bind(id)
        .bind(profile_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| state_conflict(e, d))?;
        if done.rows_affected() == 0 {
            return Err(not_found("lifecycle state", id));
        }
        write_links(&mut tx, id, d).await?;
        tx.commit().await?;
        self.lifecycle_state_get(profile_id, id).await
    }

    pub(super) async fn lifecycle_state_get(
        &self,
        profile_id: &str,
        id: &str,
    ) -> StoreResult<LifecycleState> {
        profile_exists(&self.pool, profile_id).await?;
        let (rows, _) = self
            .list_rows(
                &LIFECYCLE_STATES,
                &state_filter(profile_id, Some(id)),
                &one_page(),
            )
            .await?;
        let mut states = rows
            .iter()
            .map(lifecycle_state_row)
            .collect::<StoreResult<Vec<_>>>()?;
        attach_links(
            &mut states,
            access_profile_links(&self.pool, &[id.to_string()]).await?,
        );
        states.pop().ok_or_else(|| not_found("lifecycle state", id))
    }

    pub(super) async fn lifecycle_state_list(
        &self,
        profile_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<LifecycleState>> {
        profile_exists(&self.pool, profile_id).await?;
        let (rows, total) = self
            .list_rows(&LIFECYCLE_STATES, &state_filter(profile_id, None), q)
            .await?;
        let mut items = rows
            .iter()
            .map(lifecycle_state_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<String> = items.iter().map(|s| s.id.clone()).collect();
        attach_links(&mut items, access_profile_links(&self.pool, &ids).await?);
        Ok(Page { items, total })
    }

    pub(super) async fn lifecycle_state_delete(
        &self,
        profile_id: &str,
        id: &str,
    ) -> StoreResult<LifecycleState> {
        let mut tx = self.begin_write().await?;
        profile_exists(&mut *tx, profile_id).await?;
        // Read what is deleted inside the same transaction, so the answer is the row
        // as it was at deletion.
        let row = sqlx::query(&format!(
            "{LIFECYCLE_STATE_COLS}{LIFECYCLE_STATE_FROM} \
             WHERE ls.id = $1 AND ls.identity_profile_id = $2"
        ))
        .bind(id)
        .bind(profile_id)
        .fetch_optional(&mut *tx)
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
        sqlx::query("DELETE FROM lifecycle_states WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        states.pop().ok_or_else(|| not_found("lifecycle state", id))
    }
}
