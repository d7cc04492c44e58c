//! Access profiles in SQL: the profile row, its entitlement links (in order), its
//! segment links (`segments.rs` writes them), and what uses a profile — roles,
//! lifecycle states, source apps — for the usage check that guards every delete.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::directory::{
    entitlement_row, ENTITLEMENTS, ENTITLEMENT_COLS, ENTITLEMENT_COLUMNS, ENTITLEMENT_FROM,
};
use super::segments::{segment_view_filter, write_access_profile_segments};
use super::tasks::insert_task_in;
use super::*;
use crate::domain::access_profile::{AccessProfileDraft, RefFacts};
use crate::domain::model::*;
use crate::domain::scope::Scope;
use crate::domain::task::{decide_step, ItemResult, TaskRecord};
use crate::domain::usage::{Usage, UsageKind};
use crate::query::format_timestamp;
use crate::store::db::{Dialect, FromParam};
use crate::store::{AccessProfileStore, ProfileView};

const AP_COLS: &str = "SELECT ap.id, ap.name, ap.description, ap.owner_id, \
     o.name AS owner_name, ap.source_id, s.name AS source_name, ap.enabled, ap.requestable, \
     ap.doc, ap.created, ap.modified";

/// The columns of an access profile row in `dialect`: [`AP_COLS`], then the profile's
/// entitlements (`[[position, id, name], …]`) and segments (`[[position, id], …]`),
/// each a JSON array aggregated by a correlated subquery. A profile, or a page of
/// them, is thus one statement: one read transaction, one round trip. The links are
/// put in order by their positions when the row is read, so that the aggregate needs
/// no sort of its own.
pub(super) fn profile_cols(dialect: &Dialect) -> String {
    let Dialect {
        json_agg,
        json_text,
        json_array,
        ..
    } = dialect;
    format!(
        "{AP_COLS}, \
         (SELECT {json_agg}({json_array}(ape.position, e.id, e.name)){json_text} \
         FROM access_profile_entitlements ape JOIN entitlements e ON e.id = ape.entitlement_id \
         WHERE ape.access_profile_id = ap.id) AS entitlement_refs, \
         (SELECT {json_agg}({json_array}(aps.position, aps.segment_id)){json_text} \
         FROM access_profile_segments aps WHERE aps.access_profile_id = ap.id) AS segment_ids"
    )
}

/// One profile by id (`$1`), [`profile_cols`] then its `version` and the `epoch`.
pub(super) fn profile_by_id(dialect: &Dialect) -> String {
    format!(
        "{}, ap.version AS version, {EPOCH} AS epoch{AP_FROM} WHERE ap.id = $1",
        profile_cols(dialect)
    )
}

pub(super) const AP_FROM: &str = " FROM access_profiles ap \
     JOIN identities o ON o.id = ap.owner_id JOIN sources s ON s.id = ap.source_id";
/// The list of access profiles; the columns of its rows, links included, are those
/// of [`SqlStore::access_profiles`], in the database's dialect.
pub(super) const ACCESS_PROFILES: Listing = Listing {
    cols: AP_COLS,
    from: AP_FROM,
    count_from: " FROM access_profiles ap",
    columns: &AP_COLUMNS,
};

/// The fields of listAccessProfiles (and of an app's profiles), on `access_profiles ap`.
pub(super) static AP_COLUMNS: Columns = Columns {
    key: "ap.id",
    fields: &[
        ("id", not_null("ap.id")),
        ("name", not_null("ap.name")),
        ("created", not_null("ap.created")),
        ("modified", not_null("ap.modified")),
        ("owner.id", not_null("ap.owner_id")),
        ("requestable", not_null("ap.requestable")),
        ("source.id", not_null("ap.source_id")),
    ],
    base: None,
};

/// The fields of getAccessProfileEntitlements: an entitlement's, and `position`, the
/// profile's own order (`access_profile_entitlements ape`).
pub(super) static AP_ENTITLEMENT_COLUMNS: Columns = Columns {
    key: "e.id",
    fields: &[("position", not_null("ape.position"))],
    base: Some(&ENTITLEMENT_COLUMNS),
};

/// Entitlements of an access profile.
const AP_ENTITLEMENT_JOIN: &str =
    " JOIN access_profile_entitlements ape ON ape.entitlement_id = e.id";

