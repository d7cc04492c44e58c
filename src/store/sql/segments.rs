//! Segments in SQL: the segment row, and the access profiles' links to segments
//! (`access_profile_segments`, in each profile's order; migration 0004).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;
use crate::domain::access_profile::AccessProfileDraft;
use crate::domain::model::Page;
use crate::domain::segment::{Segment, SegmentDraft, SegmentRefFacts, SegmentView};
use crate::query::format_timestamp;
use crate::store::SegmentStore;

const SEGMENT_COLS: &str = "SELECT sg.id, sg.name, sg.description, sg.owner_id, \
     o.name AS owner_name, sg.visibility_criteria, sg.active, sg.created, sg.modified";
const SEGMENT_FROM: &str = " FROM segments sg LEFT JOIN identities o ON o.id = sg.owner_id";

const SEGMENTS: Listing = Listing {
    cols: SEGMENT_COLS,
    from: SEGMENT_FROM,
    count_from: " FROM segments sg",
    columns: &SEGMENT_COLUMNS,
};

/// The fields of listSegments (its order only), on `segments sg`.
pub(super) static SEGMENT_COLUMNS: Columns = Columns {
    key: "sg.id",
    fields: &[("created", not_null("sg.created"))],
    base: None,
};

fn segment_row(r: &Row) -> StoreResult<Segment> {
    let criteria: Option<String> = r.get("visibility_criteria")?;
    Ok(Segment {
        id: r.get("id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        visibility_criteria: criteria
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("visibility_criteria: {e}")))?,
        active: r.get("active")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn criteria_text(d: &SegmentDraft) -> Option<String> {
    d.visibility_criteria.as_ref().map(Value::to_string)
}

/// Where an object's segment links are: the link table, its column naming the object,
/// and the object's key in the outer query.
pub(super) struct SegmentLinks {
    pub table: &'static str,
    pub owner_col: &'static str,
    pub outer_key: &'static str,
}

/// An access profile's segment links, on `access_profiles ap`.
const PROFILE_SEGMENT_LINKS: SegmentLinks = SegmentLinks {
    table: "access_profile_segments",
    owner_col: "access_profile_id",
    outer_key: "ap.id",
};

/// The condition of a [`SegmentView`] on `access_profiles ap`: linked to any of the
/// segments, or (when asked for) linked to none. Both are lookups on the link table's
/// primary key `(access_profile_id, segment_id)`.
pub(super) fn segment_view_filter(view: &SegmentView) -> Vec<SqlPiece> {
    segment_view_filter_on(PROFILE_SEGMENT_LINKS, view)
}

/// The condition of a [`SegmentView`] on the objects whose segment links are `links`
/// (lookups on the link table's primary key `(owner, segment_id)`).
pub(super) fn segment_view_filter_on(links: SegmentLinks, view: &SegmentView) -> Vec<SqlPiece> {
    let SegmentLinks {
        table,
        owner_col,
        outer_key,
    } = links;
    let mut pieces = vec![SqlPiece::Sql(format!(
        "EXISTS (SELECT 1 FROM {table} sl WHERE sl.{owner_col} = {outer_key} AND "
    ))];
    pieces.extend(in_filter("sl.segment_id", &view.segment_ids));
    pieces.push(SqlPiece::Sql(")".into()));
    if view.include_unsegmented {
        pieces.push(SqlPiece::Sql(format!(
            " OR NOT EXISTS (SELECT 1 FROM {table} sl WHERE sl.{owner_col} = {outer_key})"
        )));
    }
    pieces
}

/// Writes a profile's segment links, in the draft's order (a new profile's, or after
/// its links were cleared). A segment deleted since the draft was checked fails the
/// foreign key (400).
pub(super) async fn write_access_profile_segments(
    ex: &mut dyn Executor,
    id: &str,
    draft: &AccessProfileDraft,
) -> StoreResult<()> {
    for (pos, segment) in draft.segment_ids.iter().enumerate() {
        ex.execute(
            "INSERT INTO access_profile_segments (access_profile_id, segment_id, position) \
             VALUES ($1, $2, $3)",
            params![id, segment, pos as i64],
        )
        .await
        .map_err(|e| missing_reference(e, "segment"))?;
    }
    Ok(())
}

#[async_trait]
impl SegmentStore for SqlStore {
    async fn resolve_segment_refs(&self, d: &SegmentDraft) -> StoreResult<SegmentRefFacts> {
        let owner = match &d.owner_id {
            Some(id) => self
                .named_refs("identities", std::slice::from_ref(id))
                .await?
                .pop(),
            None => None,
        };
        Ok(SegmentRefFacts { owner })
    }

    async fn insert_segment(&self, d: &SegmentDraft, now: DateTime<Utc>) -> StoreResult<Segment> {
        let id = crate::domain::new_id();
        self.db
            .execute(
                "INSERT INTO segments (id, name, description, owner_id, visibility_criteria, \
                 active, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                params![
                    id,
                    d.name,
                    d.description,
                    d.owner_id,
                    criteria_text(d),
                    d.active,
                    format_timestamp(&now),
                    format_timestamp(&now),
                ],
            )
            .await
            .map_err(|e| missing_reference(e, "segment"))?;
        self.get_segment(&id).await
    }

    async fn update_segment(
        &self,
        id: &str,
        d: &SegmentDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Segment> {
        let done = self
            .db
            .execute(
                "UPDATE segments SET name = $1, description = $2, owner_id = $3, \
                 visibility_criteria = $4, active = $5, modified = $6 WHERE id = $7",
                params![
                    d.name,
                    d.description,
                    d.owner_id,
                    criteria_text(d),
                    d.active,
                    format_timestamp(&now),
                    id,
                ],
            )
            .await
            .map_err(|e| missing_reference(e, "segment"))?;
        if done == 0 {
            return Err(not_found("segment", id));
        }
        self.get_segment(id).await
    }

    async fn get_segment(&self, id: &str) -> StoreResult<Segment> {
        let rows = self.first_row(&SEGMENTS, &id_filter("sg.id", id)).await?;
        rows.first()
            .map(segment_row)
            .transpose()?
            .ok_or_else(|| not_found("segment", id))
    }

    async fn list_segments(&self, q: &ListQuery) -> StoreResult<Page<Segment>> {
        let (rows, total) = self.list_rows(&SEGMENTS, &[], q).await?;
        Ok(Page {
            items: rows.iter().map(segment_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    /// The profiles' links go with the row (`ON DELETE CASCADE`).
    async fn delete_segment(&self, id: &str) -> StoreResult<()> {
        let done = self
            .db
            .execute("DELETE FROM segments WHERE id = $1", params![id])
            .await?;
        if done == 0 {
            return Err(not_found("segment", id));
        }
        Ok(())
    }
}
