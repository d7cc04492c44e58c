//! The SQL store, compiled once for every database: [`SqlStore`] runs portable SQL
//! (`$n` placeholders, which SQLite also reads) through the [`Database`] seam, and the
//! few fragments that differ come from the backend's [`Dialect`](crate::store::db::Dialect).
//! Each store trait is implemented in its own file here, beside its SQL; this module
//! holds what they share: opening, list queries, row helpers and error mapping.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

use crate::domain::model::NamedRef;
use crate::query::Paging;
use crate::store::db::{
    params, Database, Executor, Param, Pooled, Row, ToParam, ViolationKind, MIGRATIONS_TABLE,
};
use crate::store::{ListQuery, StoreError, StoreResult};

mod access_profiles;
mod controls;
mod directory;
mod lifecycle;
mod profile_cache;
mod render;
mod roles;
mod segments;
mod source_apps;
mod tasks;
mod tenant;

use render::{
    filter_pieces, not_null, nullable, order_by, reversed_order_by, Column, Columns, SqlPiece,
};

/// The store over one database.
pub struct SqlStore {
    db: Arc<dyn Database>,
    /// The rate-limit upsert in this database's dialect, built on first use: it runs
    /// on every authenticated request.
    rate_limit_take_sql: OnceLock<String>,
    /// The columns of an access profile row with its links, in this database's
    /// dialect ([`access_profiles::profile_cols`]).
    ap_cols: String,
    /// One access profile by id (`$1`): [`SqlStore::ap_cols`], then its `version` and
    /// the `epoch` (migration 0010), for the cache of read profiles.
    ap_by_id: String,
    /// The access profiles lists have read, while they are unchanged.
    profile_cache: profile_cache::ProfileCache,
}

impl SqlStore {
    /// Refuses a database migrated by a newer accessd and (when `migrate`) applies this
    /// build's migrations; without `migrate`, refuses a database that lacks some.
    pub async fn open(db: Arc<dyn Database>, migrate: bool) -> StoreResult<Self> {
        let name = db.dialect().name;
        let migrations = db.migrations();
        let applied = applied_migrations(&*db).await?;
        let known = migrations.iter().copied().max().unwrap_or(0);
        if let Some(newer) = applied.iter().copied().find(|v| *v > known) {
            return Err(StoreError::Config(format!(
                "the {name} database was migrated by a newer accessd (it has migration {newer}; \
                 this accessd knows migrations up to {known}). Run the newer accessd, or \
                 restore a backup taken before the upgrade."
            )));
        }
        if migrate {
            db.migrate().await?;
        } else if applied.len() < migrations.len() {
            return Err(StoreError::Config(format!(
                "the {name} database is not migrated to this accessd's schema (version {known}); \
                 run `accessd migrate` first"
            )));
        }
        Ok(Self {
            ap_cols: access_profiles::profile_cols(db.dialect()),
            ap_by_id: access_profiles::profile_by_id(db.dialect()),
            db,
            rate_limit_take_sql: OnceLock::new(),
            profile_cache: profile_cache::ProfileCache::default(),
        })
    }

    /// Runs `cols + from + WHERE fixed AND filter + ORDER BY + LIMIT/OFFSET`, and the
    /// matching COUNT(*) over `count_from` when the query asks for the total.
    ///
    /// Past the first page, the page's keys are chosen first ([`Listing::push_keys`])
    /// and then its rows read.
    async fn list_rows(
        &self,
        listing: &Listing<'_>,
        fixed: &[SqlPiece],
        q: &ListQuery,
    ) -> StoreResult<(Vec<Row>, Option<i64>)> {
        list_rows_on(&mut Pooled(&*self.db), listing, fixed, q).await
    }

    /// The row of a list under `fixed` (a lookup by a unique column), if any.
    async fn first_row(&self, listing: &Listing<'_>, fixed: &[SqlPiece]) -> StoreResult<Vec<Row>> {
        first_row_on(&mut Pooled(&*self.db), listing, fixed).await
    }

    /// The rows among `ids` of `SELECT id, name FROM {table}` (one indexed query).
    async fn named_refs(&self, table: &'static str, ids: &[String]) -> StoreResult<Vec<NamedRef>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(format!("SELECT id, name FROM {table} WHERE id IN ("));
        sql.push_ids(ids);
        let rows = self.db.fetch_all(&sql.text, sql.params).await?;
        rows.iter().map(|r| named_ref(r, 0)).collect()
    }

    /// `(id and name, source id)` of the rows among `ids` of `table` (entitlements or
    /// access profiles), one indexed query.
    async fn refs_with_sources(
        &self,
        table: &'static str,
        ids: &[String],
    ) -> StoreResult<Vec<(NamedRef, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(format!(
            "SELECT id, name, source_id FROM {table} WHERE id IN ("
        ));
        sql.push_ids(ids);
        let rows = self.db.fetch_all(&sql.text, sql.params).await?;
        rows.iter()
            .map(|r| Ok((named_ref(r, 0)?, r.get(2)?)))
            .collect()
    }

