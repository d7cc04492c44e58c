//! The directory in SQL: identities, governance groups and their members, sources and
//! their entitlements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::tasks::insert_task_in;
use super::*;
use crate::domain::model::*;
use crate::domain::scope::Scope;
use crate::domain::task::TaskRecord;
use crate::query::format_timestamp;
use crate::store::DirectoryStore;

const IDENTITY_FROM: &str = " FROM identities i LEFT JOIN identities mg ON mg.id = i.manager_id";
const IDENTITY_COLS: &str = "SELECT i.id, i.name, i.alias, i.first_name, i.last_name, i.email, \
     i.cloud_status, i.processing_state, i.correlated, i.protected, i.is_manager, i.manager_id, \
     mg.name AS manager_name, i.authorities, i.created, i.modified";
const GROUP_COLS: &str = "SELECT g.id, g.name, g.description, g.owner_id, o.name AS owner_name, \
     (SELECT COUNT(*) FROM governance_group_members m WHERE m.group_id = g.id) AS member_count, \
     g.created, g.modified";
const GROUP_FROM: &str = " FROM governance_groups g LEFT JOIN identities o ON o.id = g.owner_id";
const SOURCE_COLS: &str = "SELECT s.id, s.num_id, s.name, s.description, s.owner_id, \
     o.name AS owner_name, s.management_workgroup_id, w.name AS workgroup_name, s.type, \
     s.connector, s.connector_name, s.connection_type, s.authoritative, s.healthy, s.status, \
     s.features, s.doc, s.created, s.modified";
const SOURCE_FROM: &str = " FROM sources s JOIN identities o ON o.id = s.owner_id \
     LEFT JOIN governance_groups w ON w.id = s.management_workgroup_id";
pub(super) const ENTITLEMENT_COLS: &str = "SELECT e.id, e.source_id, s.name AS source_name, \
     e.name, e.attribute, e.value, e.type, e.description, e.privileged, e.requestable, \
     e.owner_id, o.name AS owner_name, e.created, e.modified";
pub(super) const ENTITLEMENT_FROM: &str = " FROM entitlements e \
     JOIN sources s ON s.id = e.source_id LEFT JOIN identities o ON o.id = e.owner_id";

const IDENTITIES: Listing = Listing {
    cols: IDENTITY_COLS,
    from: IDENTITY_FROM,
    count_from: " FROM identities i",
    columns: &IDENTITY_COLUMNS,
};
const GROUPS: Listing = Listing {
    cols: GROUP_COLS,
    from: GROUP_FROM,
    count_from: " FROM governance_groups g",
    columns: &GROUP_COLUMNS,
};
const SOURCES: Listing = Listing {
    cols: SOURCE_COLS,
    from: SOURCE_FROM,
    count_from: " FROM sources s",
    columns: &SOURCE_COLUMNS,
};
pub(super) const ENTITLEMENTS: Listing = Listing {
    cols: ENTITLEMENT_COLS,
    from: ENTITLEMENT_FROM,
    count_from: " FROM entitlements e",
    columns: &ENTITLEMENT_COLUMNS,
};

/// The fields of listIdentities and getPublicIdentities, on `identities i`.
pub(super) static IDENTITY_COLUMNS: Columns = Columns {
    key: "i.id",
    fields: &[
        ("id", not_null("i.id")),
        ("name", not_null("i.name")),
        ("alias", not_null("i.alias")),
        ("firstname", nullable("i.first_name")),
        ("lastname", nullable("i.last_name")),
        ("email", nullable("i.email")),
        ("cloudStatus", not_null("i.cloud_status")),
        ("processingState", nullable("i.processing_state")),
        ("correlated", not_null("i.correlated")),
        ("protected", not_null("i.protected")),
    ],
    base: None,
};

/// The fields of listWorkgroupMembers: an identity's, joined with its membership
/// `governance_group_members m`.
pub(super) static MEMBER_COLUMNS: Columns = Columns {
    key: "i.id",
    fields: &[
        ("name", not_null("i.name")),
        ("created", not_null("m.created")),
        ("modified", not_null("i.modified")),
    ],
    base: None,
};