/// One indexed query per usage kind (`…_ap_idx` on each link table).
const USAGE_QUERIES: [(UsageKind, &str); 3] = [
    (
        UsageKind::Role,
        "SELECT l.access_profile_id, r.id, r.name FROM role_access_profiles l \
         JOIN roles r ON r.id = l.role_id WHERE l.access_profile_id IN (",
    ),
    (
        UsageKind::LifecycleState,
        "SELECT l.access_profile_id, ls.id, ls.name FROM lifecycle_state_access_profiles l \
         JOIN lifecycle_states ls ON ls.id = l.lifecycle_state_id WHERE l.access_profile_id IN (",
    ),
    (
        UsageKind::Application,
        "SELECT l.access_profile_id, a.id, a.name FROM source_app_access_profiles l \
         JOIN source_apps a ON a.id = l.app_id WHERE l.access_profile_id IN (",
    ),
];

/// A profile from a row whose first columns are [`profile_cols`], in that order; the
/// row's text moves into the profile instead of being copied.
fn access_profile_row(r: Row) -> StoreResult<AccessProfile> {
    let mut cols = r.into_values().into_iter();
    let mut next = |name: &'static str| {
        cols.next()
            .map(|value| (name, value))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {name} in the result")))
    };
    let mut ap = AccessProfile {
        id: text(next("id")?)?,
        name: text(next("name")?)?,
        description: opt_text(next("description")?)?,
        owner: NamedRef {
            id: text(next("owner_id")?)?,
            name: text(next("owner_name")?)?,
        },
        source: NamedRef {
            id: text(next("source_id")?)?,
            name: text(next("source_name")?)?,
        },
        entitlements: Vec::new(),
        segments: Vec::new(),
        enabled: flag(next("enabled")?)?,
        requestable: flag(next("requestable")?)?,
        doc: {
            let (name, doc) = next("doc")?;
            serde_json::from_str::<Map<String, Value>>(&text((name, doc))?)
                .map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))?
        },
        created: {
            let (name, value) = next("created")?;
            parse_ts(name, &text((name, value))?)?
        },
        modified: {
            let (name, value) = next("modified")?;
            parse_ts(name, &text((name, value))?)?
        },
    };
    ap.entitlements = links::<(i64, String, String)>(next("entitlement_refs")?)?
        .into_iter()
        .map(|(_, id, name)| NamedRef { id, name })
        .collect();
    ap.segments = links::<(i64, String)>(next("segment_ids")?)?
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    Ok(ap)
}

/// A link column of [`profile_cols`]: JSON arrays whose first item is the link's
/// position, sorted by it. NULL (PostgreSQL's aggregate of no rows) is no link.
fn links<T: serde::de::DeserializeOwned + LinkPosition>(
    (name, value): (&str, Param),
) -> StoreResult<Vec<T>> {
    let mut links: Vec<T> = match value {
        Param::Null => return Ok(Vec::new()),
        other => serde_json::from_str(&text((name, other))?)
            .map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))?,
    };
    links.sort_unstable_by_key(LinkPosition::position);
    Ok(links)
}

/// The position of a link read by [`links`].
trait LinkPosition {
    fn position(&self) -> i64;
}

impl LinkPosition for (i64, String, String) {
    fn position(&self) -> i64 {
        self.0
    }
}

impl LinkPosition for (i64, String) {
    fn position(&self) -> i64 {
        self.0
    }
}

fn corrupt(name: &str, expected: &str, value: &Param) -> StoreError {
    StoreError::Corrupt(format!(
        "column {name}: expected {expected}, found {value:?}"
    ))
}

fn text((name, value): (&str, Param)) -> StoreResult<String> {
    match value {
        Param::Text(s) => Ok(s),
        other => Err(corrupt(name, "text", &other)),
    }
}

fn opt_text((name, value): (&str, Param)) -> StoreResult<Option<String>> {
    match value {
        Param::Null => Ok(None),
        other => text((name, other)).map(Some),
    }
}

fn flag((name, value): (&str, Param)) -> StoreResult<bool> {
    bool::from_param(&value).ok_or_else(|| corrupt(name, "a boolean", &value))
}

/// The condition of a caller's `scope` and a [`ProfileView`] on `access_profiles ap`:
/// each restriction in parentheses, all of them together.
fn profile_view_filter(scope: &Scope, view: &ProfileView) -> Vec<SqlPiece> {
    let mut conditions = Vec::new();
    if let Scope::Sources(sources) = scope {
        conditions.push(in_filter("ap.source_id", sources));
    }
    if let Some(segments) = &view.segments {
        conditions.push(segment_view_filter(segments));
    }
    let mut pieces = Vec::new();
    for (i, condition) in conditions.into_iter().enumerate() {
        pieces.push(SqlPiece::Sql(if i == 0 { "(" } else { " AND (" }.into()));
        pieces.extend(condition);
        pieces.push(SqlPiece::Sql(")".into()));
    }
    pieces
}

