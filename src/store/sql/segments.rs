//! Segments in SQLite: the segment row, and the access profiles' links to segments
//! (`access_profile_segments`, in each profile's order; migration 0004).

use super::*;
use crate::domain::segment::{Segment, SegmentDraft, SegmentRefFacts};

const SEGMENT_COLS: &str = "SELECT sg.id, sg.name, sg.description, sg.owner_id, \
     o.name AS owner_name, sg.visibility_criteria, sg.active, sg.created, sg.modified";
const SEGMENT_FROM: &str = " FROM segments sg LEFT JOIN identities o ON o.id = sg.owner_id";

const SEGMENTS: Listing = Listing {
    cols: SEGMENT_COLS,
    from: SEGMENT_FROM,
    count_from: " FROM segments sg",
    key: "sg.id",
};

fn segment_row(r: &DbRow) -> StoreResult<Segment> {
    let criteria: Option<String> = r.try_get("visibility_criteria")?;
    Ok(Segment {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        owner: opt_ref(r, "owner_id", "owner_name")?,
        visibility_criteria: criteria
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("visibility_criteria: {e}")))?,
        active: r.try_get("active")?,
        created: ts(r, "created")?,
        modified: ts(r, "modified")?,
    })
}

fn criteria_text(d: &SegmentDraft) -> Option<String> {
    d.visibility_criteria.as_ref().map(Value::to_string)
}

/// The condition of a [`SegmentView`] on `access_profiles ap`: linked to any of the
/// segments, or (when asked for) linked to none. Both are lookups on the link table's
/// primary key `(access_profile_id, segment_id)`.
pub(super) fn segment_view_filter(view: &SegmentView) -> Vec<SqlPiece> {
    let mut pieces = vec![SqlPiece::Sql(
        "EXISTS (SELECT 1 FROM access_profile_segments aps \
         WHERE aps.access_profile_id = ap.id AND "
            .into(),
    )];
    pieces.extend(in_filter("aps.segment_id", &view.segment_ids));
    pieces.push(SqlPiece::Sql(")".into()));
    if view.include_unsegmented {
        pieces.push(SqlPiece::Sql(
            " OR NOT EXISTS (SELECT 1 FROM access_profile_segments aps \
             WHERE aps.access_profile_id = ap.id)"
                .into(),
        ));
    }
    pieces
}

impl SqlStore {
    pub(super) async fn segment_refs(&self, d: &SegmentDraft) -> StoreResult<SegmentRefFacts> {
        let owner = match &d.owner_id {
            Some(id) => self
                .named_refs("identities", std::slice::from_ref(id))
                .await?
                .pop(),
            None => None,
        };
        Ok(SegmentRefFacts { owner })
    }

    pub(super) async fn segment_insert(
        &self,
        d: &SegmentDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Segment> {
        let id = crate::domain::new_id();
        sqlx::query(
            "INSERT INTO segments (id, name, description, owner_id, visibility_criteria, \
             active, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.owner_id)
        .bind(criteria_text(d))
        .bind(d.active)
        .bind(format_timestamp(&now))
        .bind(format_timestamp(&now))
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, String::new))?;
        self.segment_get(&id).await
    }

    pub(super) async fn segment_update(
        &self,
        id: &str,
        d: &SegmentDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Segment> {
        let done = sqlx::query(
            "UPDATE segments SET name = $1, description = $2, owner_id = $3, \
             visibility_criteria = $4, active = $5, modified = $6 WHERE id = $7",
        )
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.owner_id)
        .bind(criteria_text(d))
        .bind(d.active)
        .bind(format_timestamp(&now))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, String::new))?;
        if done.rows_affected() == 0 {
            return Err(not_found("segment", id));
        }
        self.segment_get(id).await
    }

    pub(super) async fn segment_get(&self, id: &str) -> StoreResult<Segment> {
        let (rows, _) = self
            .list_rows(&SEGMENTS, &id_filter("sg.id", id), &one_page())
            .await?;
        rows.first()
            .map(segment_row)
            .transpose()?
            .ok_or_else(|| not_found("segment", id))
    }

    pub(super) async fn segment_list(&self, q: &ListQuery) -> StoreResult<Page<Segment>> {
        let (rows, total) = self.list_rows(&SEGMENTS, &[], q).await?;
        Ok(Page {
            items: rows.iter().map(segment_row).collect::<StoreResult<_>>()?,
            total,
        })
    }

    /// The profiles' links go with the row (`ON DELETE CASCADE`).
    pub(super) async fn segment_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM segments WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found("segment", id));
        }
        Ok(())
    }

    /// The ids among `ids` that name existing segments.
    pub(super) async fn segment_existing_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        Ok(self
            .named_refs("segments", ids)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }

    /// `(profile id, segment id)` for every segment of these profiles, in each
    /// profile's order.
    pub(super) async fn profile_segment_links(
        &self,
        ap_ids: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        if ap_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT access_profile_id, segment_id FROM access_profile_segments \
             WHERE access_profile_id IN (",
        );
        push_id_list(&mut qb, ap_ids);
        qb.push(" ORDER BY access_profile_id, position");
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Replaces a profile's segment links with the draft's, keeping its order. A
    /// segment deleted since the draft was checked fails the foreign key (400).
    pub(super) async fn write_access_profile_segments(
        tx: &mut sqlx::Transaction<'static, Db>,
        id: &str,
        draft: &AccessProfileDraft,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM access_profile_segments WHERE access_profile_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        for (pos, segment) in draft.segment_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO access_profile_segments (access_profile_id, segment_id, position) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(segment)
            .bind(pos as i64)
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict(e, String::new))?;
        }
        Ok(())
    }
}
