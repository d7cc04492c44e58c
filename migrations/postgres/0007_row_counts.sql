-- The number of rows of a big table, kept by triggers in the same transaction as
-- every INSERT and DELETE on it, so an unfiltered `count=true` (CONTRACT §5,
-- collection parameters) reads one row instead of counting the table. Only
-- access_profiles is counted. The table is derived data: exports leave it out and an
-- import rebuilds it through the same triggers. A table with no row here has no rows.
-- The PostgreSQL twin of migrations/sqlite/0007_row_counts.sql; its triggers run once
-- per statement over the statement's rows (a bulk delete or a seed of a million rows
-- updates the count once).

CREATE TABLE row_counts (
    table_name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    n          BIGINT NOT NULL
);

INSERT INTO row_counts (table_name, n)
SELECT 'access_profiles', COUNT(*) FROM access_profiles HAVING COUNT(*) > 0;

CREATE FUNCTION access_profiles_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_counts (table_name, n)
    SELECT 'access_profiles', COUNT(*) FROM inserted HAVING COUNT(*) > 0
    ON CONFLICT (table_name) DO UPDATE SET n = row_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION access_profiles_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE row_counts SET n = n - (SELECT COUNT(*) FROM deleted)
    WHERE table_name = 'access_profiles';
    RETURN NULL;
END
$$;

CREATE TRIGGER access_profiles_count_insert AFTER INSERT ON access_profiles
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION access_profiles_count_insert();

CREATE TRIGGER access_profiles_count_delete AFTER DELETE ON access_profiles
REFERENCING OLD TABLE AS deleted
FOR EACH STATEMENT EXECUTE FUNCTION access_profiles_count_delete();
