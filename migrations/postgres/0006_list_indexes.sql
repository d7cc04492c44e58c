-- Indexes that let the big lists (access profiles, roles) cost what their page costs
-- (CONTRACT §5, collection parameters). The PostgreSQL twin of
-- migrations/sqlite/0006_list_indexes.sql:
-- * `name sw "x"` compiles to a range on lower(name) next to the exact LIKE; an index
--   on the same expression serves the range. The columns are COLLATE "C", so lower()
--   lowers ASCII letters only and the index compares bytes, as SQLite's does.
-- * `sorters=name` orders by (name, id), id being the tiebreak; an index on exactly
--   that serves the order without a sort and answers the page's ids from the index
--   alone (the UNIQUE (name) index holds no id).

CREATE INDEX access_profiles_name_lower_idx ON access_profiles(lower(name));
CREATE INDEX access_profiles_name_idx ON access_profiles(name, id);
CREATE INDEX roles_name_lower_idx ON roles(lower(name));
CREATE INDEX roles_name_idx ON roles(name, id);
