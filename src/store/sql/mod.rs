//! The SQL store, written once and compiled twice: as `store::sqlite` and as
//! `store::postgres` (each includes this module with `#[path]`). The parent module
//! names the database (`super::Db`) and supplies what differs between the two
//! dialects: how to connect, how a write transaction serialises, the migrations, and
//! the few SQL fragments that are not portable. Everything else here is portable SQL
//! with `$n` placeholders (which SQLite also reads).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{QueryBuilder, Row};

use super::dialect;
use super::Db;
use crate::query::{format_timestamp, SqlValue};
use crate::store::*;

type DbPool = sqlx::Pool<Db>;
type DbRow = <Db as sqlx::Database>::Row;
type DbConn = <Db as sqlx::Database>::Connection;

mod export;
mod lifecycle;
mod roles;
mod segments;
mod source_apps;
mod tasks;

pub struct SqlStore {
    pool: DbPool,
}

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
const ENTITLEMENT_COLS: &str = "SELECT e.id, e.source_id, s.name AS source_name, e.name, \
     e.attribute, e.value, e.type, e.description, e.privileged, e.requestable, e.owner_id, \
     o.name AS owner_name, e.created, e.modified";
const ENTITLEMENT_FROM: &str = " FROM entitlements e JOIN sources s ON s.id = e.source_id \
     LEFT JOIN identities o ON o.id = e.owner_id";
const AP_COLS: &str = "SELECT ap.id, ap.name, ap.description, ap.owner_id, o.name AS owner_name, \
     ap.source_id, s.name AS source_name, ap.enabled, ap.requestable, ap.doc, ap.created, ap.modified";
const AP_FROM: &str = " FROM access_profiles ap JOIN identities o ON o.id = ap.owner_id \
     JOIN sources s ON s.id = ap.source_id";

/// What a list reads: the page's columns and FROM (with the joins that fetch display
/// names), and the FROM of its `count=true` query. The name joins follow NOT NULL
/// foreign keys or are LEFT JOINs, so they never change the count and the count
/// skips them; filters only name columns of the base table. `key` identifies a row
/// of `count_from` among those the fixed condition keeps (the sort spec's tiebreak).
struct Listing<'a> {
    cols: &'a str,
    from: &'a str,
    count_from: &'a str,
    key: &'a str,
}

const IDENTITIES: Listing = Listing {
    cols: IDENTITY_COLS,
    from: IDENTITY_FROM,
    count_from: " FROM identities i",
    key: "i.id",
};
const GROUPS: Listing = Listing {
    cols: GROUP_COLS,
    from: GROUP_FROM,
    count_from: " FROM governance_groups g",
    key: "g.id",
};
const SOURCES: Listing = Listing {
    cols: SOURCE_COLS,
    from: SOURCE_FROM,
    count_from: " FROM sources s",
    key: "s.id",
};
const ENTITLEMENTS: Listing = Listing {
    cols: ENTITLEMENT_COLS,
    from: ENTITLEMENT_FROM,
    count_from: " FROM entitlements e",
    key: "e.id",
};
const ACCESS_PROFILES: Listing = Listing {
    cols: AP_COLS,
    from: AP_FROM,
    count_from: " FROM access_profiles ap",
    key: "ap.id",
};

/// Members of a governance group (identities joined with memberships).
const MEMBER_JOIN: &str = " JOIN governance_group_members m ON m.identity_id = i.id";
/// Entitlements of an access profile.
const AP_ENTITLEMENT_JOIN: &str =
    " JOIN access_profile_entitlements ape ON ape.entitlement_id = e.id";

/// The versions recorded in `_sqlx_migrations` (none for a new database).
async fn applied_migrations(pool: &DbPool) -> StoreResult<Vec<i64>> {
    let exists: i64 = sqlx::query_scalar(dialect::TABLE_EXISTS)
        .bind("_sqlx_migrations")
        .fetch_one(pool)
        .await?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await?,
    )
}

