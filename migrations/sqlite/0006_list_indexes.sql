-- Indexes that let the big lists (access profiles, roles) cost what their page costs
-- (CONTRACT §5, collection parameters):
-- * `name sw "x"` compiles to a range on lower(name) next to the exact LIKE; an index
--   on the same expression serves the range. lower() lowers ASCII letters only here,
--   as PostgreSQL's does on its COLLATE "C" columns, so both backends index the same
--   values.
-- * `sorters=name` orders by (name, id), id being the tiebreak; an index on exactly
--   that is covering for the page's ids at any offset (the UNIQUE (name) index holds
--   no id). created and modified have their (column, id) indexes since 0001 / 0002.

CREATE INDEX access_profiles_name_lower_idx ON access_profiles(lower(name));
CREATE INDEX access_profiles_name_idx ON access_profiles(name, id);
CREATE INDEX roles_name_lower_idx ON roles(lower(name));
CREATE INDEX roles_name_idx ON roles(name, id);
