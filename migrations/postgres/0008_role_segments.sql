-- The segments roles are in, as links like access profiles' (migration 0004).
--
-- Until now a role's `segments` (a list of ids) was kept, unchecked, in its `doc`. From
-- here `role_segments` holds them in the client's order, and `doc` no longer has
-- `segments`. Deleting a segment removes it from every role; deleting a role removes
-- its links.
--
-- Existing databases keep what they had, as 0004 did for profiles: every distinct id
-- found in a role's `doc.segments` that names no segment becomes one (named after its
-- id, inactive, no owner), the role is linked to it in the same order, and `segments`
-- leaves the doc.

CREATE TABLE role_segments (
    role_id    TEXT COLLATE "C" NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    segment_id TEXT COLLATE "C" NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    -- also serves `for-segment-ids`: EXISTS (... WHERE role_id = r.id AND segment_id IN (...))
    PRIMARY KEY (role_id, segment_id)
);
-- deleting a segment finds its links
CREATE INDEX role_segments_segment_idx ON role_segments(segment_id);

CREATE TEMPORARY VIEW legacy_role_segments AS
SELECT r.id AS role_id, j.elem #>> '{}' AS segment_id, j.ordinality - 1 AS position
FROM roles r,
     jsonb_array_elements(CASE WHEN jsonb_typeof(r.doc::jsonb -> 'segments') = 'array'
                               THEN r.doc::jsonb -> 'segments' END) WITH ORDINALITY AS j(elem, ordinality)
WHERE jsonb_typeof(j.elem) = 'string';

INSERT INTO segments (id, name, description, owner_id, visibility_criteria, active, created, modified)
SELECT DISTINCT l.segment_id, l.segment_id, NULL, NULL, NULL, FALSE,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM legacy_role_segments l
WHERE l.segment_id NOT IN (SELECT id FROM segments);

INSERT INTO role_segments (role_id, segment_id, position)
SELECT l.role_id, l.segment_id, MIN(l.position)
FROM legacy_role_segments l
GROUP BY l.role_id, l.segment_id;

DROP VIEW legacy_role_segments;

UPDATE roles SET doc = (doc::jsonb - 'segments')::text
WHERE jsonb_typeof(doc::jsonb) = 'object' AND doc::jsonb -> 'segments' IS NOT NULL;