    /// The ids among `ids` that name rows of `table`.
    async fn existing_ids(&self, table: &'static str, ids: &[String]) -> StoreResult<Vec<String>> {
        Ok(self
            .named_refs(table, ids)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }
}

/// [`SqlStore::list_rows`] on one executor (e.g. a connection that also reads the
/// page's links).
async fn list_rows_on(
    ex: &mut dyn Executor,
    listing: &Listing<'_>,
    fixed: &[SqlPiece],
    q: &ListQuery,
) -> StoreResult<(Vec<Row>, Option<i64>)> {
    let filter = listing.filter(q)?;
    let order = order_by(&q.sort, listing.columns)?;
    let mut sql = Sql::new(listing.cols);
    sql.push(listing.from);
    if q.paging.offset == 0 {
        sql.push_where(fixed, &filter);
        sql.push(" ").push(&order);
        sql.push(" LIMIT ").bind(q.paging.limit);
    } else {
        sql.push(" WHERE ");
        // `fixed` outside too: a key is unique only among the rows it keeps (an
        // entitlement is in many profiles, an identity in many groups).
        if !fixed.is_empty() {
            sql.push("(");
            sql.push_pieces(fixed);
            sql.push(") AND ");
        }
        sql.push(listing.columns.key).push(" IN (");
        listing.push_keys(&mut sql, fixed, &filter, &order, &q.paging);
        sql.push(") ").push(&order);
    }
    let rows = ex.fetch_all(&sql.text, sql.params).await?;
    let total = if q.paging.count {
        let mut sql = Sql::new("");
        listing.push_count(&mut sql, fixed, &filter);
        Some(ex.fetch_one(&sql.text, sql.params).await?.get(0)?)
    } else {
        None
    };
    Ok((rows, total))
}

/// The first row of a list under `fixed` (a lookup by a unique column), unordered.
async fn first_row_on(
    ex: &mut dyn Executor,
    listing: &Listing<'_>,
    fixed: &[SqlPiece],
) -> StoreResult<Vec<Row>> {
    let mut sql = Sql::new(listing.cols);
    sql.push(listing.from);
    sql.push_where(fixed, &[]);
    sql.push(" LIMIT 1");
    ex.fetch_all(&sql.text, sql.params).await
}

/// An unconfined list, for [`list_statements`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    AccessProfiles,
    Roles,
}

/// The statements the store runs for an unconfined list and `q` besides the page's
/// rows: the one that chooses a page's keys (a page past the first runs it as its
/// subquery), and the count. Each is SQL text with `$n` placeholders and its values;
/// what the query-plan tests explain.
pub fn list_statements(list: Listed, q: &ListQuery) -> StoreResult<[(String, Vec<Param>); 2]> {
    let listing = match list {
        Listed::AccessProfiles => &access_profiles::ACCESS_PROFILES,
        Listed::Roles => &roles::ROLES,
    };
    let filter = listing.filter(q)?;
    let order = order_by(&q.sort, listing.columns)?;
    let mut keys = Sql::new("");
    listing.push_keys(&mut keys, &[], &filter, &order, &q.paging);
    let mut count = Sql::new("");
    listing.push_count(&mut count, &[], &filter);
    Ok([(keys.text, keys.params), (count.text, count.params)])
}

/// The versions recorded in [`MIGRATIONS_TABLE`] (none for a new database).
async fn applied_migrations(db: &dyn Database) -> StoreResult<Vec<i64>> {
    let exists: i64 = db
        .fetch_one(db.dialect().table_exists, params![MIGRATIONS_TABLE])
        .await?
        .get(0)?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version");
    db.fetch_all(&sql, vec![])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// SQL text with `$n` placeholders and the values bound to them, built piece by piece.
struct Sql {
    text: String,
    params: Vec<Param>,
}

impl Sql {
    fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            params: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder, bound to `value`.
    fn bind(&mut self, value: impl ToParam) -> &mut Self {
        self.params.push(value.to_param());
        self.text.push('$');
        self.text.push_str(&self.params.len().to_string());
        self
    }

    /// Binds `ids` as the rest of an `IN (` list: `$1, $2, …)`. Callers skip empty lists.
    fn push_ids<I>(&mut self, ids: I) -> &mut Self
    where
        I: IntoIterator,
        I::Item: ToParam,
    {
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(id);
        }
        self.push(")")
    }

    fn push_pieces(&mut self, pieces: &[SqlPiece]) {
        for p in pieces {
            match p {
                SqlPiece::Sql(s) => {
                    self.push(s);
                }
                SqlPiece::Bind(v) => {
                    self.bind(v);
                }
            }
        }
    }

    /// ` WHERE (fixed) AND (filter)`, leaving out what is empty.
    fn push_where(&mut self, fixed: &[SqlPiece], filter: &[SqlPiece]) {
        if fixed.is_empty() && filter.is_empty() {
            return;
        }
        self.push(" WHERE ");
        if !fixed.is_empty() {
            self.push("(");
            self.push_pieces(fixed);
            self.push(")");
            if !filter.is_empty() {
                self.push(" AND ");
            }
        }
        if !filter.is_empty() {
            self.push("(");
            self.push_pieces(filter);
            self.push(")");
        }
    }
}

