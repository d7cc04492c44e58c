//! Source apps in SQLite: the app row and its access-profile links (in order). The
//! links carry the source id so the database enforces "an app only holds profiles of
//! its account source" (migration 0003).

use super::*;

const APP_COLS: &str = "SELECT a.id, a.num_id, a.name, a.description, a.owner_id, \
     o.name AS owner_name, a.account_source_id, s.name AS source_name, a.enabled, \
     a.provision_request_enabled, a.app_center_enabled, a.match_all_accounts, a.created, \
     a.modified";
const APP_FROM: &str = " FROM source_apps a JOIN identities o ON o.id = a.owner_id \
     JOIN sources s ON s.id = a.account_source_id";

const APPS: Listing = Listing {
    cols: APP_COLS,
    from: APP_FROM,
    count_from: " FROM source_apps a",
    key: "a.id",
};

/// An app's profiles with their source's numeric id, joined with the app's links `l`.
const APP_PROFILE_JOIN: &str = " JOIN source_app_access_profiles l ON l.access_profile_id = ap.id";

fn app_row(r: &DbRow) -> StoreResult<SourceApp> {
    Ok(SourceApp {
        id: r.try_get("id")?,
        num_id: r.try_get("num_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        owner: NamedRef {
            id: r.try_get("owner_id")?,
            name: r.try_get("owner_name")?,
        },
        account_source: NamedRef {
            id: r.try_get("account_source_id")?,
            name: r.try_get("source_name")?,
        },
        enabled: r.try_get("enabled")?,
        provision_request_enabled: r.try_get("provision_request_enabled")?,
        app_center_enabled: r.try_get("app_center_enabled")?,
        match_all_accounts: r.try_get("match_all_accounts")?,
        access_profile_ids: Vec::new(),
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

/// The condition of a list view, on `source_apps a`.
fn view_filter(view: SourceAppView) -> Vec<SqlPiece> {
    let available = || {
        vec![
            SqlPiece::Sql("a.enabled = ".into()),
            SqlPiece::Bind(SqlValue::Bool(true)),
            SqlPiece::Sql(" AND a.provision_request_enabled = ".into()),
            SqlPiece::Bind(SqlValue::Bool(true)),
        ]
    };
    match view {
        SourceAppView::All => Vec::new(),
        SourceAppView::Available => available(),
        SourceAppView::Assigned => {
            let mut pieces = available();
            pieces.extend([
                SqlPiece::Sql(
                    " AND EXISTS (SELECT 1 FROM source_app_access_profiles l \
                     JOIN access_profiles ap ON ap.id = l.access_profile_id \
                     WHERE l.app_id = a.id AND ap.enabled = "
                        .into(),
                ),
                SqlPiece::Bind(SqlValue::Bool(true)),
                SqlPiece::Sql(" AND ap.requestable = ".into()),
                SqlPiece::Bind(SqlValue::Bool(true)),
                SqlPiece::Sql(")".into()),
            ]);
            pieces
        }
    }
}

impl SqlStore {
    /// App rows with their access-profile ids attached (one query per page).
    async fn apps_from_rows(&self, rows: Vec<DbRow>) -> StoreResult<Vec<SourceApp>> {
        let mut apps = rows.iter().map(app_row).collect::<StoreResult<Vec<_>>>()?;
        if apps.is_empty() {
            return Ok(apps);
        }
        let index: HashMap<String, usize> = apps
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT l.app_id, l.access_profile_id FROM source_app_access_profiles l \
             WHERE l.app_id IN (",
        );
        push_id_list(&mut qb, index.keys());
        qb.push(" ORDER BY l.app_id, l.position");
        for r in qb.build().fetch_all(&self.pool).await? {
            let app_id: String = r.try_get(0)?;
            if let Some(&i) = index.get(&app_id) {
                apps[i].access_profile_ids.push(r.try_get(1)?);
            }
        }
        Ok(apps)
    }

    pub(super) async fn source_app_refs(
        &self,
        d: &SourceAppDraft,
    ) -> StoreResult<SourceAppRefFacts> {
        let owner = self
            .named_refs("identities", std::slice::from_ref(&d.owner_id))
            .await?
            .pop();
        let account_source = self
            .named_refs("sources", std::slice::from_ref(&d.account_source_id))
            .await?
            .pop();
        let access_profiles = self
            .refs_with_sources("access_profiles", &d.access_profile_ids)
            .await?;
        Ok(SourceAppRefFacts {
            owner,
            account_source,
            access_profiles,
        })
    }

    /// Replaces an app's links with the draft's, in the draft's order.
    async fn write_app_links(
        tx: &mut sqlx::Transaction<'static, Db>,
        id: &str,
        d: &SourceAppDraft,
    ) -> StoreResult<()> {
        for (pos, ap) in d.access_profile_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO source_app_access_profiles (app_id, source_id, access_profile_id, \
                 position) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&d.account_source_id)
            .bind(ap)
            .bind(pos as i64)
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict(e, String::new))?;
        }
        Ok(())
    }

    pub(super) async fn source_app_insert(
        &self,
        d: &SourceAppDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<SourceApp> {
        let id = crate::domain::new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO source_apps (id, num_id, name, description, owner_id, \
             account_source_id, enabled, provision_request_enabled, app_center_enabled, \
             match_all_accounts, created, modified) \
             VALUES ($1, (SELECT COALESCE(MAX(num_id), 0) + 1 FROM source_apps), \
             $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.owner_id)
        .bind(&d.account_source_id)
        .bind(d.enabled)
        .bind(d.provision_request_enabled)
        .bind(d.app_center_enabled)
        .bind(d.match_all_accounts)
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, String::new))?;
        Self::write_app_links(&mut tx, &id, d).await?;
        tx.commit().await?;
        self.source_app_get(&id).await
    }

    pub(super) async fn source_app_get(&self, id: &str) -> StoreResult<SourceApp> {
        let (rows, _) = self
            .list_rows(&APPS, &id_filter("a.id", id), &one_page())
            .await?;
        self.apps_from_rows(rows)
            .await?
            .pop()
            .ok_or_else(|| not_found("source app", id))
    }

    pub(super) async fn source_app_list(
        &self,
        view: SourceAppView,
        q: &ListQuery,
    ) -> StoreResult<Page<SourceApp>> {
        let (rows, total) = self.list_rows(&APPS, &view_filter(view), q).await?;
        Ok(Page {
            items: self.apps_from_rows(rows).await?,
            total,
        })
    }

    /// Links first go, then the row changes (possibly its account source), then the
    /// new links are written: the composite references hold at every statement.
    pub(super) async fn source_apps_update(
        &self,
        updates: &[(String, SourceAppDraft)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for (id, d) in updates {
            sqlx::query("DELETE FROM source_app_access_profiles WHERE app_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "UPDATE source_apps SET name = $1, description = $2, owner_id = $3, \
                 account_source_id = $4, enabled = $5, provision_request_enabled = $6, \
                 app_center_enabled = $7, match_all_accounts = $8, modified = $9 WHERE id = $10",
            )
            .bind(&d.name)
            .bind(&d.description)
            .bind(&d.owner_id)
            .bind(&d.account_source_id)
            .bind(d.enabled)
            .bind(d.provision_request_enabled)
            .bind(d.app_center_enabled)
            .bind(d.match_all_accounts)
            .bind(format_timestamp(&now))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, String::new))?;
            if done.rows_affected() == 0 {
                return Err(not_found("source app", id));
            }
            Self::write_app_links(&mut tx, id, d).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn source_app_existing_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        Ok(self
            .named_refs("source_apps", ids)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }

    /// The links go with the row (`ON DELETE CASCADE`); the profiles stay.
    pub(super) async fn source_app_delete(&self, id: &str) -> StoreResult<SourceApp> {
        let app = self.source_app_get(id).await?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM source_apps WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found("source app", id));
        }
        tx.commit().await?;
        Ok(app)
    }

    pub(super) async fn source_app_profiles(
        &self,
        app_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<AppAccessProfile>> {
        // 404 for an unknown app rather than an empty list.
        self.source_app_existing_ids(&[app_id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| not_found("source app", app_id))?;
        let listing = Listing {
            cols: &format!("{AP_COLS}, s.num_id AS source_num_id"),
            from: &format!("{AP_FROM}{APP_PROFILE_JOIN}"),
            count_from: &format!("{}{APP_PROFILE_JOIN}", ACCESS_PROFILES.count_from),
            key: ACCESS_PROFILES.key,
        };
        let (rows, total) = self
            .list_rows(&listing, &id_filter("l.app_id", app_id), q)
            .await?;
        let nums = rows
            .iter()
            .map(|r| r.try_get::<i64, _>("source_num_id"))
            .collect::<Result<Vec<_>, _>>()?;
        let profiles = self.access_profiles_from_rows(rows).await?;
        Ok(Page {
            items: profiles
                .into_iter()
                .zip(nums)
                .map(|(profile, source_num_id)| AppAccessProfile {
                    profile,
                    source_num_id,
                })
                .collect(),
            total,
        })
    }

    pub(super) async fn source_app_remove_profiles(
        &self,
        app_id: &str,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let touched = sqlx::query("UPDATE source_apps SET modified = $1 WHERE id = $2")
            .bind(format_timestamp(&now))
            .bind(app_id)
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Err(not_found("source app", app_id));
        }
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT access_profile_id FROM source_app_access_profiles WHERE app_id = ",
        );
        qb.push_bind(app_id).push(" AND access_profile_id IN (");
        push_id_list(&mut qb, ids);
        let held: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !held.contains(id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            // Nothing is removed, and the `modified` touch is undone.
            tx.rollback().await?;
            return Ok(missing);
        }
        let mut qb =
            QueryBuilder::<Db>::new("DELETE FROM source_app_access_profiles WHERE app_id = ");
        qb.push_bind(app_id).push(" AND access_profile_id IN (");
        push_id_list(&mut qb, ids);
        qb.build().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Vec::new())
    }
}
