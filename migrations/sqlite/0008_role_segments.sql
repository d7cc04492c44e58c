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
    role_id    TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    -- also serves `for-segment-ids`: EXISTS (... WHERE role_id = r.id AND segment_id IN (...))
    PRIMARY KEY (role_id, segment_id)
);
-- deleting a segment finds its links
CREATE INDEX role_segments_segment_idx ON role_segments(segment_id);

INSERT INTO segments (id, name, description, owner_id, visibility_criteria, active, created, modified)
SELECT DISTINCT j.value, j.value, NULL, NULL, NULL, 0,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM roles r, json_each(r.doc, '$.segments') j
WHERE json_type(r.doc, '$.segments') = 'array' AND j.type = 'text'
  AND j.value NOT IN (SELECT id FROM segments);

-- A repeated id keeps its first place.
INSERT INTO role_segments (role_id, segment_id, position)
SELECT r.id, j.value, MIN(j.key)
FROM roles r, json_each(r.doc, '$.segments') j
WHERE json_type(r.doc, '$.segments') = 'array' AND j.type = 'text'
GROUP BY r.id, j.value;

UPDATE roles SET doc = json_remove(doc, '$.segments')
WHERE json_type(doc, '$.segments') IS NOT NULL;
