-- What lets a reader keep an access profile it has read and know, from one indexed
-- read, whether it is still the profile in the database (the store's cache of read
-- profiles, docs/architecture.md "Where a request's time goes"):
-- * `access_profiles.version` grows whenever the row changes and whenever one of its
--   entitlement or segment links is added, removed or changed;
-- * `profile_epoch.n` grows whenever something a profile shows but does not hold
--   changes (the name of its owner, of its source, of one of its entitlements) and
--   whenever profiles are deleted (an import can bring back the same id, starting
--   again at version 0).
-- A profile read at (version, epoch) is the same profile as long as both are unchanged.
-- Kept by triggers, so every writer keeps them: every instance, an import, a fixture.
-- `profile_epoch` is derived data: exports leave it out and resets keep it, so that
-- its value never repeats.
-- The PostgreSQL twin of migrations/sqlite/0010_profile_versions.sql.

ALTER TABLE access_profiles ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- One row, named after the table whose profiles it stands for.
CREATE TABLE profile_epoch (
    name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    n    BIGINT NOT NULL
);
INSERT INTO profile_epoch (name, n) VALUES ('access_profiles', 0);

CREATE FUNCTION access_profiles_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER access_profiles_version BEFORE UPDATE ON access_profiles
FOR EACH ROW WHEN (NEW.version = OLD.version) EXECUTE FUNCTION access_profiles_version();

CREATE FUNCTION access_profile_links_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE access_profiles SET version = version + 1 WHERE id = OLD.access_profile_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE access_profiles SET version = version + 1 WHERE id = NEW.access_profile_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_profile_entitlements_version
AFTER INSERT OR UPDATE OR DELETE ON access_profile_entitlements
FOR EACH ROW EXECUTE FUNCTION access_profile_links_version();

CREATE TRIGGER access_profile_segments_version
AFTER INSERT OR UPDATE OR DELETE ON access_profile_segments
FOR EACH ROW EXECUTE FUNCTION access_profile_links_version();

CREATE FUNCTION profile_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE profile_epoch SET n = n + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_profiles_epoch_delete AFTER DELETE ON access_profiles
FOR EACH STATEMENT EXECUTE FUNCTION profile_epoch_bump();
CREATE TRIGGER identities_epoch_name AFTER UPDATE OF name ON identities
FOR EACH STATEMENT EXECUTE FUNCTION profile_epoch_bump();
CREATE TRIGGER sources_epoch_name AFTER UPDATE OF name ON sources
FOR EACH STATEMENT EXECUTE FUNCTION profile_epoch_bump();
CREATE TRIGGER entitlements_epoch_name AFTER UPDATE OF name ON entitlements
FOR EACH STATEMENT EXECUTE FUNCTION profile_epoch_bump();