/// What a list reads: the page's columns and FROM (with the joins that fetch display
/// names), and the FROM of its `count=true` query. The name joins follow NOT NULL
/// foreign keys or are LEFT JOINs, so they never change the count and the count
/// skips them; filters only name columns of the base table. `columns` says where the
/// list's API fields live; their key identifies a row of `count_from` among those the
/// fixed condition keeps.
struct Listing<'a> {
    cols: &'a str,
    from: &'a str,
    count_from: &'a str,
    columns: &'static Columns,
}

impl Listing<'_> {
    /// The client's filter as a condition on this list's columns (none: empty).
    fn filter(&self, q: &ListQuery) -> StoreResult<Vec<SqlPiece>> {
        q.filter
            .as_ref()
            .map_or(Ok(Vec::new()), |f| filter_pieces(f, self.columns))
    }

    /// `SELECT key FROM … WHERE … ORDER BY … LIMIT … OFFSET …`: the keys of a page,
    /// chosen over `count_from` alone, so the rows an offset skips cost an index entry
    /// each (the sort indexes end in the key), not a table row and the name joins each.
    fn push_keys(
        &self,
        sql: &mut Sql,
        fixed: &[SqlPiece],
        filter: &[SqlPiece],
        order: &str,
        paging: &Paging,
    ) {
        sql.push("SELECT ")
            .push(self.columns.key)
            .push(self.count_from);
        sql.push_where(fixed, filter);
        sql.push(" ").push(order);
        sql.push(" LIMIT ").bind(paging.limit);
        sql.push(" OFFSET ").bind(paging.offset);
    }

    /// `SELECT COUNT(*) FROM … WHERE …`: the total of `count=true`.
    fn push_count(&self, sql: &mut Sql, fixed: &[SqlPiece], filter: &[SqlPiece]) {
        sql.push("SELECT COUNT(*)").push(self.count_from);
        sql.push_where(fixed, filter);
    }
}

/// Runs `sql` (one of the link queries, ending in `IN (`) for `ids`, ordered by
/// `order`: `(owner id, id, name)` rows as `(owner id, ref)`.
async fn link_refs(
    ex: &mut dyn Executor,
    select: &str,
    ids: &[String],
    order: &str,
) -> StoreResult<Vec<(String, NamedRef)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(select);
    sql.push_ids(ids).push(order);
    let rows = ex.fetch_all(&sql.text, sql.params).await?;
    rows.iter()
        .map(|r| Ok((r.get(0)?, named_ref(r, 1)?)))
        .collect()
}

/// The `(id, name)` at columns `at` and `at + 1`.
fn named_ref(r: &Row, at: usize) -> StoreResult<NamedRef> {
    Ok(NamedRef {
        id: r.get(at)?,
        name: r.get(at + 1)?,
    })
}

fn parse_ts(col: &str, s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{col} '{s}': {e}")))
}

fn ts(row: &Row, col: &str) -> StoreResult<DateTime<Utc>> {
    parse_ts(col, &row.get::<String>(col)?)
}

fn opt_ts(row: &Row, col: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.get::<Option<String>>(col)?
        .map(|s| parse_ts(col, &s))
        .transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row, col: &str) -> StoreResult<T> {
    let s: String = row.get(col)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn opt_ref(row: &Row, id_col: &str, name_col: &str) -> StoreResult<Option<NamedRef>> {
    let id: Option<String> = row.get(id_col)?;
    let name: Option<String> = row.get(name_col)?;
    Ok(id.map(|id| NamedRef {
        id,
        name: name.unwrap_or_default(),
    }))
}

/// Turns a unique violation into the fact that `kind`'s `field` already holds `value`,
/// and a foreign-key violation into a missing reference.
fn conflict(e: StoreError, kind: &'static str, field: &'static str, value: &str) -> StoreError {
    match e.violation() {
        Some(ViolationKind::Unique) => StoreError::Duplicate {
            kind,
            field,
            value: value.to_string(),
        },
        _ => missing_reference(e, "object"),
    }
}

/// Turns a foreign-key violation of a write that links to a `field` into the fact
/// that the linked object does not exist.
fn missing_reference(e: StoreError, field: &'static str) -> StoreError {
    match e.violation() {
        Some(ViolationKind::ForeignKey) => StoreError::MissingReference { field },
        _ => e,
    }
}

/// Turns a foreign-key violation of a delete into the fact that the `kind` named
/// `name` is in use: whatever still refers to it, the database's references know.
fn in_use(e: StoreError, kind: &'static str, name: &str) -> StoreError {
    match e.violation() {
        Some(ViolationKind::ForeignKey) => StoreError::InUse {
            kind,
            name: name.to_string(),
        },
        _ => e,
    }
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
        pieces.push(SqlPiece::Bind(Param::Text(id.clone())));
    }
    pieces.push(SqlPiece::Sql(")".into()));
    pieces
}

