-- Segments (v3 `/segments`) and the access profiles in them.
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
    id                  TEXT PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT,
    owner_id            TEXT REFERENCES identities(id),
    visibility_criteria TEXT,  -- JSON VisibilityCriteria, or NULL
    active              INTEGER NOT NULL DEFAULT 0,
    created             TEXT NOT NULL,
    modified            TEXT NOT NULL
);
CREATE INDEX segments_created_idx ON segments(created, id);

CREATE TABLE access_profile_segments (
    access_profile_id TEXT NOT NULL REFERENCES access_profiles(id) ON DELETE CASCADE,
    segment_id        TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    -- also serves `for-segment-ids`: EXISTS (... WHERE access_profile_id = ap.id AND segment_id IN (...))
    PRIMARY KEY (access_profile_id, segment_id)
);
-- deleting a segment finds its links
CREATE INDEX access_profile_segments_segment_idx ON access_profile_segments(segment_id);

INSERT INTO segments (id, name, description, owner_id, visibility_criteria, active, created, modified)
SELECT DISTINCT j.value, j.value, NULL, NULL, NULL, 0,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM access_profiles ap, json_each(ap.doc, '$.segments') j
WHERE json_type(ap.doc, '$.segments') = 'array' AND j.type = 'text';

-- A repeated id keeps its first place.
INSERT INTO access_profile_segments (access_profile_id, segment_id, position)
SELECT ap.id, j.value, MIN(j.key)
FROM access_profiles ap, json_each(ap.doc, '$.segments') j
WHERE json_type(ap.doc, '$.segments') = 'array' AND j.type = 'text'
GROUP BY ap.id, j.value;

UPDATE access_profiles SET doc = json_remove(doc, '$.segments')
WHERE json_type(doc, '$.segments') IS NOT NULL;
