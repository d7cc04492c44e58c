//! Roles in SQL: the role row, its access-profile and entitlement links (in order).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::segments::{segment_view_filter_on, SegmentLinks};
use super::*;
use crate::domain::model::*;
use crate::domain::scope::Scope;
use crate::domain::segment::SegmentView;
use crate::query::format_timestamp;
use crate::store::{AccessProfileStore, RoleStore};

const ROLE_COLS: &str = "SELECT r.id, r.name, r.description, r.owner_id, o.name AS owner_name, \
     r.enabled, r.requestable, r.dimensional, r.doc, r.created, r.modified";
const ROLE_FROM: &str = " FROM roles r JOIN identities o ON o.id = r.owner_id";

pub(super) const ROLES: Listing = Listing {
    cols: ROLE_COLS,
    from: ROLE_FROM,
    count_from: " FROM roles r",
    columns: &ROLE_COLUMNS,
};

/// The fields of listRoles, on `roles r`.
pub(super) static ROLE_COLUMNS: Columns = Columns {
    key: "r.id",
    fields: &[
        ("id", not_null("r.id")),
        ("name", not_null("r.name")),
        ("created", not_null("r.created")),
        ("modified", not_null("r.modified")),
        ("owner.id", not_null("r.owner_id")),
        ("requestable", not_null("r.requestable")),
        ("dimensional", not_null("r.dimensional")),
    ],
    base: None,
};

/// The links of the roles in a page: `(role id, referenced id, referenced name)`; the
/// bound ids and the order (each role's own) follow.
const AP_LINKS: &str = "SELECT l.role_id, x.id, x.name FROM role_access_profiles l \
     JOIN access_profiles x ON x.id = l.access_profile_id WHERE l.role_id IN (";
const ENTITLEMENT_LINKS: &str = "SELECT l.role_id, x.id, x.name FROM role_entitlements l \
     JOIN entitlements x ON x.id = l.entitlement_id WHERE l.role_id IN (";
const LINK_ORDER: &str = " ORDER BY l.role_id, l.position";

/// A role's segment links (`role_segments`, migration 0008), for segment views.
const ROLE_SEGMENT_LINKS: SegmentLinks = SegmentLinks {
    table: "role_segments",
    owner_col: "role_id",
    outer_key: "r.id",
};