impl SqlStore {
    /// Connects, refuses a database migrated by a newer accessd, and (when `migrate`)
    /// applies this build's migrations.
    pub async fn open(url: &str, migrate: bool) -> StoreResult<Self> {
        let _lock = if migrate {
            dialect::migration_lock(url).await?
        } else {
            None
        };
        // Only a migrating open creates a database: `export` of a mistyped SQLite path
        // must not leave an empty database file behind.
        let pool = dialect::connect(url, migrate).await?;
        let migrator = dialect::migrator();
        let applied = applied_migrations(&pool).await?;
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some(newer) = applied.iter().copied().find(|v| *v > known) {
            return Err(StoreError::Config(format!(
                "the {} database was migrated by a newer accessd (it has migration {newer}; \
                 this accessd knows migrations up to {known}). Run the newer accessd, or \
                 restore a backup taken before the upgrade.",
                dialect::NAME
            )));
        }
        if migrate {
            migrator.run(&pool).await.map_err(|e| {
                StoreError::Config(format!(
                    "migrating the {} database failed: {e}",
                    dialect::NAME
                ))
            })?;
        } else if applied.len() < migrator.iter().count() {
            return Err(StoreError::Config(format!(
                "the {} database is not migrated to this accessd's schema (version {known}); \
                 run `accessd migrate` first",
                dialect::NAME
            )));
        }
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, Db>> {
        dialect::begin_write(&self.pool).await
    }

    /// Runs `cols + from + WHERE fixed AND filter + ORDER BY + LIMIT/OFFSET`, and the
    /// matching COUNT(*) over `count_from` when the query asks for the total.
    ///
    /// Past the first page, the page's keys are chosen first over `count_from` alone
    /// and then its rows read: the rows an offset skips cost an index entry each (the
    /// sort indexes end in the key), not a table row and the name joins each.
    async fn list_rows(
        &self,
        listing: &Listing<'_>,
        fixed: &[SqlPiece],
        q: &ListQuery,
    ) -> StoreResult<(Vec<DbRow>, Option<i64>)> {
        let mut qb = QueryBuilder::<Db>::new(listing.cols);
        qb.push(listing.from);
        if q.paging.offset == 0 {
            push_where(&mut qb, fixed, &q.filter);
            qb.push(" ").push(&q.order_by);
            qb.push(" LIMIT ").push_bind(q.paging.limit);
        } else {
            qb.push(" WHERE ");
            // `fixed` outside too: a key is unique only among the rows it keeps (an
            // entitlement is in many profiles, an identity in many groups).
            if !fixed.is_empty() {
                qb.push("(");
                push_pieces(&mut qb, fixed);
                qb.push(") AND ");
            }
            qb.push(listing.key).push(" IN (SELECT ").push(listing.key);
            qb.push(listing.count_from);
            push_where(&mut qb, fixed, &q.filter);
            qb.push(" ").push(&q.order_by);
            qb.push(" LIMIT ").push_bind(q.paging.limit);
            qb.push(" OFFSET ").push_bind(q.paging.offset);
            qb.push(") ").push(&q.order_by);
        }
        let rows = qb.build().fetch_all(&self.pool).await?;
        let total = if q.paging.count {
            let mut qb = QueryBuilder::<Db>::new("SELECT COUNT(*)");
            qb.push(listing.count_from);
            push_where(&mut qb, fixed, &q.filter);
            Some(qb.build_query_scalar::<i64>().fetch_one(&self.pool).await?)
        } else {
            None
        };
        Ok((rows, total))
    }

    async fn entitlement_refs(&self, ap_ids: &[String]) -> StoreResult<Vec<(String, NamedRef)>> {
        if ap_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT ape.access_profile_id, e.id, e.name FROM access_profile_entitlements ape \
             JOIN entitlements e ON e.id = ape.entitlement_id WHERE ape.access_profile_id IN (",
        );
        push_id_list(&mut qb, ap_ids);
        qb.push(" ORDER BY ape.access_profile_id, ape.position");
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

    async fn access_profiles_from_rows(&self, rows: Vec<DbRow>) -> StoreResult<Vec<AccessProfile>> {
        let mut aps = rows
            .iter()
            .map(access_profile_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<String> = aps.iter().map(|a| a.id.clone()).collect();
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        for (ap_id, ent) in self.entitlement_refs(&ids).await? {
            if let Some(ap) = index.get(ap_id.as_str()).and_then(|&i| aps.get_mut(i)) {
                ap.entitlements.push(ent);
            }
        }
        for (ap_id, segment) in self.profile_segment_links(&ids).await? {
            if let Some(ap) = index.get(ap_id.as_str()).and_then(|&i| aps.get_mut(i)) {
                ap.segments.push(segment);
            }
        }
        Ok(aps)
    }

    async fn write_access_profile_entitlements(
        tx: &mut sqlx::Transaction<'static, Db>,
        id: &str,
        draft: &AccessProfileDraft,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM access_profile_entitlements WHERE access_profile_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        for (pos, ent) in draft.entitlement_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO access_profile_entitlements (access_profile_id, entitlement_id, position) \
                 VALUES ($1, $2, $3)",
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
}

/// Binds `ids` as the rest of an `IN (` list: `?, ?, …)`. Callers skip empty lists.
fn push_id_list<'a, I>(qb: &mut QueryBuilder<'a, Db>, ids: I)
where
    I: IntoIterator,
    I::Item: 'a + sqlx::Encode<'a, Db> + sqlx::Type<Db> + Send,
{
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(id);
    }
    qb.push(")");
}

fn push_pieces(qb: &mut QueryBuilder<'_, Db>, pieces: &[SqlPiece]) {
    for p in pieces {
        match p {
            SqlPiece::Sql(s) => {
                qb.push(s);
            }
            SqlPiece::Bind(SqlValue::Text(t)) => {
                qb.push_bind(t.clone());
            }
            SqlPiece::Bind(SqlValue::Bool(b)) => {
                qb.push_bind(*b);
            }
            SqlPiece::Bind(SqlValue::Int(i)) => {
                qb.push_bind(*i);
            }
            SqlPiece::Bind(SqlValue::Float(f)) => {
                qb.push_bind(*f);
            }
        }
    }
}

fn push_where(qb: &mut QueryBuilder<'_, Db>, fixed: &[SqlPiece], filter: &[SqlPiece]) {
    if fixed.is_empty() && filter.is_empty() {
        return;
    }
    qb.push(" WHERE ");
    if !fixed.is_empty() {
        qb.push("(");
        push_pieces(qb, fixed);
        qb.push(")");
        if !filter.is_empty() {
            qb.push(" AND ");
        }
    }
    if !filter.is_empty() {
        qb.push("(");
        push_pieces(qb, filter);
        qb.push(")");
    }
}

fn ts(row: &DbRow, col: &str) -> StoreResult<DateTime<Utc>> {
    let s: String = row.try_get(col)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{col} '{s}': {e}")))
}

fn json_col<T: serde::de::DeserializeOwned>(row: &DbRow, col: &str) -> StoreResult<T> {
    let s: String = row.try_get(col)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn opt_ref(row: &DbRow, id_col: &str, name_col: &str) -> StoreResult<Option<NamedRef>> {
    let id: Option<String> = row.try_get(id_col)?;
    let name: Option<String> = row.try_get(name_col)?;
    Ok(id.map(|id| NamedRef {
        id,
        name: name.unwrap_or_default(),
    }))
}

fn identity_row(r: &DbRow) -> StoreResult<Identity> {
    Ok(Identity {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        alias: r.try_get("alias")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        email: r.try_get("email")?,
        cloud_status: r.try_get("cloud_status")?,
        processing_state: r.try_get("processing_state")?,
        correlated: r.try_get("correlated")?,
        protected: r.try_get("protected")?,
        is_manager: r.try_get("is_manager")?,
        manager: opt_ref(r, "manager_id", "manager_name")?,
        authorities: json_col(r, "authorities")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn group_row(r: &DbRow) -> StoreResult<GovernanceGroup> {
    Ok(GovernanceGroup {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        member_count: r.try_get("member_count")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn source_row(r: &DbRow) -> StoreResult<Source> {
    Ok(Source {
        id: r.try_get("id")?,
        num_id: r.try_get("num_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        owner: NamedRef {
            id: r.try_get("owner_id")?,
            name: r.try_get("owner_name")?,
        },
        management_workgroup: opt_ref(r, "management_workgroup_id", "workgroup_name")?,
        source_type: r.try_get("type")?,
        connector: r.try_get("connector")?,
        connector_name: r.try_get("connector_name")?,
        connection_type: r.try_get("connection_type")?,
        authoritative: r.try_get("authoritative")?,
        healthy: r.try_get("healthy")?,
        status: r.try_get("status")?,
        features: json_col(r, "features")?,
        doc: json_col(r, "doc")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn entitlement_row(r: &DbRow) -> StoreResult<Entitlement> {
    Ok(Entitlement {
        id: r.try_get("id")?,
        source: NamedRef {
            id: r.try_get("source_id")?,
            name: r.try_get("source_name")?,
        },
        name: r.try_get("name")?,
        attribute: r.try_get("attribute")?,
        value: r.try_get("value")?,
        entitlement_type: r.try_get("type")?,
        description: r.try_get("description")?,
        privileged: r.try_get("privileged")?,
        requestable: r.try_get("requestable")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn access_profile_row(r: &DbRow) -> StoreResult<AccessProfile> {
    Ok(AccessProfile {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        owner: NamedRef {
            id: r.try_get("owner_id")?,
            name: r.try_get("owner_name")?,
        },
        source: NamedRef {
            id: r.try_get("source_id")?,
            name: r.try_get("source_name")?,
        },
        entitlements: Vec::new(),
        segments: Vec::new(),
        enabled: r.try_get("enabled")?,
        requestable: r.try_get("requestable")?,
        doc: json_col::<Map<String, Value>>(r, "doc")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

/// Turns a unique or foreign-key violation into a client-facing conflict.
fn conflict(e: sqlx::Error, unique_msg: impl FnOnce() -> String) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(unique_msg());
        }
        if db.is_foreign_key_violation() {
            return StoreError::Conflict("A referenced object does not exist.".into());
        }
    }
    StoreError::Database(e)
}

fn not_found(kind: &'static str, id: &str) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

/// `col IN (ids)`; an empty list matches nothing.
fn in_filter(col: &str, ids: &[String]) -> Vec<SqlPiece> {
    if ids.is_empty() {
        return vec![SqlPiece::Sql("1 = 0".into())];
    }
    let mut pieces = vec![SqlPiece::Sql(format!("{col} IN ("))];
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            pieces.push(SqlPiece::Sql(", ".into()));
        }
        pieces.push(SqlPiece::Bind(SqlValue::Text(id.clone())));
    }
    pieces.push(SqlPiece::Sql(")".into()));
    pieces
}

/// The condition of a [`ProfileView`] on `access_profiles ap`: each restriction in
/// parentheses, all of them together.
fn profile_view_filter(view: &ProfileView) -> Vec<SqlPiece> {
    let mut conditions = Vec::new();
    if let Some(sources) = &view.sources {
        conditions.push(in_filter("ap.source_id", sources));
    }
    if let Some(segments) = &view.segments {
        conditions.push(segments::segment_view_filter(segments));
    }
    let mut pieces = Vec::new();
    for (i, condition) in conditions.into_iter().enumerate() {
        pieces.push(SqlPiece::Sql(if i == 0 { "(" } else { " AND (" }.into()));
        pieces.extend(condition);
        pieces.push(SqlPiece::Sql(")".into()));
    }
    pieces
}

fn id_filter(col: &str, id: &str) -> Vec<SqlPiece> {
    vec![
        SqlPiece::Sql(format!("{col} = ")),
        SqlPiece::Bind(SqlValue::Text(id.to_string())),
    ]
}

fn one_page() -> ListQuery {
    ListQuery {
        filter: Vec::new(),
        order_by: String::new(),
        paging: Paging {
            limit: 1,
            offset: 0,
            count: false,
        },
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn rate_limit_take(
        &self,
        client_id: &str,
        bucket: &str,
        now_us: i64,
        t_us: i64,
        tau_us: i64,
    ) -> StoreResult<Option<i64>> {
        // governor's GCRA in one statement: the row (locked by the upsert) is advanced
        // only if the request conforms, i.e. its tat minus the tolerance has come.
        // Built once: this runs on every authenticated request.
        static TAKE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "INSERT INTO rate_limits (client_id, bucket, tat) VALUES ($1, $2, $3 + $4) \
                 ON CONFLICT (client_id, bucket) DO UPDATE \
                 SET tat = {g}(rate_limits.tat, $3) + $4 WHERE rate_limits.tat - $5 <= $3 \
                 RETURNING tat",
                g = dialect::GREATEST
            )
        });
        let taken: Option<i64> = sqlx::query_scalar(TAKE.as_str())
            .bind(client_id)
            .bind(bucket)
            .bind(now_us)
            .bind(t_us)
            .bind(tau_us)
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let tat: Option<i64> =
            sqlx::query_scalar("SELECT tat FROM rate_limits WHERE client_id = $1 AND bucket = $2")
                .bind(client_id)
                .bind(bucket)
                .fetch_optional(&self.pool)
                .await?;
        Ok(Some(tat.map_or(0, |tat| tat - tau_us - now_us).max(1)))
    }

    async fn rate_limit_purge(&self, now_us: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM rate_limits WHERE tat < $1")
            .bind(now_us)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn export_tenant(&self) -> StoreResult<crate::store::export::TenantExport> {
        self.dump_tables().await
    }

    async fn import_tenant(&self, export: &crate::store::export::TenantExport) -> StoreResult<u64> {
        self.load_tables(export).await
    }

    async fn meta_get_or_put(&self, key: &str, value: &str) -> StoreResult<String> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        let v: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, private_pem, public_pem, created FROM signing_keys WHERE active = TRUE ORDER BY created DESC, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get("kid")?,
                    private_pem: r.try_get("private_pem")?,
                    public_pem: r.try_get("public_pem")?,
                    created: ts(r, "created")?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_pem, public_pem, created) VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(&key.private_pem)
        .bind(&key.public_pem)
        .bind(format_timestamp(&key.created))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> StoreResult<bool> {
        // Under the write lock, so instances starting together create one key.
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, private_pem, public_pem, created) \
             SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT kid FROM signing_keys)",
        )
        .bind(&key.kid)
        .bind(&key.private_pem)
        .bind(&key.public_pem)
        .bind(format_timestamp(&key.created))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn retire_signing_keys(&self, keep: &str) -> StoreResult<u64> {
        let done =
            sqlx::query("UPDATE signing_keys SET active = FALSE WHERE active = TRUE AND kid <> $1")
                .bind(keep)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ApiClient>> {
        let row = sqlx::query(
            "SELECT client_id, secret_hash, name, identity_id, scopes, created FROM api_clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let scopes: String = r.try_get("scopes")?;
            Ok(ApiClient {
                client_id: r.try_get("client_id")?,
                secret_hash: r.try_get("secret_hash")?,
                name: r.try_get("name")?,
                identity_id: r.try_get("identity_id")?,
                scopes: scopes.split_whitespace().map(str::to_string).collect(),
                created: ts(&r, "created")?,
            })
        })
        .transpose()
    }

    async fn upsert_client(&self, c: &ApiClient) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_clients (client_id, secret_hash, name, identity_id, scopes, created) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET \
             secret_hash = excluded.secret_hash, name = excluded.name, \
             identity_id = excluded.identity_id, scopes = excluded.scopes",
        )
        .bind(&c.client_id)
        .bind(&c.secret_hash)
        .bind(&c.name)
        .bind(&c.identity_id)
        .bind(c.scopes.join(" "))
        .bind(format_timestamp(&c.created))
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, || "The client could not be saved.".into()))?;
        Ok(())
    }

    async fn count_identities(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM identities")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn insert_identity(&self, i: &Identity) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO identities (id, name, alias, first_name, last_name, email, cloud_status, \
             processing_state, correlated, protected, is_manager, manager_id, authorities, created, modified) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.alias)
        .bind(&i.first_name)
        .bind(&i.last_name)
        .bind(&i.email)
        .bind(&i.cloud_status)
        .bind(&i.processing_state)
        .bind(i.correlated)
        .bind(i.protected)
        .bind(i.is_manager)
        .bind(i.manager.as_ref().map(|m| m.id.clone()))
        .bind(serde_json::to_string(&i.authorities).unwrap_or_else(|_| "[]".into()))
        .bind(format_timestamp(&i.created))
        .bind(format_timestamp(&i.modified))
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, || format!("An identity with alias '{}' already exists.", i.alias)))?;
        Ok(())
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Identity> {
        let q = one_page();
        let (rows, _) = self
            .list_rows(&IDENTITIES, &id_filter("i.id", id), &q)
            .await?;
        rows.first()
            .map(identity_row)
            .transpose()?
            .ok_or_else(|| not_found("identity", id))
    }

    async fn find_identity_by_alias(&self, alias: &str) -> StoreResult<Option<Identity>> {
        let q = one_page();
        let (rows, _) = self
            .list_rows(&IDENTITIES, &id_filter("i.alias", alias), &q)
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
        sqlx::query(
            "INSERT INTO governance_groups (id, name, description, owner_id, created, modified) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&g.name)
        .bind(&g.description)
        .bind(&g.owner_id)
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, || format!("A governance group named '{}' already exists.", g.name)))?;
        self.get_governance_group(&id).await
    }

    async fn get_governance_group(&self, id: &str) -> StoreResult<GovernanceGroup> {
        let (rows, _) = self
            .list_rows(&GROUPS, &id_filter("g.id", id), &one_page())
            .await?;
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
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for identity in identity_ids {
            sqlx::query(
                "INSERT INTO governance_group_members (group_id, identity_id, created) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(group_id)
            .bind(identity)
            .bind(format_timestamp(&now))
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, String::new))?;
        }
        tx.commit().await?;
        Ok(())
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
            key: IDENTITIES.key,
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
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sources (id, num_id, name, description, owner_id, management_workgroup_id, \
             type, connector, connector_name, connection_type, authoritative, features, doc, created, modified) \
             VALUES ($1, (SELECT COALESCE(MAX(num_id), 0) + 1 FROM sources), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(&s.owner_id)
        .bind(&s.management_workgroup_id)
        .bind(&s.source_type)
        .bind(&s.connector)
        .bind(&s.connector_name)
        .bind(&s.connection_type)
        .bind(s.authoritative)
        .bind(serde_json::to_string(&s.features).unwrap_or_else(|_| "[]".into()))
        .bind(Value::Object(s.doc.clone()).to_string())
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, || format!("A source named '{}' already exists.", s.name)))?;
        tx.commit().await?;
        self.get_source(&id).await
    }

    async fn get_source(&self, id: &str) -> StoreResult<Source> {
        let (rows, _) = self
            .list_rows(&SOURCES, &id_filter("s.id", id), &one_page())
            .await?;
        rows.first()
            .map(source_row)
            .transpose()?
            .ok_or_else(|| not_found("source", id))
    }

    async fn list_sources(
        &self,
        only: Option<&[String]>,
        q: &ListQuery,
    ) -> StoreResult<Page<Source>> {
        let fixed = only.map(|ids| in_filter("s.id", ids)).unwrap_or_default();
        let (rows, total) = self.list_rows(&SOURCES, &fixed, q).await?;
        Ok(Page {
            items: rows.iter().map(source_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn administered_source_ids(&self, identity_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT s.id FROM sources s JOIN governance_group_members m \
             ON m.group_id = s.management_workgroup_id WHERE m.identity_id = $1 ORDER BY s.id",
        )
        .bind(identity_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn insert_entitlement(&self, e: &Entitlement) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO entitlements (id, source_id, name, attribute, value, type, description, \
             privileged, requestable, owner_id, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&e.id)
        .bind(&e.source.id)
        .bind(&e.name)
        .bind(&e.attribute)
        .bind(&e.value)
        .bind(&e.entitlement_type)
        .bind(&e.description)
        .bind(e.privileged)
        .bind(e.requestable)
        .bind(e.owner.as_ref().map(|o| o.id.clone()))
        .bind(format_timestamp(&e.created))
        .bind(format_timestamp(&e.modified))
        .execute(&self.pool)
        .await
        .map_err(|err| conflict(err, || format!("Entitlement '{}' already exists.", e.id)))?;
        Ok(())
    }

    async fn get_entitlement(&self, id: &str) -> StoreResult<Entitlement> {
        let (rows, _) = self
            .list_rows(&ENTITLEMENTS, &id_filter("e.id", id), &one_page())
            .await?;
        rows.first()
            .map(entitlement_row)
            .transpose()?
            .ok_or_else(|| not_found("entitlement", id))
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

    async fn resolve_access_profile_refs(&self, d: &AccessProfileDraft) -> StoreResult<RefFacts> {
        let owner = self
            .named_refs("identities", std::slice::from_ref(&d.owner_id))
            .await?
            .pop();
        let source = self
            .named_refs("sources", std::slice::from_ref(&d.source_id))
            .await?
            .pop();
        let entitlements = self
            .refs_with_sources("entitlements", &d.entitlement_ids)
            .await?
            .into_iter()
            .map(|(e, source)| (e.id, source))
            .collect();
        Ok(RefFacts {
            owner,
            source,
            entitlements,
            segments: self.segment_existing_ids(&d.segment_ids).await?,
        })
    }

    async fn insert_access_profile(
        &self,
        d: &AccessProfileDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessProfile> {
        let id = crate::domain::new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO access_profiles (id, name, description, owner_id, source_id, enabled, \
             requestable, doc, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.owner_id)
        .bind(&d.source_id)
        .bind(d.enabled)
        .bind(d.requestable)
        .bind(Value::Object(d.doc.clone()).to_string())
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict(e, || {
                format!("An access profile named '{}' already exists.", d.name)
            })
        })?;
        Self::write_access_profile_entitlements(&mut tx, &id, d).await?;
        Self::write_access_profile_segments(&mut tx, &id, d).await?;
        tx.commit().await?;
        self.get_access_profile(&id).await
    }

    async fn update_access_profile(
        &self,
        id: &str,
        d: &AccessProfileDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessProfile> {
        let mut tx = self.begin_write().await?;
        let holders: Vec<String> = sqlx::query_scalar(
            "SELECT a.name FROM source_app_access_profiles l JOIN source_apps a ON a.id = l.app_id \
             WHERE l.access_profile_id = $1 AND l.source_id <> $2 ORDER BY a.name",
        )
        .bind(id)
        .bind(&d.source_id)
        .fetch_all(&mut *tx)
        .await?;
        if !holders.is_empty() {
            return Err(StoreError::Conflict(format!(
                "The access profile's source can't change while source apps of its current source hold it: {}.",
                holders.join(", ")
            )));
        }
        let done = sqlx::query(
            "UPDATE access_profiles SET name = $1, description = $2, owner_id = $3, source_id = $4, \
             enabled = $5, requestable = $6, doc = $7, modified = $8 WHERE id = $9",
        )
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.owner_id)
        .bind(&d.source_id)
        .bind(d.enabled)
        .bind(d.requestable)
        .bind(Value::Object(d.doc.clone()).to_string())
        .bind(format_timestamp(&now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict(e, || {
                format!("An access profile named '{}' already exists.", d.name)
            })
        })?;
        if done.rows_affected() == 0 {
            return Err(not_found("access profile", id));
        }
        Self::write_access_profile_entitlements(&mut tx, id, d).await?;
        Self::write_access_profile_segments(&mut tx, id, d).await?;
        tx.commit().await?;
        self.get_access_profile(id).await
    }

    async fn get_access_profile(&self, id: &str) -> StoreResult<AccessProfile> {
        let (rows, _) = self
            .list_rows(&ACCESS_PROFILES, &id_filter("ap.id", id), &one_page())
            .await?;
        self.access_profiles_from_rows(rows)
            .await?
            .pop()
            .ok_or_else(|| not_found("access profile", id))
    }

    async fn list_access_profiles(
        &self,
        view: &ProfileView,
        q: &ListQuery,
    ) -> StoreResult<Page<AccessProfile>> {
        let (rows, total) = self
            .list_rows(&ACCESS_PROFILES, &profile_view_filter(view), q)
            .await?;
        Ok(Page {
            items: self.access_profiles_from_rows(rows).await?,
            total,
        })
    }

    async fn list_access_profile_entitlements(
        &self,
        id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<Entitlement>> {
        let listing = Listing {
            cols: ENTITLEMENT_COLS,
            from: &format!("{ENTITLEMENT_FROM}{AP_ENTITLEMENT_JOIN}"),
            count_from: &format!("{}{AP_ENTITLEMENT_JOIN}", ENTITLEMENTS.count_from),
            key: ENTITLEMENTS.key,
        };
        let (rows, total) = self
            .list_rows(&listing, &id_filter("ape.access_profile_id", id), q)
            .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(entitlement_row)
                .collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn resolve_segment_refs(&self, d: &SegmentDraft) -> StoreResult<SegmentRefFacts> {
        self.segment_refs(d).await
    }

    async fn insert_segment(&self, d: &SegmentDraft, now: DateTime<Utc>) -> StoreResult<Segment> {
        self.segment_insert(d, now).await
    }

    async fn update_segment(
        &self,
        id: &str,
        d: &SegmentDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Segment> {
        self.segment_update(id, d, now).await
    }

    async fn get_segment(&self, id: &str) -> StoreResult<Segment> {
        self.segment_get(id).await
    }

    async fn list_segments(&self, q: &ListQuery) -> StoreResult<Page<Segment>> {
        self.segment_list(q).await
    }

    async fn delete_segment(&self, id: &str) -> StoreResult<()> {
        self.segment_delete(id).await
    }

    async fn resolve_role_refs(&self, d: &RoleDraft) -> StoreResult<RoleRefFacts> {
        self.role_refs(d).await
    }

    async fn insert_role(&self, d: &RoleDraft, now: DateTime<Utc>) -> StoreResult<Role> {
        self.role_insert(d, now).await
    }

    async fn update_role(&self, id: &str, d: &RoleDraft, now: DateTime<Utc>) -> StoreResult<Role> {
        self.role_update(id, d, now).await
    }

    async fn get_role(&self, id: &str) -> StoreResult<Role> {
        self.role_get(id).await
    }

    async fn list_roles(
        &self,
        sources: Option<&[String]>,
        q: &ListQuery,
    ) -> StoreResult<Page<Role>> {
        self.role_list(sources, q).await
    }

    async fn delete_role(&self, id: &str) -> StoreResult<()> {
        self.role_delete(id).await
    }

    async fn existing_role_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        self.role_existing_ids(ids).await
    }

    async fn insert_identity_profile(
        &self,
        p: &NewIdentityProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<IdentityProfile> {
        self.identity_profile_insert(p, now).await
    }

    async fn get_identity_profile(&self, id: &str) -> StoreResult<IdentityProfile> {
        self.identity_profile_get(id).await
    }

    async fn access_profile_sources(&self, ids: &[String]) -> StoreResult<Vec<(String, String)>> {
        Ok(self
            .refs_with_sources("access_profiles", ids)
            .await?
            .into_iter()
            .map(|(ap, source)| (ap.id, source))
            .collect())
    }

    async fn existing_access_profiles(&self, ids: &[String]) -> StoreResult<Vec<NamedRef>> {
        let mut conn = self.pool.acquire().await?;
        tasks::profile_refs(&mut conn, ids).await
    }

    async fn insert_lifecycle_state(
        &self,
        profile_id: &str,
        d: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        self.lifecycle_state_insert(profile_id, d, now).await
    }

    async fn update_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
        d: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        self.lifecycle_state_update(profile_id, id, d, now).await
    }

    async fn get_lifecycle_state(&self, profile_id: &str, id: &str) -> StoreResult<LifecycleState> {
        self.lifecycle_state_get(profile_id, id).await
    }

    async fn list_lifecycle_states(
        &self,
        profile_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<LifecycleState>> {
        self.lifecycle_state_list(profile_id, q).await
    }

    async fn delete_lifecycle_state(
        &self,
        profile_id: &str,
        id: &str,
    ) -> StoreResult<LifecycleState> {
        self.lifecycle_state_delete(profile_id, id).await
    }

    async fn resolve_source_app_refs(&self, d: &SourceAppDraft) -> StoreResult<SourceAppRefFacts> {
        self.source_app_refs(d).await
    }

    async fn insert_source_app(
        &self,
        d: &SourceAppDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<SourceApp> {
        self.source_app_insert(d, now).await
    }

    async fn get_source_app(&self, id: &str) -> StoreResult<SourceApp> {
        self.source_app_get(id).await
    }

    async fn list_source_apps(
        &self,
        view: SourceAppView,
        q: &ListQuery,
    ) -> StoreResult<Page<SourceApp>> {
        self.source_app_list(view, q).await
    }

    async fn update_source_apps(
        &self,
        updates: &[(String, SourceAppDraft)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.source_apps_update(updates, now).await
    }

    async fn existing_source_app_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        self.source_app_existing_ids(ids).await
    }

    async fn delete_source_app(&self, id: &str) -> StoreResult<SourceApp> {
        self.source_app_delete(id).await
    }

    async fn list_source_app_access_profiles(
        &self,
        app_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<AppAccessProfile>> {
        self.source_app_profiles(app_id, q).await
    }

    async fn remove_source_app_access_profiles(
        &self,
        app_id: &str,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        self.source_app_remove_profiles(app_id, ids, now).await
    }

    async fn access_profile_usages(&self, ids: &[String]) -> StoreResult<Vec<Usage>> {
        self.usages(ids).await
    }

    async fn delete_access_profile(
        &self,
        id: &str,
        record: Option<&TaskRecord>,
    ) -> StoreResult<ItemResult> {
        self.access_profile_delete(id, record).await
    }

    async fn insert_task(&self, task: &TaskRecord) -> StoreResult<()> {
        self.task_insert(task).await
    }

    async fn get_task(&self, id: &str) -> StoreResult<TaskRecord> {
        self.task_get(id).await
    }

    async fn list_tasks(&self, fixed: &[SqlPiece], q: &ListQuery) -> StoreResult<Page<TaskRecord>> {
        self.task_list(fixed, q).await
    }

    async fn complete_task_by_client(
        &self,
        id: &str,
        status: CompletionStatus,
        completed: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<TaskRecord> {
        self.task_complete_by_client(id, status, completed, now)
            .await
    }

    async fn claim_task(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        self.task_claim(worker, now, claim_until).await
    }

    async fn run_delete_step(
        &self,
        task: &TaskRecord,
        worker: &str,
        target: DeleteTarget,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        self.task_delete_step(task, worker, target, now, claim_until)
            .await
    }

    async fn update_claimed_task(
        &self,
        id: &str,
        worker: &str,
        update: &TaskUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.task_update_claimed(id, worker, update, now).await
    }

    async fn release_task(&self, id: &str, worker: &str) -> StoreResult<()> {
        self.task_release(id, worker).await
    }

    async fn purge_tasks(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.task_purge(before).await
    }

    async fn count_unfinished_tasks(&self) -> StoreResult<i64> {
        self.task_count_unfinished().await
    }
}
