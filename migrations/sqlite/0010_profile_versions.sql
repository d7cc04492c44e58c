-- What lets a reader keep an access profile it has read and know, from one indexed
-- read, whether it is still the profile in the database (the store's cache of read
-- profiles, docs/architecture.md "Where a request's time goes"):
-- * `access_profiles.version` grows whenever the row changes and whenever one of its
--   entitlement or segment links is added, removed or changed;
-- * `profile_epoch.n` grows whenever something a profile shows but does not hold
--   changes (the name of its owner, of its source, of one of its entitlements) and
--   whenever a profile is deleted (an import can bring back the same id, starting
--   again at version 0).
-- A profile read at (version, epoch) is the same profile as long as both are unchanged.
-- Kept by triggers, so every writer keeps them: the store, an import, a fixture,
-- another process on the same file. `profile_epoch` is derived data: exports leave it
-- out and resets keep it, so that its value never repeats.

ALTER TABLE access_profiles ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- One row, named after the table whose profiles it stands for.
CREATE TABLE profile_epoch (
    name TEXT PRIMARY KEY NOT NULL,
    n    INTEGER NOT NULL
);
INSERT INTO profile_epoch (name, n) VALUES ('access_profiles', 0);

-- SQLite's BEFORE triggers cannot set NEW: the row is updated once more, and the
-- WHEN keeps that second update from firing the trigger again.
CREATE TRIGGER access_profiles_version AFTER UPDATE ON access_profiles
WHEN NEW.version = OLD.version
BEGIN
    UPDATE access_profiles SET version = OLD.version + 1 WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER access_profile_entitlements_version_insert
AFTER INSERT ON access_profile_entitlements
BEGIN
    UPDATE access_profiles SET version = version + 1 WHERE id = NEW.access_profile_id;
END;
CREATE TRIGGER access_profile_entitlements_version_update
AFTER UPDATE ON access_profile_entitlements
BEGIN
    UPDATE access_profiles SET version = version + 1
    WHERE id IN (OLD.access_profile_id, NEW.access_profile_id);
END;
CREATE TRIGGER access_profile_entitlements_version_delete
AFTER DELETE ON access_profile_entitlements
BEGIN
    UPDATE access_profiles SET version = version + 1 WHERE id = OLD.access_profile_id;
END;

CREATE TRIGGER access_profile_segments_version_insert
AFTER INSERT ON access_profile_segments
BEGIN
    UPDATE access_profiles SET version = version + 1 WHERE id = NEW.access_profile_id;
END;
CREATE TRIGGER access_profile_segments_version_update
AFTER UPDATE ON access_profile_segments
BEGIN
    UPDATE access_profiles SET version = version + 1
    WHERE id IN (OLD.access_profile_id, NEW.access_profile_id);
END;
CREATE TRIGGER access_profile_segments_version_delete
AFTER DELETE ON access_profile_segments
BEGIN
    UPDATE access_profiles SET version = version + 1 WHERE id = OLD.access_profile_id;
END;

CREATE TRIGGER access_profiles_epoch_delete AFTER DELETE ON access_profiles
BEGIN
    UPDATE profile_epoch SET n = n + 1;
END;
CREATE TRIGGER identities_epoch_name AFTER UPDATE OF name ON identities
WHEN NEW.name IS NOT OLD.name
BEGIN
    UPDATE profile_epoch SET n = n + 1;
END;
CREATE TRIGGER sources_epoch_name AFTER UPDATE OF name ON sources
WHEN NEW.name IS NOT OLD.name
BEGIN
    UPDATE profile_epoch SET n = n + 1;
END;
CREATE TRIGGER entitlements_epoch_name AFTER UPDATE OF name ON entitlements
WHEN NEW.name IS NOT OLD.name
BEGIN
    UPDATE profile_epoch SET n = n + 1;
END;