/// Everything that uses any of `ids`, one indexed query per usage kind.
async fn usages_of(ex: &mut dyn Executor, ids: &[String]) -> StoreResult<Vec<Usage>> {
    let mut out = Vec::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for (kind, select) in USAGE_QUERIES {
        let mut sql = Sql::new(select);
        sql.push_ids(ids);
        for r in ex.fetch_all(&sql.text, sql.params).await? {
            out.push(Usage {
                access_profile_id: r.get(0)?,
                kind,
                id: r.get(1)?,
                name: r.get(2)?,
            });
        }
    }
    Ok(out)
}

/// The access profiles among `ids` that exist, with their names (one indexed query).
async fn profile_refs(ex: &mut dyn Executor, ids: &[String]) -> StoreResult<Vec<NamedRef>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT id, name FROM access_profiles WHERE id IN (");
    sql.push_ids(ids);
    let rows = ex.fetch_all(&sql.text, sql.params).await?;
    rows.iter().map(|r| named_ref(r, 0)).collect()
}

/// Deletes those of `ids` that nothing uses, inside the caller's transaction: one
/// query for the names, one per usage kind, then the domain's decision
/// ([`decide_step`]), then one DELETE. Results in the order of `ids`.
pub(super) async fn delete_unused_profiles(
    ex: &mut dyn Executor,
    ids: &[String],
) -> StoreResult<Vec<(String, ItemResult)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let existing = profile_refs(ex, ids).await?;
    let usages = usages_of(ex, ids).await?;
    let decision = decide_step(ids, existing, usages);
    if !decision.delete.is_empty() {
        let mut sql = Sql::new("DELETE FROM access_profiles WHERE id IN (");
        sql.push_ids(&decision.delete);
        ex.execute(&sql.text, sql.params).await?;
    }
    Ok(decision.results)
}

/// The 403 for a profile outside the caller's sources.
fn outside_scope() -> StoreError {
    StoreError::OutsideScope {
        kind: "access profile",
    }
}

/// Refuses a profile that exists outside `scope` (`OutsideScope`); an unknown one is
/// left to the caller's own query (404).
async fn require_in_scope(ex: &mut dyn Executor, scope: &Scope, id: &str) -> StoreResult<()> {
    let Scope::Sources(sources) = scope else {
        return Ok(());
    };
    let row = ex
        .fetch_optional(
            "SELECT source_id FROM access_profiles WHERE id = $1",
            params![id],
        )
        .await?;
    match row {
        Some(r) if !sources.contains(&r.get::<String>(0)?) => Err(outside_scope()),
        _ => Ok(()),
    }
}

/// How many access profiles there are: the count the triggers of migration 0007 keep
/// in `row_counts` in the transaction of every insert and delete (no row: none).
async fn access_profile_count(ex: &mut dyn Executor) -> StoreResult<i64> {
    let row = ex
        .fetch_optional(
            "SELECT n FROM row_counts WHERE table_name = 'access_profiles'",
            vec![],
        )
        .await?;
    row.map_or(Ok(0), |r| r.get(0))
}

/// A profile's (`$1`) entitlement ids, in its order.
const ENTITLEMENT_LINKS: &str = "SELECT entitlement_id FROM access_profile_entitlements \
     WHERE access_profile_id = $1 ORDER BY position";
/// A profile's (`$1`) segment ids, in its order.
const SEGMENT_LINKS: &str =
    "SELECT segment_id FROM access_profile_segments WHERE access_profile_id = $1 ORDER BY position";