/// `(role id, segment id)` for every segment of these roles, in each role's order.
async fn role_segment_links(
    ex: &mut dyn Executor,
    role_ids: &[String],
) -> StoreResult<Vec<(String, String)>> {
    if role_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT role_id, segment_id FROM role_segments WHERE role_id IN (");
    sql.push_ids(role_ids).push(" ORDER BY role_id, position");
    let rows = ex.fetch_all(&sql.text, sql.params).await?;
    rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

fn role_row(r: &Row) -> StoreResult<Role> {
    Ok(Role {
        id: r.get("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        owner: NamedRef {
            id: r.get("owner_id")?,
            name: r.get("owner_name")?,
        },
        access_profiles: Vec::new(),
        entitlements: Vec::new(),
        segments: Vec::new(),
        enabled: r.get("enabled")?,
        requestable: r.get("requestable")?,
        dimensional: r.get("dimensional")?,
        doc: json_col::<Map<String, Value>>(r, "doc")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

/// Replaces a role's links with the draft's, keeping the draft's order. A profile,
/// entitlement or segment deleted since the draft was checked fails the foreign key
/// (400).
async fn write_role_links(ex: &mut dyn Executor, id: &str, d: &RoleDraft) -> StoreResult<()> {
    for table in ["role_access_profiles", "role_entitlements", "role_segments"] {
        ex.execute(
            &format!("DELETE FROM {table} WHERE role_id = $1"),
            params![id],
        )
        .await?;
    }
    for (pos, ap) in d.access_profile_ids.iter().enumerate() {
        ex.execute(
            "INSERT INTO role_access_profiles (role_id, access_profile_id, position) \
             VALUES ($1, $2, $3)",
            params![id, ap, pos as i64],
        )
        .await
        .map_err(|e| missing_reference(e, "access profile or entitlement"))?;
    }
    for (pos, ent) in d.entitlement_ids.iter().enumerate() {
        ex.execute(
            "INSERT INTO role_entitlements (role_id, entitlement_id, position) \
             VALUES ($1, $2, $3)",
            params![id, ent, pos as i64],
        )
        .await
        .map_err(|e| missing_reference(e, "access profile or entitlement"))?;
    }
    for (pos, segment) in d.segment_ids.iter().enumerate() {
        ex.execute(
            "INSERT INTO role_segments (role_id, segment_id, position) VALUES ($1, $2, $3)",
            params![id, segment, pos as i64],
        )
        .await
        .map_err(|e| missing_reference(e, "segment"))?;
    }
    Ok(())
}

impl SqlStore {
    /// Role rows with their access profiles, entitlements and segments attached (three
    /// queries per page, whatever its size).
    async fn roles_from_rows(&self, rows: Vec<Row>) -> StoreResult<Vec<Role>> {
        let mut roles = rows.iter().map(role_row).collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        for (role_id, ap) in link_refs(&mut Pooled(&*self.db), AP_LINKS, &ids, LINK_ORDER).await? {
            if let Some(role) = index.get(role_id.as_str()).and_then(|&i| roles.get_mut(i)) {
                role.access_profiles.push(ap);
            }
        }
        for (role_id, ent) in
            link_refs(&mut Pooled(&*self.db), ENTITLEMENT_LINKS, &ids, LINK_ORDER).await?
        {
            if let Some(role) = index.get(role_id.as_str()).and_then(|&i| roles.get_mut(i)) {
                role.entitlements.push(ent);
            }
        }
        for (role_id, segment) in role_segment_links(&mut Pooled(&*self.db), &ids).await? {
            if let Some(role) = index.get(role_id.as_str()).and_then(|&i| roles.get_mut(i)) {
                role.segments.push(segment);
            }
        }
        Ok(roles)
    }
}

/// The access profiles among `ids` on sources outside `scope` (one indexed query).
async fn profiles_outside(
    ex: &mut dyn Executor,
    scope: &Scope,
    ids: &[String],
) -> StoreResult<Vec<String>> {
    let select = "SELECT id, source_id FROM access_profiles WHERE id IN (";
    outside_scope(ex, scope, select, ids, "").await
}

/// The access profiles of the roles `role_ids` on sources outside `scope`: one query
/// over all their links, however many roles.
async fn roles_profiles_outside(
    ex: &mut dyn Executor,
    scope: &Scope,
    role_ids: &[String],
) -> StoreResult<Vec<String>> {
    let select = "SELECT x.id, x.source_id FROM role_access_profiles l \
         JOIN access_profiles x ON x.id = l.access_profile_id WHERE l.role_id IN (";
    outside_scope(
        ex,
        scope,
        select,
        role_ids,
        " ORDER BY l.role_id, l.position",
    )
    .await
}

/// Runs `select` (`(profile id, source id)` rows, ending in `IN (`) over `ids` and
/// keeps the profiles whose source is outside `scope`; nothing to read for `All`.
async fn outside_scope(
    ex: &mut dyn Executor,
    scope: &Scope,
    select: &str,
    ids: &[String],
    order: &str,
) -> StoreResult<Vec<String>> {
    let Scope::Sources(sources) = scope else {
        return Ok(Vec::new());
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(select);
    sql.push_ids(ids).push(order);
    outside_of(ex.fetch_all(&sql.text, sql.params).await?, sources)
}

/// The ids of `(id, source id)` rows whose source is not among `sources`, once each.
fn outside_of(rows: Vec<Row>, sources: &[String]) -> StoreResult<Vec<String>> {
    let mut outside: Vec<String> = Vec::new();
    for r in rows {
        let id: String = r.get(0)?;
        if !sources.contains(&r.get::<String>(1)?) && !outside.contains(&id) {
            outside.push(id);
        }
    }
    Ok(outside)
}

fn refuse_outside(ids: Vec<String>) -> StoreResult<()> {
    if ids.is_empty() {
        Ok(())
    } else {
        Err(StoreError::OutsideScopeIds {
            kind: "access profile",
            ids,
        })
    }
}

#[async_trait]
impl RoleStore for SqlStore {
    async fn resolve_role_refs(&self, d: &RoleDraft) -> StoreResult<RoleRefFacts> {
        let owner = self
            .named_refs("identities", std::slice::from_ref(&d.owner_id))
            .await?
            .pop();
        Ok(RoleRefFacts {
            owner,
            access_profiles: self.existing_access_profiles(&d.access_profile_ids).await?,
            entitlements: self.named_refs("entitlements", &d.entitlement_ids).await?,
            segments: self.existing_ids("segments", &d.segment_ids).await?,
        })
    }

    async fn insert_role(
        &self,
        scope: &Scope,
        d: &RoleDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Role> {
        let id = crate::domain::new_id();
        let mut tx = self.db.begin_write().await?;
        refuse_outside(profiles_outside(&mut *tx, scope, &d.access_profile_ids).await?)?;
        tx.execute(
            "INSERT INTO roles (id, name, description, owner_id, enabled, requestable, \
             dimensional, doc, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            params![
                id,
                d.name,
                d.description,
                d.owner_id,
                d.enabled,
                d.requestable,
                d.dimensional,
                Value::Object(d.doc.clone()).to_string(),
                format_timestamp(&now),
                format_timestamp(&now),
            ],
        )
        .await
        .map_err(|e| conflict(e, "role", "name", &d.name))?;
        write_role_links(&mut *tx, &id, d).await?;
        tx.commit().await?;
        self.get_role(scope, &id).await
    }

    async fn update_role(
        &self,
        scope: &Scope,
        id: &str,
        d: &RoleDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Role> {
        let mut tx = self.db.begin_write().await?;
        refuse_outside(
            roles_profiles_outside(&mut *tx, scope, std::slice::from_ref(&id.to_string())).await?,
        )?;
        refuse_outside(profiles_outside(&mut *tx, scope, &d.access_profile_ids).await?)?;
        let done = tx
            .execute(
                "UPDATE roles SET name = $1, description = $2, owner_id = $3, enabled = $4, \
                 requestable = $5, dimensional = $6, doc = $7, modified = $8 WHERE id = $9",
                params![
                    d.name,
                    d.description,
                    d.owner_id,
                    d.enabled,
                    d.requestable,
                    d.dimensional,
                    Value::Object(d.doc.clone()).to_string(),
                    format_timestamp(&now),
                    id,
                ],
            )
            .await
            .map_err(|e| conflict(e, "role", "name", &d.name))?;
        if done == 0 {
            return Err(not_found("role", id));
        }
        write_role_links(&mut *tx, id, d).await?;
        tx.commit().await?;
        self.get_role(scope, id).await
    }

    async fn get_role(&self, scope: &Scope, id: &str) -> StoreResult<Role> {
        let rows = self.first_row(&ROLES, &id_filter("r.id", id)).await?;
        let role = self
            .roles_from_rows(rows)
            .await?
            .pop()
            .ok_or_else(|| not_found("role", id))?;
        if let Scope::Sources(sources) = scope {
            // The profiles' sources are one indexed query away; the role is read.
            let ids: Vec<String> = role.access_profiles.iter().map(|r| r.id.clone()).collect();
            let mut ex = Pooled(&*self.db);
            refuse_outside(
                profiles_outside(&mut ex, &Scope::Sources(sources.clone()), &ids).await?,
            )?;
        }
        Ok(role)
    }

    async fn list_roles(
        &self,
        scope: &Scope,
        view: Option<&SegmentView>,
        q: &ListQuery,
    ) -> StoreResult<Page<Role>> {
        let mut fixed = match scope {
            Scope::All => Vec::new(),
            // No profile of the role lies outside `sources` (indexed by role_id).
            Scope::Sources(ids) => {
                let mut pieces = vec![SqlPiece::Sql(
                    "NOT EXISTS (SELECT 1 FROM role_access_profiles l JOIN access_profiles x \
                     ON x.id = l.access_profile_id WHERE l.role_id = r.id AND NOT ("
                        .into(),
                )];
                pieces.extend(in_filter("x.source_id", ids));
                pieces.push(SqlPiece::Sql("))".into()));
                pieces
            }
        };
        if let Some(view) = view {
            if !fixed.is_empty() {
                fixed.push(SqlPiece::Sql(" AND ".into()));
            }
            fixed.push(SqlPiece::Sql("(".into()));
            fixed.extend(segment_view_filter_on(ROLE_SEGMENT_LINKS, view));
            fixed.push(SqlPiece::Sql(")".into()));
        }
        let (rows, total) = self.list_rows(&ROLES, &fixed, q).await?;
        Ok(Page {
            items: self.roles_from_rows(rows).await?,
            total,
        })
    }

    /// The links go with the row (`ON DELETE CASCADE`).
    async fn delete_role(&self, scope: &Scope, id: &str) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        refuse_outside(
            roles_profiles_outside(&mut *tx, scope, std::slice::from_ref(&id.to_string())).await?,
        )?;
        let done = delete_by_id(&mut *tx, "roles", id).await?;
        if done == 0 {
            return Err(not_found("role", id));
        }
        tx.commit().await
    }

    async fn existing_role_ids(&self, scope: &Scope, ids: &[String]) -> StoreResult<Vec<String>> {
        let existing = self.existing_ids("roles", ids).await?;
        refuse_outside(roles_profiles_outside(&mut Pooled(&*self.db), scope, &existing).await?)?;
        Ok(existing)
    }
}