/// The fields of listWorkgroups, on `governance_groups g`.
pub(super) static GROUP_COLUMNS: Columns = Columns {
    key: "g.id",
    fields: &[
        ("id", not_null("g.id")),
        ("name", not_null("g.name")),
        (
            "memberships.identityId",
            Column::Subquery {
                outer_col: "g.id",
                table: "governance_group_members",
                select_col: "group_id",
                where_col: "identity_id",
            },
        ),
        ("created", not_null("g.created")),
        ("modified", not_null("g.modified")),
        ("description", nullable("g.description")),
    ],
    base: None,
};

/// The fields of listSources, on `sources s`.
pub(super) static SOURCE_COLUMNS: Columns = Columns {
    key: "s.id",
    fields: &[
        ("id", not_null("s.id")),
        ("name", not_null("s.name")),
        ("type", nullable("s.type")),
        ("owner.id", not_null("s.owner_id")),
        ("created", not_null("s.created")),
        ("modified", not_null("s.modified")),
        (
            "managementWorkgroup.id",
            nullable("s.management_workgroup_id"),
        ),
        ("description", nullable("s.description")),
        ("authoritative", not_null("s.authoritative")),
        ("healthy", not_null("s.healthy")),
        ("status", not_null("s.status")),
        ("connectionType", nullable("s.connection_type")),
        ("connectorName", nullable("s.connector_name")),
    ],
    base: None,
};

/// The fields of listEntitlements, on `entitlements e`.
pub(super) static ENTITLEMENT_COLUMNS: Columns = Columns {
    key: "e.id",
    fields: &[
        ("id", not_null("e.id")),
        ("name", not_null("e.name")),
        ("type", not_null("e.type")),
        ("attribute", not_null("e.attribute")),
        ("value", not_null("e.value")),
        ("source.id", not_null("e.source_id")),
        ("requestable", not_null("e.requestable")),
        ("created", not_null("e.created")),
        ("modified", not_null("e.modified")),
        ("owner.id", nullable("e.owner_id")),
    ],
    base: None,
};

/// Members of a governance group (identities joined with memberships).
const MEMBER_JOIN: &str = " JOIN governance_group_members m ON m.identity_id = i.id";