/// The ids `select` ([`ENTITLEMENT_LINKS`] or [`SEGMENT_LINKS`]) finds for profile `id`.
async fn link_ids(ex: &mut dyn Executor, select: &str, id: &str) -> StoreResult<Vec<String>> {
    ex.fetch_all(select, params![id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Writes a profile's entitlement links, in the draft's order (a new profile's, or
/// after its links were deleted).
async fn write_entitlements(
    ex: &mut dyn Executor,
    id: &str,
    draft: &AccessProfileDraft,
) -> StoreResult<()> {
    for (pos, ent) in draft.entitlement_ids.iter().enumerate() {
        ex.execute(
            "INSERT INTO access_profile_entitlements (access_profile_id, entitlement_id, \
             position) VALUES ($1, $2, $3)",
            params![id, ent, pos as i64],
        )
        .await
        .map_err(|e| missing_reference(e, "entitlement"))?;
    }
    Ok(())
}

impl SqlStore {
    /// The list of access profiles, its rows with their links ([`profile_cols`]).
    pub(super) fn access_profiles(&self) -> Listing<'_> {
        Listing {
            cols: &self.ap_cols,
            ..ACCESS_PROFILES
        }
    }
}

impl SqlStore {
    /// The profile `id` as one statement reads it with its version and the epoch
    /// ([`SqlStore::ap_by_id`]); `None` if there is none.
    async fn versioned_profile(
        &self,
        ex: &mut dyn Executor,
        id: &str,
    ) -> StoreResult<Option<Versioned>> {
        let Some(row) = ex.fetch_optional(&self.ap_by_id, params![id]).await? else {
            return Ok(None);
        };
        Ok(Some(Versioned {
            version: row.get("version")?,
            epoch: row.get("epoch")?,
            profile: Arc::new(SharedProfile::new(access_profile_row(row)?)),
        }))
    }

    /// The profile `id` read and kept in the cache; `None` if there is none.
    async fn read_access_profile(
        &self,
        ex: &mut dyn Executor,
        id: &str,
    ) -> StoreResult<Option<Arc<SharedProfile>>> {
        Ok(self
            .versioned_profile(ex, id)
            .await?
            .map(|read| self.keep(read)))
    }

    /// The profile `id` as the write transaction `ex` has just written it: what the
    /// write answers (in the caller's scope: the write checked the draft's source).
    /// Read inside the transaction, on its connection: SQLite's writer has the pages it
    /// has just written in its cache, where a read connection would begin by reading
    /// them again. [`SqlStore::keep`] it only once the transaction has committed: one
    /// that fails to commit leaves the version as it was, and a later write could
    /// reach the same version with other content.
    async fn written_profile(&self, ex: &mut dyn Executor, id: &str) -> StoreResult<Versioned> {
        self.versioned_profile(ex, id)
            .await?
            .ok_or_else(|| not_found("access profile", id))
    }

    /// Keeps a profile read at its version and epoch in the cache.
    fn keep(&self, read: Versioned) -> Arc<SharedProfile> {
        self.profile_cache
            .put_all(&[(read.version, Arc::clone(&read.profile))], read.epoch);
        read.profile
    }

    /// A page of every profile: the kept count, not a scan of the table, is the total,
    /// and says whether the page is nearer the end of the list ([`Keys::FromEnd`]).
    async fn every_profile_page(
        &self,
        ex: &mut dyn Executor,
        listing: &Listing<'_>,
        q: &ListQuery,
    ) -> StoreResult<(Vec<Arc<SharedProfile>>, Option<i64>)> {
        let (limit, offset) = (q.paging.limit, q.paging.offset);
        let mut uncounted = q.clone();
        uncounted.paging.count = false;
        let reversed = reversed_order_by(&q.sort, listing.columns)?;
        let Some(reversed) = reversed.filter(|_| offset > 0) else {
            let total = if q.paging.count {
                Some(access_profile_count(ex).await?)
            } else {
                None
            };
            let (items, _) = self
                .profile_page_on(ex, listing, &[], &uncounted, Keys::Forward)
                .await?;
            return Ok((items, total));
        };
        let total = access_profile_count(ex).await?;
        let kept = limit.min(total - offset);
        let items = if offset <= total / 2 {
            self.profile_page_on(ex, listing, &[], &uncounted, Keys::Forward)
                .await?
                .0
        } else if kept <= 0 {
            Vec::new()
        } else {
            // The rows after the page come first from the end.
            let keys = Keys::FromEnd {
                reversed,
                limit: kept,
                offset: total - offset - kept,
            };
            self.profile_page_on(ex, listing, &[], &uncounted, keys)
                .await?
                .0
        };
        Ok((items, q.paging.count.then_some(total)))
    }

    /// A page of profiles: its keys chosen first with each one's version and the epoch,
    /// over `access_profiles` alone (the sort's index, or the filter's, and the table:
    /// no joins for rows the page does not keep; past the first page, the keys come
    /// from the index alone and only the page's own rows are read for their versions);
    /// then the profiles the cache does not hold at those, with their names and links,
    /// in one statement. The total, when asked for, is one more statement, read first:
    /// when the matches are few ([`Dialect::whole_sort_pages`]), the keys are sorted
    /// whole and the page cut here. `ex` is the page's snapshot: its statements see one
    /// state of the database.
    async fn profile_page_on(
        &self,
        ex: &mut dyn Executor,
        listing: &Listing<'_>,
        fixed: &[SqlPiece],
        q: &ListQuery,
        keys: Keys,
    ) -> StoreResult<(Vec<Arc<SharedProfile>>, Option<i64>)> {
        let filter = listing.filter(q)?;
        let total = if q.paging.count {
            let mut sql = Sql::new("");
            listing.push_count(&mut sql, fixed, &filter);
            Some(ex.fetch_one(&sql.text, sql.params).await?.get::<i64>(0)?)
        } else {
            None
        };
        let order = order_by(&q.sort, listing.columns)?;
        let mut sql = Sql::new("SELECT ap.id, ap.version, ");
        sql.push(EPOCH).push(" FROM access_profiles ap");
        let mut cut = None;
        match keys {
            Keys::Forward => {
                let pages = self.db.dialect().whole_sort_pages;
                // Few matches: every key, in order, cut here.
                let whole = total.is_some_and(|t| t <= pages.saturating_mul(q.paging.limit));
                if whole || q.paging.offset == 0 {
                    sql.push_where(fixed, &filter);
                    sql.push(" ").push(&order);
                    if whole {
                        cut = Some(&q.paging);
                    } else {
                        // The first page: its rows are the first the index gives.
                        sql.push(" LIMIT ").bind(q.paging.limit);
                    }
                } else {
                    // Past it, the skipped rows cost an index entry each, not a table
                    // row (the version is read for the page's rows only).
                    sql.push(" WHERE ap.id IN (");
                    listing.push_keys(&mut sql, fixed, &filter, &order, &q.paging);
                    sql.push(") ").push(&order);
                }
            }
            Keys::FromEnd {
                reversed,
                limit,
                offset,
            } => {
                sql.push(" WHERE ap.id IN (SELECT ap.id FROM access_profiles ap ")
                    .push(&reversed)
                    .push(&format!(" LIMIT {limit} OFFSET "))
                    .bind(offset);
                sql.push(") ").push(&order);
            }
        }
        let mut rows = ex.fetch_all(&sql.text, sql.params).await?;
        if let Some(paging) = cut {
            let skip = usize::try_from(paging.offset)
                .unwrap_or(usize::MAX)
                .min(rows.len());
            rows.drain(..skip);
            rows.truncate(usize::try_from(paging.limit).unwrap_or(usize::MAX));
        }
        let epoch = match rows.first() {
            Some(r) => r.get::<i64>(2)?,
            None => 0,
        };
        let keys = rows
            .iter()
            .map(|r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let items = self.profiles_at(ex, &keys, epoch).await?;
        Ok((items, total))
    }

    /// The profiles of `keys` (`(id, version)`, read at `epoch` in `ex`'s snapshot), in
    /// their order: those the cache holds at that version and epoch, and the others
    /// read in one statement and kept.
    async fn profiles_at(
        &self,
        ex: &mut dyn Executor,
        keys: &[(String, i64)],
        epoch: i64,
    ) -> StoreResult<Vec<Arc<SharedProfile>>> {
        let mut found = self.profile_cache.get_all(keys, epoch);
        let missing: Vec<&(String, i64)> = keys
            .iter()
            .zip(&found)
            .filter(|(_, hit)| hit.is_none())
            .map(|(key, _)| key)
            .collect();
        if !missing.is_empty() {
            let mut sql = Sql::new(self.ap_cols.as_str());
            sql.push(AP_FROM).push(" WHERE ap.id IN (");
            sql.push_ids(missing.iter().map(|(id, _)| id.as_str()));
            let mut read: HashMap<String, AccessProfile> = ex
                .fetch_all(&sql.text, sql.params)
                .await?
                .into_iter()
                .map(|r| access_profile_row(r).map(|p| (p.id.clone(), p)))
                .collect::<StoreResult<_>>()?;
            let mut kept = Vec::with_capacity(missing.len());
            for ((id, version), slot) in keys.iter().zip(found.iter_mut()) {
                if slot.is_some() {
                    continue;
                }
                // The keys and the rows come from one snapshot.
                let profile = read.remove(id).ok_or_else(|| {
                    StoreError::Corrupt(format!("access profile {id} vanished from its page"))
                })?;
                let shared = Arc::new(SharedProfile::new(profile));
                kept.push((*version, Arc::clone(&shared)));
                *slot = Some(shared);
            }
            self.profile_cache.put_all(&kept, epoch);
        }
        Ok(found.into_iter().flatten().collect())
    }
}

/// A profile with the version of its row and the epoch it was read at.
struct Versioned {
    version: i64,
    epoch: i64,
    profile: Arc<SharedProfile>,
}

/// The epoch of migration 0010, as a column: the text of [`EPOCH`], for `concat!`.
macro_rules! epoch {
    () => {
        "(SELECT n FROM profile_epoch WHERE name = 'access_profiles')"
    };
}

/// The epoch of migration 0010, as a column of a page's keys.
const EPOCH: &str = epoch!();

/// A profile's version, its source (for the caller's scope) and the epoch ([`EPOCH`]):
/// what says whether the cache's copy of profile `$1` is current.
const PROFILE_KEY: &str = concat!(
    "SELECT ap.version, ap.source_id, ",
    epoch!(),
    " FROM access_profiles ap WHERE ap.id = $1"
);

/// Profiles from rows of [`profile_cols`], in the rows' order.
pub(super) fn access_profiles_from_rows(rows: Vec<Row>) -> StoreResult<Vec<AccessProfile>> {
    rows.into_iter().map(access_profile_row).collect()
}

/// How a page's keys are chosen.
enum Keys {
    /// In the list's order, skipping `offset` of them ([`Listing::push_keys`]).
    Forward,
    /// A page of every profile in its second half, from the far end: the `limit` keys
    /// after the first `offset` in the `reversed` order (of [`reversed_order_by`]).
    /// The same keys, while an offset scan walks one index entry per row it skips, so
    /// this walks at most half of them. The limit is written into the statement
    /// (a number, not text from the client) so that PostgreSQL's plan knows the
    /// page's size: with an unknown limit it plans for a tenth of the table and joins
    /// it by a scan of the whole table.
    FromEnd {
        reversed: String,
        limit: i64,
        offset: i64,
    },
}

#[async_trait]
impl AccessProfileStore for SqlStore {
    async fn resolve_access_profile_refs(&self, d: &AccessProfileDraft) -> StoreResult<RefFacts> {
        // One statement for every reference of the draft (one read, one round trip):
        // each row says which kind of reference it found.
        let mut sql =
            Sql::new("SELECT 'o' AS kind, id, name, NULL AS source_id FROM identities WHERE id = ");
        sql.bind(d.owner_id.as_str());
        sql.push(" UNION ALL SELECT 's', id, name, NULL FROM sources WHERE id = ")
            .bind(d.source_id.as_str());
        if !d.entitlement_ids.is_empty() {
            sql.push(" UNION ALL SELECT 'e', id, name, source_id FROM entitlements WHERE id IN (")
                .push_ids(&d.entitlement_ids);
        }
        if !d.segment_ids.is_empty() {
            sql.push(" UNION ALL SELECT 'g', id, name, NULL FROM segments WHERE id IN (")
                .push_ids(&d.segment_ids);
        }
        let mut facts = RefFacts {
            owner: None,
            source: None,
            entitlements: Vec::new(),
            segments: Vec::new(),
        };
        for r in self.db.fetch_all(&sql.text, sql.params).await? {
            match r.get::<String>(0)?.as_str() {
                "o" => facts.owner = Some(named_ref(&r, 1)?),
                "s" => facts.source = Some(named_ref(&r, 1)?),
                "e" => facts.entitlements.push((r.get(1)?, r.get(3)?)),
                _ => facts.segments.push(r.get(1)?),
            }
        }
        Ok(facts)
    }

    async fn insert_access_profile(
        &self,
        scope: &Scope,
        d: &AccessProfileDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessProfile> {
        if !scope.allows(&d.source_id) {
            return Err(outside_scope());
        }
        let id = crate::domain::new_id();
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO access_profiles (id, name, description, owner_id, source_id, enabled, \
             requestable, doc, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            params![
                id,
                d.name,
                d.description,
                d.owner_id,
                d.source_id,
                d.enabled,
                d.requestable,
                Value::Object(d.doc.clone()).to_string(),
                format_timestamp(&now),
                format_timestamp(&now),
            ],
        )
        .await
        .map_err(|e| conflict(e, "access profile", "name", &d.name))?;
        write_entitlements(&mut *tx, &id, d).await?;
        write_access_profile_segments(&mut *tx, &id, d).await?;
        let written = self.written_profile(&mut *tx, &id).await?;
        tx.commit().await?;
        Ok(self.keep(written).profile.clone())
    }

    async fn update_access_profile(
        &self,
        scope: &Scope,
        id: &str,
        d: &AccessProfileDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessProfile> {
        if !scope.allows(&d.source_id) {
            return Err(outside_scope());
        }
        let mut tx = self.db.begin_write().await?;
        require_in_scope(&mut *tx, scope, id).await?;
        let holders = tx
            .fetch_all(
                "SELECT a.name FROM source_app_access_profiles l \
                 JOIN source_apps a ON a.id = l.app_id \
                 WHERE l.access_profile_id = $1 AND l.source_id <> $2 ORDER BY a.name",
                params![id, d.source_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect::<StoreResult<Vec<String>>>()?;
        if !holders.is_empty() {
            return Err(StoreError::HeldBySourceApps(holders));
        }
        // Only what the draft changes is written: an unchanged column would still have
        // each of its indexes' entries deleted and inserted again (a page written per
        // index), and unchanged links deleted and inserted again.
        let Some(current) = tx
            .fetch_optional(
                "SELECT name, description, owner_id, source_id, enabled, requestable, doc \
                 FROM access_profiles WHERE id = $1",
                params![id],
            )
            .await?
        else {
            return Err(not_found("access profile", id));
        };
        let doc = Value::Object(d.doc.clone()).to_string();
        // The version grows here, as migration 0010's trigger would make it grow for a
        // statement that leaves it as it was: on SQLite that trigger is a second UPDATE
        // of the row, which a statement that sets the version itself does not fire.
        let mut sql = Sql::new("UPDATE access_profiles SET version = version + 1, modified = ");
        sql.bind(format_timestamp(&now));
        let changes = [
            (
                "name",
                current.get::<String>(0)? != d.name.as_str(),
                d.name.to_param(),
            ),
            (
                "description",
                current.get::<Option<String>>(1)?.as_deref()
                    != d.description.as_ref().map(|s| s.as_str()),
                d.description.to_param(),
            ),
            (
                "owner_id",
                current.get::<String>(2)? != d.owner_id,
                d.owner_id.to_param(),
            ),
            (
                "source_id",
                current.get::<String>(3)? != d.source_id,
                d.source_id.to_param(),
            ),
            (
                "enabled",
                current.get::<bool>(4)? != d.enabled,
                d.enabled.to_param(),
            ),
            (
                "requestable",
                current.get::<bool>(5)? != d.requestable,
                d.requestable.to_param(),
            ),
            ("doc", current.get::<String>(6)? != doc, doc.to_param()),
        ];
        for (column, changed, value) in changes {
            if changed {
                sql.push(", ").push(column).push(" = ").bind(value);
            }
        }
        sql.push(" WHERE id = ").bind(id);
        tx.execute(&sql.text, sql.params)
            .await
            .map_err(|e| conflict(e, "access profile", "name", &d.name))?;
        if link_ids(&mut *tx, ENTITLEMENT_LINKS, id).await? != d.entitlement_ids {
            tx.execute(
                "DELETE FROM access_profile_entitlements WHERE access_profile_id = $1",
                params![id],
            )
            .await?;
            write_entitlements(&mut *tx, id, d).await?;
        }
        if link_ids(&mut *tx, SEGMENT_LINKS, id).await? != d.segment_ids {
            tx.execute(
                "DELETE FROM access_profile_segments WHERE access_profile_id = $1",
                params![id],
            )
            .await?;
            write_access_profile_segments(&mut *tx, id, d).await?;
        }
        let written = self.written_profile(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(self.keep(written).profile.clone())
    }

    async fn get_access_profile(&self, scope: &Scope, id: &str) -> StoreResult<Arc<SharedProfile>> {
        let mut conn = self.db.connection().await?;
        // A profile the cache holds: its version and source first, and the kept one
        // is the answer while it is at that version and the epoch.
        if self.profile_cache.holds(id) {
            let key = conn
                .fetch_optional(PROFILE_KEY, params![id])
                .await?
                .ok_or_else(|| not_found("access profile", id))?;
            // Outside the caller's scope: 403 (it exists).
            if !scope.allows(&key.get::<String>(1)?) {
                return Err(outside_scope());
            }
            if let Some(kept) = self.profile_cache.get(id, key.get(0)?, key.get(2)?) {
                return Ok(kept);
            }
        }
        // Otherwise the whole profile, in one statement, kept for the next read.
        let read = self
            .read_access_profile(&mut *conn, id)
            .await?
            .ok_or_else(|| not_found("access profile", id))?;
        if !scope.allows(&read.profile.source.id) {
            return Err(outside_scope());
        }
        Ok(read)
    }

    async fn list_access_profiles(
        &self,
        scope: &Scope,
        view: &ProfileView,
        q: &ListQuery,
    ) -> StoreResult<Page<Arc<SharedProfile>>> {
        let listing = self.access_profiles();
        let filter = profile_view_filter(scope, view);
        // One snapshot: the keys, the rows the cache lacks and the total agree.
        let mut tx = self.db.begin_snapshot().await?;
        let (items, total) = if filter.is_empty() && q.filter.is_none() {
            self.every_profile_page(&mut *tx, &listing, q).await?
        } else {
            self.profile_page_on(&mut *tx, &listing, &filter, q, Keys::Forward)
                .await?
        };
        tx.commit().await?;
        Ok(Page { items, total })
    }

    async fn list_access_profile_entitlements(
        &self,
        scope: &Scope,
        id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<Entitlement>> {
        // 404 for an unknown profile, 403 outside the scope: then its links.
        match self
            .refs_with_sources("access_profiles", &[id.to_string()])
            .await?
            .pop()
        {
            None => return Err(not_found("access profile", id)),
            Some((_, source)) if !scope.allows(&source) => return Err(outside_scope()),
            Some(_) => {}
        }
        let listing = Listing {
            cols: ENTITLEMENT_COLS,
            from: &format!("{ENTITLEMENT_FROM}{AP_ENTITLEMENT_JOIN}"),
            count_from: &format!("{}{AP_ENTITLEMENT_JOIN}", ENTITLEMENTS.count_from),
            columns: &AP_ENTITLEMENT_COLUMNS,
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

    async fn existing_access_profiles(&self, ids: &[String]) -> StoreResult<Vec<NamedRef>> {
        let mut conn = self.db.connection().await?;
        profile_refs(&mut *conn, ids).await
    }

    async fn bulk_delete_facts(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> StoreResult<(Vec<NamedRef>, Vec<Usage>)> {
        let mut tx = self.db.begin_snapshot().await?;
        if ids.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut sql = Sql::new("SELECT id, name, source_id FROM access_profiles WHERE id IN (");
        sql.push_ids(ids);
        let mut existing = Vec::new();
        let mut outside = Vec::new();
        for r in tx.fetch_all(&sql.text, sql.params).await? {
            let profile = named_ref(&r, 0)?;
            if !scope.allows(&r.get::<String>(2)?) {
                outside.push(profile.id.clone());
            }
            existing.push(profile);
        }
        if !outside.is_empty() {
            // In the order the caller named them.
            outside.sort_by_key(|id| ids.iter().position(|i| i == id));
            return Err(StoreError::OutsideScopeIds {
                kind: "access profile",
                ids: outside,
            });
        }
        let usages = usages_of(&mut *tx, ids).await?;
        tx.commit().await?;
        Ok((existing, usages))
    }

    async fn delete_access_profile(
        &self,
        scope: &Scope,
        id: &str,
        record: Option<&TaskRecord>,
    ) -> StoreResult<ItemResult> {
        let mut tx = self.db.begin_write().await?;
        require_in_scope(&mut *tx, scope, id).await?;
        let Some((_, result)) = delete_unused_profiles(&mut *tx, &[id.to_string()])
            .await?
            .pop()
        else {
            return Err(not_found("access profile", id));
        };
        match result {
            ItemResult::Gone => return Err(not_found("access profile", id)),
            ItemResult::InUse { .. } => return Ok(result),
            ItemResult::Deleted => {}
        }
        if let Some(task) = record {
            insert_task_in(&mut *tx, task).await?;
        }
        tx.commit().await?;
        Ok(result)
    }

    async fn update_access_profiles_requestable(
        &self,
        scope: &Scope,
        items: &[(String, bool)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
        let mut tx = self.db.begin_write().await?;
        let mut sql = Sql::new("SELECT id, source_id FROM access_profiles WHERE id IN (");
        sql.push_ids(&ids);
        let mut outside = Vec::new();
        for r in tx.fetch_all(&sql.text, sql.params).await? {
            if !scope.allows(&r.get::<String>(1)?) {
                outside.push(r.get::<String>(0)?);
            }
        }
        if !outside.is_empty() {
            // In the order the caller named them.
            outside.sort_by_key(|id| ids.iter().position(|i| i == id));
            return Err(StoreError::OutsideScopeIds {
                kind: "access profile",
                ids: outside,
            });
        }
        let mut updated = Vec::new();
        for (id, requestable) in items {
            let n = tx
                .execute(
                    "UPDATE access_profiles SET requestable = $1, modified = $2 WHERE id = $3",
                    params![*requestable, format_timestamp(&now), id],
                )
                .await?;
            if n > 0 && !updated.contains(id) {
                updated.push(id.clone());
            }
        }
        tx.commit().await?;
        Ok(updated)
    }
}
