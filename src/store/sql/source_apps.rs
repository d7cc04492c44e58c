//! Source apps in SQL: the app row and its access-profile links (in order). The links
//! carry the source id so the database enforces "an app only holds profiles of its
//! account source" (migration 0003).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::access_profiles::{access_profiles_from_rows, ACCESS_PROFILES, AP_COLUMNS, AP_FROM};
use super::*;
use crate::domain::model::*;
use crate::query::format_timestamp;
use crate::store::{SourceAppStore, SourceAppView};

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
    columns: &APP_COLUMNS,
};

/// The fields of the source-app lists, on `source_apps a`.
pub(super) static APP_COLUMNS: Columns = Columns {
    key: "a.id",
    fields: &[
        ("id", not_null("a.id")),
        ("name", not_null("a.name")),
        ("created", not_null("a.created")),
        ("modified", not_null("a.modified")),
        ("owner.id", not_null("a.owner_id")),
        ("accountSource.id", not_null("a.account_source_id")),
        ("enabled", not_null("a.enabled")),
    ],
    base: None,
};

/// The fields of listAccessProfilesForSourceApp: a profile's, and `position`, the
/// app's own order (its links `source_app_access_profiles l`).
pub(super) static APP_PROFILE_COLUMNS: Columns = Columns {
    key: "ap.id",
    fields: &[("position", not_null("l.position"))],
    base: Some(&AP_COLUMNS),
};

/// An app's profiles with their source's numeric id, joined with the app's links `l`.
const APP_PROFILE_JOIN: &str = " JOIN source_app_access_profiles l ON l.access_profile_id = ap.id";

fn app_row(r: &Row) -> StoreResult<SourceApp> {
    Ok(SourceApp {
        id: r.get("id")?,
        num_id: r.get("num_id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        owner: NamedRef {
            id: r.get("owner_id")?,
            name: r.get("owner_name")?,
        },
        account_source: NamedRef {
            id: r.get("account_source_id")?,
            name: r.get("source_name")?,
        },
        enabled: r.get("enabled")?,
        provision_request_enabled: r.get("provision_request_enabled")?,
        app_center_enabled: r.get("app_center_enabled")?,
        match_all_accounts: r.get("match_all_accounts")?,
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
            SqlPiece::Bind(Param::Bool(true)),
            SqlPiece::Sql(" AND a.provision_request_enabled = ".into()),
            SqlPiece::Bind(Param::Bool(true)),
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
                SqlPiece::Bind(Param::Bool(true)),
                SqlPiece::Sql(" AND ap.requestable = ".into()),
                SqlPiece::Bind(Param::Bool(true)),
                SqlPiece::Sql(")".into()),
            ]);
            pieces
        }
    }
}

/// Writes an app's links as the draft's, in the draft's order (the old ones are gone).
async fn write_app_links(ex: &mut dyn Executor, id: &str, d: &SourceAppDraft) -> StoreResult<()> {
    for (pos, ap) in d.access_profile_ids.iter().enumerate() {
        ex.execute(
            "INSERT INTO source_app_access_profiles (app_id, source_id, access_profile_id, \
             position) VALUES ($1, $2, $3, $4)",
            params![id, d.account_source_id, ap, pos as i64],
        )
        .await
        .map_err(|e| missing_reference(e, "access profile"))?;
    }
    Ok(())
}

impl SqlStore {
    /// App rows with their access-profile ids attached (one query per page).
    async fn apps_from_rows(&self, rows: Vec<Row>) -> StoreResult<Vec<SourceApp>> {
        let mut apps = rows.iter().map(app_row).collect::<StoreResult<Vec<_>>>()?;
        if apps.is_empty() {
            return Ok(apps);
        }
        let index: HashMap<String, usize> = apps
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        let mut sql = Sql::new(
            "SELECT l.app_id, l.access_profile_id FROM source_app_access_profiles l \
             WHERE l.app_id IN (",
        );
        sql.push_ids(index.keys())
            .push(" ORDER BY l.app_id, l.position");
        for r in self.db.fetch_all(&sql.text, sql.params).await? {
            let app_id: String = r.get(0)?;
            if let Some(&i) = index.get(&app_id) {
                apps[i].access_profile_ids.push(r.get(1)?);
            }
        }
        Ok(apps)
    }
}

