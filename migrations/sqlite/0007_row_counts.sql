-- The number of rows of a big table, kept by triggers in the same transaction as
-- every INSERT and DELETE on it, so an unfiltered `count=true` (CONTRACT §5,
-- collection parameters) reads one row instead of counting the table. Only
-- access_profiles is counted. The table is derived data: exports leave it out and an
-- import rebuilds it through the same triggers. A table with no row here has no rows.

CREATE TABLE row_counts (
    table_name TEXT PRIMARY KEY NOT NULL,
    n          INTEGER NOT NULL
);

INSERT INTO row_counts (table_name, n)
SELECT 'access_profiles', COUNT(*) FROM access_profiles HAVING COUNT(*) > 0;

CREATE TRIGGER access_profiles_count_insert AFTER INSERT ON access_profiles
BEGIN
    INSERT INTO row_counts (table_name, n) VALUES ('access_profiles', 1)
    ON CONFLICT (table_name) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER access_profiles_count_delete AFTER DELETE ON access_profiles
BEGIN
    UPDATE row_counts SET n = n - 1 WHERE table_name = 'access_profiles';
END;
