-- Segments (v3 `/segments`) and the access profiles in them. The PostgreSQL twin of
-- migrations/sqlite/0004_segments.sql (types as explained in 0001).
--
-- Until now a profile's `segments` (a list of ids) was kept, unchecked, in its `doc`.
-- From here the links are the one source of truth: `access_profile_segments` holds them
-- in the client's order, and `doc` no longer has `segments`. Deleting a segment
-- removes it from every profile; deleting a profile removes its links (a segment does
-- not "use" a profile, so it never blocks a deletion).
--
-- Existing databases keep what they had: every distinct id found in a profile's
-- `doc.segments` becomes a segment (named after its id, inactive, no owner), the
-- profile is linked to it in the same order, and `segments` leaves the doc.

CREATE TABLE segments (
    id                  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name                TEXT COLLATE "C" NOT NULL,
    description         TEXT COLLATE "C",
    owner_id            TEXT COLLATE "C" REFERENCES identities(id),
    visibility_criteria TEXT COLLATE "C",  -- JSON VisibilityCriteria, or NULL
    active              BOOLEAN NOT NULL DEFAULT FALSE,
    created             TEXT COLLATE "C" NOT NULL,
    modified            TEXT COLLATE "C" NOT NULL
);
CREATE INDEX segments_created_idx ON segments(created, id);

CREATE TABLE access_profile_segments (
    access_profile_id TEXT COLLATE "C" NOT NULL REFERENCES access_profiles(id) ON DELETE CASCADE,
    segment_id        TEXT COLLATE "C" NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position          BIGINT NOT NULL,
    -- also serves `for-segment-ids`: EXISTS (... WHERE access_profile_id = ap.id AND segment_id IN (...))
    PRIMARY KEY (access_profile_id, segment_id)
);
-- deleting a segment finds its links
CREATE INDEX access_profile_segments_segment_idx ON access_profile_segments(segment_id);

-- The data, as SQLite's `json_each` moves it: only string elements of an array
-- `segments` count (SQLite's `j.type = 'text'`), so the elements are read with
-- `jsonb_array_elements` and their type checked before `#>> '{}'` turns each into its
-- text. A `segments` that is not an array yields no rows (the CASE keeps
-- `jsonb_array_elements` from raising on an object or a scalar). Positions are
-- 0-based like `json_each`'s key, hence `ordinality - 1`. The timestamp is the
-- fixed format of 0001 (SQLite: strftime('%Y-%m-%dT%H:%M:%fZ', 'now')).
CREATE TEMPORARY VIEW legacy_profile_segments AS
SELECT ap.id AS access_profile_id, j.elem #>> '{}' AS segment_id, j.ordinality - 1 AS position
FROM access_profiles ap,
     jsonb_array_elements(CASE WHEN jsonb_typeof(ap.doc::jsonb -> 'segments') = 'array'
                               THEN ap.doc::jsonb -> 'segments' END) WITH ORDINALITY AS j(elem, ordinality)
WHERE jsonb_typeof(j.elem) = 'string';

INSERT INTO segments (id, name, description, owner_id, visibility_criteria, active, created, modified)
SELECT DISTINCT l.segment_id, l.segment_id, NULL, NULL, NULL, FALSE,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM legacy_profile_segments l;

-- A repeated id keeps its first place.
INSERT INTO access_profile_segments (access_profile_id, segment_id, position)
SELECT l.access_profile_id, l.segment_id, MIN(l.position)
FROM legacy_profile_segments l
GROUP BY l.access_profile_id, l.segment_id;

DROP VIEW legacy_profile_segments;

-- `doc` is rewritten through jsonb, which (like SQLite's json_remove) drops the
-- original whitespace; it also reorders keys and keeps the last of duplicate keys.
-- Only object docs are touched, as `json_type(doc, '$.segments')` is NULL otherwise.
UPDATE access_profiles SET doc = (doc::jsonb - 'segments')::text
WHERE jsonb_typeof(doc::jsonb) = 'object' AND doc::jsonb -> 'segments' IS NOT NULL;