#[async_trait]
impl SourceAppStore for SqlStore {
    async fn resolve_source_app_refs(&self, d: &SourceAppDraft) -> StoreResult<SourceAppRefFacts> {
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

    async fn insert_source_app(
        &self,
        d: &SourceAppDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<SourceApp> {
        let id = crate::domain::new_id();
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO source_apps (id, num_id, name, description, owner_id, \
             account_source_id, enabled, provision_request_enabled, app_center_enabled, \
             match_all_accounts, created, modified) \
             VALUES ($1, (SELECT COALESCE(MAX(num_id), 0) + 1 FROM source_apps), \
             $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            params![
                id,
                d.name,
                d.description,
                d.owner_id,
                d.account_source_id,
                d.enabled,
                d.provision_request_enabled,
                d.app_center_enabled,
                d.match_all_accounts,
                format_timestamp(&now),
                format_timestamp(&now),
            ],
        )
        .await
        .map_err(|e| missing_reference(e, "access profile"))?;
        write_app_links(&mut *tx, &id, d).await?;
        tx.commit().await?;
        self.get_source_app(&id).await
    }

    async fn get_source_app(&self, id: &str) -> StoreResult<SourceApp> {
        let rows = self.first_row(&APPS, &id_filter("a.id", id)).await?;
        self.apps_from_rows(rows)
            .await?
            .pop()
            .ok_or_else(|| not_found("source app", id))
    }

    async fn list_source_apps(
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
    async fn update_source_apps(
        &self,
        updates: &[(String, SourceAppDraft)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        for (id, d) in updates {
            tx.execute(
                "DELETE FROM source_app_access_profiles WHERE app_id = $1",
                params![id],
            )
            .await?;
            let done = tx
                .execute(
                    "UPDATE source_apps SET name = $1, description = $2, owner_id = $3, \
                     account_source_id = $4, enabled = $5, provision_request_enabled = $6, \
                     app_center_enabled = $7, match_all_accounts = $8, modified = $9 \
                     WHERE id = $10",
                    params![
                        d.name,
                        d.description,
                        d.owner_id,
                        d.account_source_id,
                        d.enabled,
                        d.provision_request_enabled,
                        d.app_center_enabled,
                        d.match_all_accounts,
                        format_timestamp(&now),
                        id,
                    ],
                )
                .await
                .map_err(|e| missing_reference(e, "access profile"))?;
            if done == 0 {
                return Err(not_found("source app", id));
            }
            write_app_links(&mut *tx, id, d).await?;
        }
        tx.commit().await
    }

    async fn existing_source_app_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        self.existing_ids("source_apps", ids).await
    }

    /// The links go with the row (`ON DELETE CASCADE`); the profiles stay.
    async fn delete_source_app(&self, id: &str) -> StoreResult<SourceApp> {
        let app = self.get_source_app(id).await?;
        let mut tx = self.db.begin_write().await?;
        let done = delete_by_id(&mut *tx, "source_apps", id).await?;
        if done == 0 {
            return Err(not_found("source app", id));
        }
        tx.commit().await?;
        Ok(app)
    }

    async fn list_source_app_access_profiles(
        &self,
        app_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<AppAccessProfile>> {
        // 404 for an unknown app rather than an empty list.
        self.existing_source_app_ids(&[app_id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| not_found("source app", app_id))?;
        let listing = Listing {
            cols: &format!("{}, s.num_id AS source_num_id", self.ap_cols),
            from: &format!("{AP_FROM}{APP_PROFILE_JOIN}"),
            count_from: &format!("{}{APP_PROFILE_JOIN}", ACCESS_PROFILES.count_from),
            columns: &APP_PROFILE_COLUMNS,
        };
        let (rows, total) = self
            .list_rows(&listing, &id_filter("l.app_id", app_id), q)
            .await?;
        let nums = rows
            .iter()
            .map(|r| r.get::<i64>("source_num_id"))
            .collect::<StoreResult<Vec<_>>>()?;
        let profiles = access_profiles_from_rows(rows)?;
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

    async fn remove_source_app_access_profiles(
        &self,
        app_id: &str,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.db.begin_write().await?;
        let touched = tx
            .execute(
                "UPDATE source_apps SET modified = $1 WHERE id = $2",
                params![format_timestamp(&now), app_id],
            )
            .await?;
        if touched == 0 {
            return Err(not_found("source app", app_id));
        }
        let mut sql =
            Sql::new("SELECT access_profile_id FROM source_app_access_profiles WHERE app_id = ");
        sql.bind(app_id)
            .push(" AND access_profile_id IN (")
            .push_ids(ids);
        let held = tx
            .fetch_all(&sql.text, sql.params)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect::<StoreResult<Vec<String>>>()?;
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
        let mut sql = Sql::new("DELETE FROM source_app_access_profiles WHERE app_id = ");
        sql.bind(app_id)
            .push(" AND access_profile_id IN (")
            .push_ids(ids);
        tx.execute(&sql.text, sql.params).await?;
        tx.commit().await?;
        Ok(Vec::new())
    }
}