fn identity_row(r: &Row) -> StoreResult<Identity> {
    Ok(Identity {
        id: r.get("id")?,
        name: r.get("name")?,
        alias: r.get("alias")?,
        first_name: r.get("first_name")?,
        last_name: r.get("last_name")?,
        email: r.get("email")?,
        cloud_status: r.get("cloud_status")?,
        processing_state: r.get("processing_state")?,
        correlated: r.get("correlated")?,
        protected: r.get("protected")?,
        is_manager: r.get("is_manager")?,
        manager: opt_ref(r, "manager_id", "manager_name")?,
        authorities: json_col(r, "authorities")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn group_row(r: &Row) -> StoreResult<GovernanceGroup> {
    Ok(GovernanceGroup {
        id: r.get("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        member_count: r.get("member_count")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn source_row(r: &Row) -> StoreResult<Source> {
    Ok(Source {
        id: r.get("id")?,
        num_id: r.get("num_id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        owner: NamedRef {
            id: r.get("owner_id")?,
            name: r.get("owner_name")?,
        },
        management_workgroup: opt_ref(r, "management_workgroup_id", "workgroup_name")?,
        source_type: r.get("type")?,
        connector: r.get("connector")?,
        connector_name: r.get("connector_name")?,
        connection_type: r.get("connection_type")?,
        authoritative: r.get("authoritative")?,
        healthy: r.get("healthy")?,
        status: r.get("status")?,
        features: json_col(r, "features")?,
        doc: json_col(r, "doc")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

pub(super) fn entitlement_row(r: &Row) -> StoreResult<Entitlement> {
    Ok(Entitlement {
        id: r.get("id")?,
        source: NamedRef {
            id: r.get("source_id")?,
            name: r.get("source_name")?,
        },
        name: r.get("name")?,
        attribute: r.get("attribute")?,
        value: r.get("value")?,
        entitlement_type: r.get("type")?,
        description: r.get("description")?,
        privileged: r.get("privileged")?,
        requestable: r.get("requestable")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

#[async_trait]
impl DirectoryStore for SqlStore {
    async fn count_identities(&self) -> StoreResult<i64> {
        self.db
            .fetch_one("SELECT COUNT(*) FROM identities", vec![])
            .await?
            .get(0)
    }

    async fn insert_identity(&self, i: &Identity) -> StoreResult<()> {
        self.db
            .execute(
                "INSERT INTO identities (id, name, alias, first_name, last_name, email, \
                 cloud_status, processing_state, correlated, protected, is_manager, manager_id, \
                 authorities, created, modified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                params![
                    i.id,
                    i.name,
                    i.alias,
                    i.first_name,
                    i.last_name,
                    i.email,
                    i.cloud_status,
                    i.processing_state,
                    i.correlated,
                    i.protected,
                    i.is_manager,
                    i.manager.as_ref().map(|m| m.id.clone()),
                    serde_json::to_string(&i.authorities).unwrap_or_else(|_| "[]".into()),
                    format_timestamp(&i.created),
                    format_timestamp(&i.modified),
                ],
            )
            .await
            .map_err(|e| conflict(e, "identity", "alias", &i.alias))?;
        Ok(())
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Identity> {
        let rows = self.first_row(&IDENTITIES, &id_filter("i.id", id)).await?;
        rows.first()
            .map(identity_row)
            .transpose()?
            .ok_or_else(|| not_found("identity", id))
    }

    async fn find_identity_by_alias(&self, alias: &str) -> StoreResult<Option<Identity>> {
        let rows = self
            .first_row(&IDENTITIES, &id_filter("i.alias", alias))
            .await?;
        rows.first().map(identity_row).transpose()
    }

    async fn list_identities(&self, q: &ListQuery) -> StoreResult<Page<Identity>> {
        let (rows, total) = self.list_rows(&IDENTITIES, &[], q).await?;
        Ok(Page {
            items: rows.iter().map(identity_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn insert_governance_group(
        &self,
        g: &NewGovernanceGroup,
        now: DateTime<Utc>,
    ) -> StoreResult<GovernanceGroup> {
        let id = crate::domain::new_id();
        self.db
            .execute(
                "INSERT INTO governance_groups (id, name, description, owner_id, created, \
                 modified) VALUES ($1, $2, $3, $4, $5, $6)",
                params![
                    id,
                    g.name,
                    g.description,
                    g.owner_id,
                    format_timestamp(&now),
                    format_timestamp(&now),
                ],
            )
            .await
            .map_err(|e| conflict(e, "governance group", "name", &g.name))?;
        self.get_governance_group(&id).await
    }

    async fn get_governance_group(&self, id: &str) -> StoreResult<GovernanceGroup> {
        let rows = self.first_row(&GROUPS, &id_filter("g.id", id)).await?;
        rows.first()
            .map(group_row)
            .transpose()?
            .ok_or_else(|| not_found("governance group", id))
    }

    async fn list_governance_groups(&self, q: &ListQuery) -> StoreResult<Page<GovernanceGroup>> {
        let (rows, total) = self.list_rows(&GROUPS, &[], q).await?;
        Ok(Page {
            items: rows.iter().map(group_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn add_group_members(
        &self,
        group_id: &str,
        identity_ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.db.begin_write().await?;
        let mut added = Vec::new();
        for identity in identity_ids {
            let inserted = tx
                .execute(
                    "INSERT INTO governance_group_members (group_id, identity_id, created) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    params![group_id, identity, format_timestamp(&now)],
                )
                .await
                .map_err(|e| missing_reference(e, "identity"))?;
            if inserted > 0 {
                added.push(identity.clone());
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn list_group_members(
        &self,
        group_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<Identity>> {
        let listing = Listing {
            cols: IDENTITY_COLS,
            from: &format!("{IDENTITY_FROM}{MEMBER_JOIN}"),
            count_from: &format!("{}{MEMBER_JOIN}", IDENTITIES.count_from),
            columns: &MEMBER_COLUMNS,
        };
        let (rows, total) = self
            .list_rows(&listing, &id_filter("m.group_id", group_id), q)
            .await?;
        Ok(Page {
            items: rows.iter().map(identity_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn insert_source(&self, s: &NewSource, now: DateTime<Utc>) -> StoreResult<Source> {
        let id = crate::domain::new_id();
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO sources (id, num_id, name, description, owner_id, \
             management_workgroup_id, type, connector, connector_name, connection_type, \
             authoritative, features, doc, created, modified) \
             VALUES ($1, (SELECT COALESCE(MAX(num_id), 0) + 1 FROM sources), $2, $3, $4, $5, \
             $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            params![
                id,
                s.name,
                s.description,
                s.owner_id,
                s.management_workgroup_id,
                s.source_type,
                s.connector,
                s.connector_name,
                s.connection_type,
                s.authoritative,
                serde_json::to_string(&s.features).unwrap_or_else(|_| "[]".into()),
                Value::Object(s.doc.clone()).to_string(),
                format_timestamp(&now),
                format_timestamp(&now),
            ],
        )
        .await
        .map_err(|e| conflict(e, "source", "name", &s.name))?;
        tx.commit().await?;
        self.get_source(&Scope::All, &id).await
    }

    async fn get_source(&self, scope: &Scope, id: &str) -> StoreResult<Source> {
        let rows = self.first_row(&SOURCES, &id_filter("s.id", id)).await?;
        let source = rows
            .first()
            .map(source_row)
            .transpose()?
            .ok_or_else(|| not_found("source", id))?;
        if !scope.allows(&source.id) {
            return Err(StoreError::OutsideScope { kind: "source" });
        }
        Ok(source)
    }

    async fn list_sources(&self, scope: &Scope, q: &ListQuery) -> StoreResult<Page<Source>> {
        let fixed = match scope {
            Scope::All => Vec::new(),
            Scope::Sources(ids) => in_filter("s.id", ids),
        };
        let (rows, total) = self.list_rows(&SOURCES, &fixed, q).await?;
        Ok(Page {
            items: rows.iter().map(source_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn update_source(
        &self,
        scope: &Scope,
        id: &str,
        s: &NewSource,
        now: DateTime<Utc>,
    ) -> StoreResult<Source> {
        self.get_source(scope, id).await?;
        let changed = self
            .db
            .execute(
                "UPDATE sources SET name = $2, description = $3, owner_id = $4, \
                 management_workgroup_id = $5, type = $6, connector = $7, connector_name = $8, \
                 connection_type = $9, authoritative = $10, features = $11, doc = $12, \
                 modified = $13 WHERE id = $1",
                params![
                    id,
                    s.name,
                    s.description,
                    s.owner_id,
                    s.management_workgroup_id,
                    s.source_type,
                    s.connector,
                    s.connector_name,
                    s.connection_type,
                    s.authoritative,
                    serde_json::to_string(&s.features).unwrap_or_else(|_| "[]".into()),
                    Value::Object(s.doc.clone()).to_string(),
                    format_timestamp(&now),
                ],
            )
            .await
            .map_err(|e| conflict(e, "source", "name", &s.name))?;
        if changed == 0 {
            return Err(not_found("source", id));
        }
        self.get_source(&Scope::All, id).await
    }

    async fn delete_source(
        &self,
        scope: &Scope,
        id: &str,
        record: &TaskRecord,
    ) -> StoreResult<Source> {
        let source = self.get_source(scope, id).await?;
        // Its entitlements go with it (ON DELETE CASCADE); access profiles, source
        // apps, roles' entitlements and identity profiles refer to it or to them
        // without a cascade, so while any does, the delete breaks a reference.
        let mut tx = self.db.begin_write().await?;
        let deleted = tx
            .execute("DELETE FROM sources WHERE id = $1", params![id])
            .await
            .map_err(|e| in_use(e, "source", &source.name))?;
        if deleted == 0 {
            return Err(not_found("source", id));
        }
        insert_task_in(&mut *tx, record).await?;
        tx.commit().await?;
        Ok(source)
    }

    async fn update_governance_group(
        &self,
        id: &str,
        g: &NewGovernanceGroup,
        now: DateTime<Utc>,
    ) -> StoreResult<GovernanceGroup> {
        let changed = self
            .db
            .execute(
                "UPDATE governance_groups SET name = $2, description = $3, owner_id = $4, \
                 modified = $5 WHERE id = $1",
                params![
                    id,
                    g.name,
                    g.description,
                    g.owner_id,
                    format_timestamp(&now)
                ],
            )
            .await
            .map_err(|e| conflict(e, "governance group", "name", &g.name))?;
        if changed == 0 {
            return Err(not_found("governance group", id));
        }
        self.get_governance_group(id).await
    }

    async fn delete_governance_group(&self, id: &str) -> StoreResult<()> {
        let group = self.get_governance_group(id).await?;
        // Memberships go with it; a source managed by it refers to it without a
        // cascade (its sub-admins are the group's members, CONTRACT §6).
        let mut tx = self.db.begin_write().await?;
        let deleted = tx
            .execute("DELETE FROM governance_groups WHERE id = $1", params![id])
            .await
            .map_err(|e| in_use(e, "governance group", &group.name))?;
        if deleted == 0 {
            return Err(not_found("governance group", id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn remove_group_members(
        &self,
        group_id: &str,
        identity_ids: &[String],
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.db.begin_write().await?;
        let mut removed = Vec::new();
        for identity in identity_ids {
            let n = tx
                .execute(
                    "DELETE FROM governance_group_members WHERE group_id = $1 \
                     AND identity_id = $2",
                    params![group_id, identity],
                )
                .await?;
            if n > 0 {
                removed.push(identity.clone());
            }
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn delete_identity(&self, id: &str) -> StoreResult<()> {
        let identity = self.get_identity(id).await?;
        let mut tx = self.db.begin_write().await?;
        let deleted = tx
            .execute("DELETE FROM identities WHERE id = $1", params![id])
            .await
            .map_err(|e| in_use(e, "identity", &identity.name))?;
        if deleted == 0 {
            return Err(not_found("identity", id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn administered_source_ids(&self, identity_id: &str) -> StoreResult<Vec<String>> {
        self.db
            .fetch_all(
                "SELECT s.id FROM sources s JOIN governance_group_members m \
                 ON m.group_id = s.management_workgroup_id WHERE m.identity_id = $1 \
                 ORDER BY s.id",
                params![identity_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    async fn insert_entitlement(&self, e: &Entitlement) -> StoreResult<()> {
        self.db
            .execute(
                "INSERT INTO entitlements (id, source_id, name, attribute, value, type, \
                 description, privileged, requestable, owner_id, created, modified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                params![
                    e.id,
                    e.source.id,
                    e.name,
                    e.attribute,
                    e.value,
                    e.entitlement_type,
                    e.description,
                    e.privileged,
                    e.requestable,
                    e.owner.as_ref().map(|o| o.id.clone()),
                    format_timestamp(&e.created),
                    format_timestamp(&e.modified),
                ],
            )
            .await
            .map_err(|err| conflict(err, "entitlement", "id", &e.id))?;
        Ok(())
    }

    async fn get_entitlement(&self, id: &str) -> StoreResult<Entitlement> {
        let rows = self
            .first_row(&ENTITLEMENTS, &id_filter("e.id", id))
            .await?;
        rows.first()
            .map(entitlement_row)
            .transpose()?
            .ok_or_else(|| not_found("entitlement", id))
    }

    async fn update_entitlement(
        &self,
        id: &str,
        c: &EntitlementChange,
        now: DateTime<Utc>,
    ) -> StoreResult<Entitlement> {
        let changed = self
            .db
            .execute(
                "UPDATE entitlements SET name = $2, description = $3, privileged = $4, \
                 requestable = $5, owner_id = $6, modified = $7 WHERE id = $1",
                params![
                    id,
                    c.name,
                    c.description,
                    c.privileged,
                    c.requestable,
                    c.owner_id,
                    format_timestamp(&now),
                ],
            )
            .await
            .map_err(|e| missing_reference(e, "owner"))?;
        if changed == 0 {
            return Err(not_found("entitlement", id));
        }
        self.get_entitlement(id).await
    }

    async fn list_entitlements(&self, q: &ListQuery) -> StoreResult<Page<Entitlement>> {
        let (rows, total) = self.list_rows(&ENTITLEMENTS, &[], q).await?;
        Ok(Page {
            items: rows
                .iter()
                .map(entitlement_row)
                .collect::<StoreResult<_>>()?,
            total,
        })
    }
}