fn id_filter(col: &str, id: &str) -> Vec<SqlPiece> {
    vec![
        SqlPiece::Sql(format!("{col} = ")),
        SqlPiece::Bind(Param::Text(id.to_string())),
    ]
}

/// Deletes the row of `table` whose `id` is `id`, inside the caller's transaction;
/// returns how many it deleted (0 or 1).
async fn delete_by_id(ex: &mut dyn Executor, table: &'static str, id: &str) -> StoreResult<u64> {
    ex.execute(&format!("DELETE FROM {table} WHERE id = $1"), params![id])
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{compile_filter, sort_order, specs};

    #[test]
    fn a_page_chooses_its_keys_in_its_order_and_counts_under_the_same_filter() {
        let q = ListQuery {
            filter: compile_filter(
                Some(r#"name sw "Pro" and requestable eq true"#),
                &specs::LIST_ACCESS_PROFILES_FILTERS,
            )
            .unwrap(),
            sort: sort_order(Some("-created"), &specs::LIST_ACCESS_PROFILES_SORTERS).unwrap(),
            paging: Paging {
                limit: 50,
                offset: 100,
                count: true,
            },
        };
        let [(keys, key_params), (count, count_params)] =
            list_statements(Listed::AccessProfiles, &q).unwrap();
        let filter = "WHERE (((lower(ap.name) >= $1 AND lower(ap.name) < $2 \
                      AND lower(ap.name) LIKE $3 ESCAPE '\\') AND ap.requestable = $4))";
        assert_eq!(
            keys,
            format!(
                "SELECT ap.id FROM access_profiles ap {filter} \
                 ORDER BY ap.created DESC, ap.id DESC LIMIT $5 OFFSET $6"
            )
        );
        let filter_params = vec![
            Param::Text("pro".into()),
            Param::Text("prp".into()),
            Param::Text("pro%".into()),
            Param::Bool(true),
        ];
        let mut paged = filter_params.clone();
        paged.extend([Param::Int(50), Param::Int(100)]);
        assert_eq!(key_params, paged);
        assert_eq!(
            count,
            format!("SELECT COUNT(*) FROM access_profiles ap {filter}")
        );
        assert_eq!(count_params, filter_params);

        let unfiltered = ListQuery {
            filter: None,
            sort: Vec::new(),
            ..q
        };
        let [(keys, _), (count, _)] = list_statements(Listed::Roles, &unfiltered).unwrap();
        assert_eq!(
            keys,
            "SELECT r.id FROM roles r ORDER BY r.id ASC LIMIT $1 OFFSET $2"
        );
        assert_eq!(count, "SELECT COUNT(*) FROM roles r");
    }

    #[test]
    fn placeholders_are_numbered_in_the_order_values_are_bound() {
        let mut sql = Sql::new("SELECT id FROM t WHERE a = ");
        sql.bind("x").push(" AND id IN (").push_ids(["p", "q"]);
        assert_eq!(sql.text, "SELECT id FROM t WHERE a = $1 AND id IN ($2, $3)");
        assert_eq!(
            sql.params,
            vec![
                Param::Text("x".into()),
                Param::Text("p".into()),
                Param::Text("q".into())
            ]
        );
    }

    #[test]
    fn where_joins_the_fixed_condition_and_the_filter_and_skips_what_is_empty() {
        let fixed = id_filter("a.id", "1");
        let filter = vec![
            SqlPiece::Sql("a.enabled = ".into()),
            SqlPiece::Bind(Param::Bool(true)),
        ];
        let mut sql = Sql::new("SELECT *");
        sql.push_where(&fixed, &filter);
        assert_eq!(sql.text, "SELECT * WHERE (a.id = $1) AND (a.enabled = $2)");
        assert_eq!(sql.params, vec![Param::Text("1".into()), Param::Bool(true)]);

        let mut sql = Sql::new("SELECT *");
        sql.push_where(&[], &filter);
        assert_eq!(sql.text, "SELECT * WHERE (a.enabled = $1)");

        let mut sql = Sql::new("SELECT *");
        sql.push_where(&[], &[]);
        assert_eq!(sql.text, "SELECT *");
    }
}
