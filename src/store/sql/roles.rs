//! Roles in SQLite: the role row, its access-profile and entitlement links (in order).

use super::*;

const ROLE_COLS: &str = "SELECT r.id, r.name, r.description, r.owner_id, o.name AS owner_name, \
     r.enabled, r.requestable, r.dimensional, r.doc, r.created, r.modified";
const ROLE_FROM: &str = " FROM roles r JOIN identities o ON o.id = r.owner_id";

const ROLES: Listing = Listing {
    cols: ROLE_COLS,
    from: ROLE_FROM,
    count_from: " FROM roles r",
    key: "r.id",
};

/// The links of the roles in a page: `(role id, referenced id, referenced name)`; the
/// caller appends the bound ids and the order (each role's own).
const AP_LINKS: &str = "SELECT l.role_id, x.id, x.name FROM role_access_profiles l \
     JOIN access_profiles x ON x.id = l.access_profile_id WHERE l.role_id IN (";
const ENTITLEMENT_LINKS: &str = "SELECT l.role_id, x.id, x.name FROM role_entitlements l \
     JOIN entitlements x ON x.id = l.entitlement_id WHERE l.role_id IN (";

fn role_row(r: &DbRow) -> StoreResult<Role> {
    Ok(Role {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        owner: NamedRef {
            id: r.try_get("owner_id")?,
            name: r.try_get("owner_name")?,
        },
        access_profiles: Vec::new(),
        entitlements: Vec::new(),
        enabled: r.try_get("enabled")?,
        requestable: r.try_get("requestable")?,
        dimensional: r.try_get("dimensional")?,
        doc: json_col::<Map<String, Value>>(r, "doc")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn role_name_taken(name: &str) -> String {
    format!("A role named '{name}' already exists.")
}

impl SqlStore {
    /// `(role id, ref)` for every link of `select` (one of the `*_LINKS` queries).
    async fn role_links(
        &self,
        select: &'static str,
        role_ids: &[String],
    ) -> StoreResult<Vec<(String, NamedRef)>> {
        if role_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(select);
        push_id_list(&mut qb, role_ids);
        qb.push(" ORDER BY l.role_id, l.position");
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0)?,
                    NamedRef {
                        id: r.try_get(1)?,
                        name: r.try_get(2)?,
                    },
                ))
            })
            .collect()
    }

    /// Role rows with their access profiles and entitlements attached (two queries per
    /// page, whatever its size).
    async fn roles_from_rows(&self, rows: Vec<DbRow>) -> StoreResult<Vec<Role>> {
        let mut roles = rows.iter().map(role_row).collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        for (role_id, ap) in self.role_links(AP_LINKS, &ids).await? {
            if let Some(role) = index.get(role_id.as_str()).and_then(|&i| roles.get_mut(i)) {
                role.access_profiles.push(ap);
            }
        }
        for (role_id, ent) in self.role_links(ENTITLEMENT_LINKS, &ids).await? {
            if let Some(role) = index.get(role_id.as_str()).and_then(|&i| roles.get_mut(i)) {
                role.entitlements.push(ent);
            }
        }
        Ok(roles)
    }

    /// Replaces a role's links with the draft's, keeping the draft's order. A profile or
    /// entitlement deleted since the draft was checked fails the foreign key (400).
    async fn write_role_links(
        tx: &mut sqlx::Transaction<'static, Db>,
        id: &str,
        d: &RoleDraft,
    ) -> StoreResult<()> {
        for table in ["role_access_profiles", "role_entitlements"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE role_id = $1"))
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        for (pos, ap) in d.access_profile_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO role_access_profiles (role_id, access_profile_id, position) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(ap)
            .bind(pos as i64)
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict(e, String::new))?;
        }
        for (pos, ent) in d.entitlement_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO role_entitlements (role_id, entitlement_id, position) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(ent)
            .bind(pos as i64)
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict(e, String::new))?;
        }
        Ok(())
    }

    /// The rows among `ids` of `SELECT id, name FROM {table}` (one indexed query).
    pub(super) async fn named_refs(
        &self,
        table: &'static str,
        ids: &[String],
    ) -> StoreResult<Vec<NamedRef>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT id, name FROM {table} WHERE id IN ("));
        push_id_list(&mut qb, ids);
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(NamedRef {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// `(id and name, source id)` of the rows among `ids` of `table` (entitlements or
    /// access profiles), one indexed query.
    pub(super) async fn refs_with_sources(
        &self,
        table: &'static str,
        ids: &[String],
    ) -> StoreResult<Vec<(NamedRef, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT id, name, source_id FROM {table} WHERE id IN ("
        ));
        push_id_list(&mut qb, ids);
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    NamedRef {
                        id: r.try_get(0)?,
                        name: r.try_get(1)?,
                    },
                    r.try_get(2)?,
                ))
            })
            .collect()
    }

    pub(super) async fn role_refs(&self, d: &RoleDraft) -> StoreResult<RoleRefFacts> {
        let owner = self
            .named_refs("identities", std::slice::from_ref(&d.owner_id))
            .await?
            .pop();
        Ok(RoleRefFacts {
            owner,
            access_profiles: self.existing_access_profiles(&d.access_profile_ids).await?,
            entitlements: self.named_refs("entitlements", &d.entitlement_ids).await?,
        })
    }

    pub(super) async fn role_insert(&self, d: &RoleDraft, now: DateTime<Utc>) -> StoreResult<Role> {
        let id = crate::domain::new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO roles (id, name, description, owner_id, enabled, requestable, \
             dimensional, doc, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.owner_id)
        .bind(d.enabled)
        .bind(d.requestable)
        .bind(d.dimensional)
        .bind(Value::Object(d.doc.clone()).to_string())
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, || role_name_taken(&d.name)))?;
        Self::write_role_links(&mut tx, &id, d).await?;
        tx.commit().await?;
        self.role_get(&id).await
    }

    pub(super) async fn role_update(
        &self,
        id: &str,
        d: &RoleDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Role> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE roles SET name = $1, description = $2, owner_id = $3, enabled = $4, \
             requestable = $5, dimensional = $6, doc = $7, modified = $8 WHERE id = $9",
        )
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.owner_id)
        .bind(d.enabled)
        .bind(d.requestable)
        .bind(d.dimensional)
        .bind(Value::Object(d.doc.clone()).to_string())
        .bind(format_timestamp(&now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, || role_name_taken(&d.name)))?;
        if done.rows_affected() == 0 {
            return Err(not_found("role", id));
        }
        Self::write_role_links(&mut tx, id, d).await?;
        tx.commit().await?;
        self.role_get(id).await
    }

    pub(super) async fn role_get(&self, id: &str) -> StoreResult<Role> {
        let (rows, _) = self
            .list_rows(&ROLES, &id_filter("r.id", id), &one_page())
            .await?;
        self.roles_from_rows(rows)
            .await?
            .pop()
            .ok_or_else(|| not_found("role", id))
    }

    pub(super) async fn role_list(
        &self,
        sources: Option<&[String]>,
        q: &ListQuery,
    ) -> StoreResult<Page<Role>> {
        let fixed = match sources {
            None => Vec::new(),
            // No profile of the role lies outside `sources` (indexed by role_id).
            Some(ids) => {
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
        let (rows, total) = self.list_rows(&ROLES, &fixed, q).await?;
        Ok(Page {
            items: self.roles_from_rows(rows).await?,
            total,
        })
    }

    /// The links go with the row (`ON DELETE CASCADE`).
    pub(super) async fn role_delete(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM roles WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found("role", id));
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn role_existing_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        Ok(self
            .named_refs("roles", ids)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }
}
